"""Dataset ingestion: the demo digits, an ImageFolder directory, or an .npz file.

`ingest(source, out_dir, options)` converts every image to the configured resolution and channel count, writes
it once as a PNG under `out_dir/<split>/<class>/`, fixes the test split, and returns what the database must
record (class, split, sha256 and source path of each image). It also writes `arrays.npz`, the same pixels as one
array for fast loading by training and evaluation. Writing is the caller's staging folder: the orchestration
layer renames it into place only once the database rows are committed, so a failed ingest leaves nothing.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ganaug_core.errors import GanaugError
from ganaug_core.imageio import (
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    ImageRejected,
    encode_png,
    is_grayscale_mode,
    load_image,
    peek_mode,
    sha256_bytes,
    sha256_file,
)
from ganaug_core.progress import Progress, ProgressCallback, no_progress

SPLITS = ("train", "val", "test")

# The demo profile: scikit-learn's bundled handwritten digits (1,797 real 8×8 scans, no download). By default a
# third is held out as a balanced test split (seed 0: README and BENCHMARKS.md quote numbers on exactly this
# split); in the training split classes 0–6 keep all their images and the rare classes 7, 8, 9 keep only 10, 6
# and 4 (imbalance ratio ≈ 30). A given --test-fraction or --seed changes the split and which rare images stay.
DEMO_NAME = "demo:digits"
DEMO_TEST_FRACTION = 1 / 3
DEMO_KEEP = {7: 10, 8: 6, 9: 4}
DEFAULT_TEST_FRACTION = 0.2  # every other source
# Folder names that mean a split, not a class: a folder of train/ and test/ (each with its class folders inside)
# would otherwise be ingested as two classes named "train" and "test".
SPLIT_FOLDER_NAMES = {"train", "training", "test", "testing", "val", "valid", "validation", "dev"}


@dataclass
class IngestOptions:
    resolution: int = 32  # side of the square images every sample is converted to
    channels: Optional[int] = None  # 1 or 3; None: 1 if every source image is grayscale, else 3
    # share of each class held out as the locked test split; None: the source's own default
    # (DEMO_TEST_FRACTION for the demo, else DEFAULT_TEST_FRACTION)
    test_fraction: Optional[float] = None
    seed: int = 0  # seeds the stratified split (and, for the demo, which rare-class images stay)
    max_pixels: int = MAX_PIXELS  # larger source images are refused as decompression bombs
    workers: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))

    def validate(self) -> None:
        # 8: the smallest side a generator trains at (MIN_RESOLUTION of the training config); below it a dataset
        # could be ingested but never trained on.
        if self.resolution < 8 or self.resolution > 1024:
            raise GanaugError(f"--resolution must be between 8 and 1024, got {self.resolution}")
        if self.channels not in (None, 1, 3):
            raise GanaugError(f"--channels must be 1 or 3, got {self.channels}")
        if self.test_fraction is not None and not 0.0 < self.test_fraction < 1.0:
            raise GanaugError(f"--test-fraction must be between 0 and 1 (exclusive), got {self.test_fraction}")


@dataclass
class IngestedImage:
    split: str
    class_index: int
    path: str  # relative to the dataset folder
    sha256: str
    source_path: str


@dataclass
class IngestResult:
    source: str
    class_names: list[str]
    resolution: int
    channels: int
    images: list[IngestedImage]
    skipped: list[tuple[str, str]]  # (source path, reason) of files that were not images
    arrays_sha256: str
    # what the split used: recorded with the dataset (an .npz that brings its own test split: the option, unused)
    test_fraction: float = DEFAULT_TEST_FRACTION
    seed: int = 0

    def duplicates(self, max_groups: int = 50) -> dict:
        """Images whose stored bytes equal another's (after conversion): how many, how many share them with another
        class, and how many with the other split; plus up to `max_groups` groups of their source paths.

        A test image that is also a training image scores a classifier on what it was trained on, and the same
        image under two labels teaches it both."""
        groups: dict[str, list[IngestedImage]] = {}
        for im in self.images:
            groups.setdefault(im.sha256, []).append(im)
        dup = [g for g in groups.values() if len(g) > 1]
        return dict(
            images=sum(len(g) for g in dup),
            across_classes=sum(len(g) for g in dup if len({i.class_index for i in g}) > 1),
            across_splits=sum(len(g) for g in dup if len({i.split for i in g}) > 1),
            groups=[[i.source_path for i in g] for g in dup[:max_groups]],
        )


def ingest(source: str, out_dir: Path, options: IngestOptions, progress: ProgressCallback = no_progress) -> IngestResult:
    """Read `source` and write the converted dataset into `out_dir` (which must not exist yet)."""
    options.validate()
    if options.test_fraction is None:
        default = DEMO_TEST_FRACTION if source == DEMO_NAME else DEFAULT_TEST_FRACTION
        options = dataclasses.replace(options, test_fraction=default)
    if source == DEMO_NAME:
        pixels, labels, splits, sources, names, skipped = _read_demo(options)
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise GanaugError(f"dataset source not found: {source}")
        if path.is_dir():
            pixels, labels, splits, sources, names, skipped = _read_folder(path, options, progress)
        elif path.suffix.lower() == ".npz":
            pixels, labels, splits, sources, names, skipped = _read_npz(path, options)
        else:
            raise GanaugError(f"unsupported dataset source {source}: expected a folder, an .npz file or {DEMO_NAME}")
    result = _write(source, out_dir, pixels, labels, splits, sources, names, skipped, progress, options.workers)
    return dataclasses.replace(result, test_fraction=options.test_fraction, seed=options.seed)


# --- sources -------------------------------------------------------------------------------------------------


def stratified_test_mask(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """True for the images held out as test: `fraction` of each class, chosen by a seeded permutation."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(len(idx) * fraction))
        # At least one image on each side, and a class of one image keeps it for training: a class with no
        # training image could not be learned (nor its test image be told from chance).
        n_test = min(max(n_test, 1), len(idx) - 1)
        mask[idx[:n_test]] = True
    return mask


def _split_names(test_mask: np.ndarray) -> np.ndarray:
    return np.where(test_mask, "test", "train").astype("<U5")


def _read_demo(options: IngestOptions):
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    raw = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)  # 0..16 ink levels → 0..255
    labels = digits.target.astype(np.int64)
    test = stratified_test_mask(labels, options.test_fraction, options.seed)
    rng = np.random.default_rng(options.seed)
    keep = np.ones(len(labels), dtype=bool)
    for c, k in DEMO_KEEP.items():
        train_idx = np.flatnonzero((labels == c) & ~test)
        keep[train_idx[rng.permutation(len(train_idx))[k:]]] = False
    res = options.resolution
    pixels = np.stack(
        [np.asarray(Image.fromarray(img).resize((res, res), Image.BILINEAR))[None] for img in raw[keep]]
    )
    if options.channels == 3:
        pixels = np.repeat(pixels, 3, axis=1)
    sources = [f"sklearn:load_digits#{i}" for i in np.flatnonzero(keep)]
    return pixels, labels[keep], _split_names(test[keep]), sources, [str(i) for i in range(10)], []


@contextmanager
def _worker_pool(workers: int):
    """A process pool for decoding and encoding, or None when one worker will do.

    Workers come from a fork server, not from forking this process: ingestion runs inside the app, the job worker
    and the tests, which all have threads, and a child forked while another thread holds a lock can hang forever
    (seen here: a test run that never finished). A worker that dies raises BrokenProcessPool instead of hanging.
    Leaving the block early (an error, a refused image) cancels what has not started.
    """
    if workers <= 1:
        yield None
        return
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    pool = ProcessPoolExecutor(workers, mp_context=ctx)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _decode_job(args):
    path, resolution, channels, max_pixels = args
    try:
        return load_image(Path(path), resolution, channels, max_pixels), None
    except ImageRejected as e:
        return None, (str(e), e.bomb)


def _is_text(name: str) -> bool:
    """False for a file name that is not valid UTF-8 (Python keeps its bytes as surrogate escapes)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_text(path: Path) -> str:
    """A path as storable text: bytes that are not UTF-8 shown as escapes (\\udce9)."""
    return str(path).encode("utf-8", "backslashreplace").decode()


def _read_folder(root: Path, options: IngestOptions, progress: ProgressCallback):
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    for d in class_dirs:
        if not _is_text(d.name):
            raise GanaugError(f"class folder {d.name!r} in {root} is not valid UTF-8: rename it (its name is the class name)")
    if len(class_dirs) >= 2 and all(d.name.lower() in SPLIT_FOLDER_NAMES for d in class_dirs):
        train = next((d for d in class_dirs if d.name.lower().startswith("train")), class_dirs[0])
        raise GanaugError(
            f"the folders in {root} ({', '.join(d.name for d in class_dirs)}) are splits, not classes: ingest "
            f"{train}, whose sub-folders are the classes (ganaug holds out its own test split: --test-fraction)")
    files, file_labels = [], []
    loose = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    skipped = [(_as_text(f), "an image outside any class folder") for f in loose]
    for c, d in enumerate(class_dirs):
        # Hidden files and whatever lies in hidden folders (.DS_Store, .thumbnails/, .ipynb_checkpoints/) are not the
        # class's images: a thumbnail folder would add near-copies of them.
        for f in sorted(p for p in d.rglob("*")
                        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(d).parts)):
            if not _is_text(str(f)):  # the database and the reports store paths as text
                skipped.append((_as_text(f), "file name is not valid UTF-8"))
            elif f.suffix.lower() in IMAGE_SUFFIXES:
                files.append(f)
                file_labels.append(c)
            else:
                skipped.append((str(f), "not an image file type"))
    if not files and loose:  # images, but no class folder around them: the folder of one class, say
        raise GanaugError(f"the {len(loose)} images in {root} are in no class folder: ganaug expects one sub-folder "
                          "of images per class (named after the class); ingest the folder that holds those")
    if not files:
        raise GanaugError(f"no images found in {root}: expected one sub-folder of png/jpg/bmp/tif files per class")
    channels = options.channels
    if channels is None:
        channels = 1
        for f in files:  # headers only: cheap, and lets us pick the channel count before decoding
            try:
                if not is_grayscale_mode(peek_mode(f, options.max_pixels)):
                    channels = 3
                    break
            except ImageRejected as e:
                if e.bomb:
                    raise GanaugError(f"refusing {f}: {e}") from None
    jobs = [(str(f), options.resolution, channels, options.max_pixels) for f in files]
    arrays: list[Optional[np.ndarray]] = []
    workers = min(options.workers, max(1, len(jobs) // 64))
    with _worker_pool(workers) as pool:
        results = pool.map(_decode_job, jobs, chunksize=32) if pool else map(_decode_job, jobs)
        for i, (arr, err) in enumerate(results):
            if err is not None:
                reason, bomb = err
                if bomb:
                    raise GanaugError(f"refusing {files[i]}: {reason}")
                skipped.append((str(files[i]), reason))
            arrays.append(arr)
            if (i + 1) % 256 == 0 or i + 1 == len(jobs):
                progress(Progress("decode", i + 1, len(jobs)))
    ok = [i for i, a in enumerate(arrays) if a is not None]
    if not ok:
        raise GanaugError(f"none of the {len(files)} image files in {root} could be read")
    labels = np.asarray([file_labels[i] for i in ok], dtype=np.int64)
    present = np.unique(labels)
    if len(present) < 2:
        raise GanaugError(f"{root} has readable images in only one class ({class_dirs[present[0]].name}); need at least two")
    # Renumber so that classes whose every file was unreadable do not leave holes, and say which were dropped.
    skipped += [(str(d), "a class folder with no readable image: not a class") for c, d in enumerate(class_dirs)
                if c not in set(present.tolist())]
    remap = {old: new for new, old in enumerate(present)}
    labels = np.asarray([remap[c] for c in labels], dtype=np.int64)
    names = [class_dirs[c].name for c in present]
    pixels = np.stack([arrays[i] for i in ok])
    splits = _split_names(stratified_test_mask(labels, options.test_fraction, options.seed))
    return pixels, labels, splits, [str(files[i]) for i in ok], names, skipped


def _npz_shapes(path: Path) -> dict[str, tuple]:
    """Array shapes from the .npy headers inside the zip, read before any array is loaded."""
    shapes = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if not name.endswith(".npy"):
                    continue
                with zf.open(name) as f:
                    version = np.lib.format.read_magic(f)
                    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                    shape, _, dtype = read(f)
                    if dtype.hasobject:
                        raise GanaugError(f"{path}: array {name[:-4]} holds Python objects; only numeric arrays are accepted")
                    shapes[name[:-4]] = shape
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise GanaugError(f"{path} is not a readable .npz file ({e})") from None
    return shapes


def _npz_images(arr: np.ndarray, key: str, path: Path) -> np.ndarray:
    """(N,H,W), (N,H,W,C) or (N,C,H,W) → uint8 (N,C,H,W)."""
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4 and arr.shape[-1] in (1, 3) and arr.shape[1] not in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)
    elif not (arr.ndim == 4 and arr.shape[1] in (1, 3)):
        raise GanaugError(f"{path}: {key} has shape {arr.shape}; expected (N,H,W), (N,H,W,C) or (N,C,H,W) with C 1 or 3")
    if arr.dtype != np.uint8:
        lo, hi = float(arr.min()), float(arr.max())
        scale = 255.0 if hi <= 1.0 and lo >= 0.0 else 1.0
        arr = np.clip(arr.astype(np.float32) * scale, 0, 255).round().astype(np.uint8)
    return arr


def _resize_all(arr: np.ndarray, resolution: int, channels: int) -> np.ndarray:
    from PIL import Image

    if arr.shape[1] != channels:
        arr = np.repeat(arr, 3, axis=1) if channels == 3 else arr.mean(axis=1, keepdims=True).round().astype(np.uint8)
    if arr.shape[2:] == (resolution, resolution):
        return arr
    out = np.empty((len(arr), channels, resolution, resolution), dtype=np.uint8)
    for i, img in enumerate(arr):
        pil = Image.fromarray(img[0] if channels == 1 else img.transpose(1, 2, 0))
        r = np.asarray(pil.resize((resolution, resolution), Image.BILINEAR))
        out[i] = r[None] if r.ndim == 2 else r.transpose(2, 0, 1)
    return out


def _read_npz(path: Path, options: IngestOptions):
    shapes = _npz_shapes(path)
    if "train_images" in shapes:
        parts = [(s, f"{s}_images", f"{s}_labels") for s in SPLITS if f"{s}_images" in shapes]
    elif "images" in shapes:
        parts = [("all", "images", "labels")]
    else:
        raise GanaugError(f"{path} has neither train_images/train_labels (MedMNIST layout) nor images/labels arrays")
    for _, ik, lk in parts:
        if lk not in shapes:
            raise GanaugError(f"{path} has {ik} but no {lk}")
        n_img, n_lab = shapes[ik][0] if shapes[ik] else 0, shapes[lk][0] if shapes[lk] else 0
        if n_img != n_lab:
            raise GanaugError(f"{path}: {ik} holds {n_img} images but {lk} holds {n_lab} labels")
        if n_img == 0:
            raise GanaugError(f"{path}: {ik} is empty")
        if int(np.prod(shapes[ik][1:3])) > options.max_pixels:
            raise GanaugError(f"refusing {path}: {ik} images are {shapes[ik][1:3]} pixels, above the safety limit")
    data = np.load(path, allow_pickle=False)
    pixels, labels, splits, sources = [], [], [], []
    channels = options.channels
    for split, ik, lk in parts:
        imgs = _npz_images(data[ik], ik, path)
        channels = channels or (1 if all(imgs.shape[1] == 1 for _ in [0]) else 3)
        lab = np.asarray(data[lk]).reshape(len(imgs), -1)[:, 0]
        if not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0:
            raise GanaugError(f"{path}: {lk} must hold non-negative integer class labels")
        pixels.append(imgs)
        labels.append(lab.astype(np.int64))
        splits.append(np.full(len(imgs), split, dtype="<U5"))
        sources += [f"{path}#{ik}[{i}]" for i in range(len(imgs))]
    channels = channels or 1
    pixels = np.concatenate([_resize_all(p, options.resolution, channels) for p in pixels])
    labels, splits = np.concatenate(labels), np.concatenate(splits)
    if not (splits == "test").any():
        test = stratified_test_mask(labels, options.test_fraction, options.seed)
        splits = np.where(test, "test", np.where(splits == "all", "train", splits)).astype("<U5")
    present = np.unique(labels)
    if len(present) < 2:
        raise GanaugError(f"{path} has only one class ({present[0]}); need at least two")
    remap = np.zeros(present.max() + 1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    return pixels, remap[labels], splits, sources, [str(c) for c in present], []


# --- writing -------------------------------------------------------------------------------------------------


def _write_chunk(job: tuple[np.ndarray, list[str]]) -> list[str]:
    chunk, targets = job
    digests = []
    for img, target in zip(chunk, targets):
        data = encode_png(img)
        with open(target, "wb") as f:
            f.write(data)
        digests.append(sha256_bytes(data))
    return digests


def _write_pngs(pixels: np.ndarray, targets: list[Path], workers: int, progress: ProgressCallback) -> list[str]:
    """Encode and write every image, returning the sha256s in order. Creating files is as slow as encoding on
    many file systems, so both run in a process pool."""
    step = 256
    jobs = [(pixels[i : i + step], [str(t) for t in targets[i : i + step]]) for i in range(0, len(pixels), step)]
    workers = min(workers, len(jobs))
    digests: list[str] = []
    with _worker_pool(workers) as pool:
        for part in pool.map(_write_chunk, jobs) if pool else map(_write_chunk, jobs):
            digests += part
            progress(Progress("write", len(digests), len(pixels)))
    return digests


def _write(source, out_dir: Path, pixels, labels, splits, sources, names, skipped, progress, workers=1) -> IngestResult:
    out_dir.mkdir(parents=True, exist_ok=False)
    rels = [f"{splits[i]}/{int(labels[i]):03d}/{i:06d}.png" for i in range(len(pixels))]
    for folder in {r.rsplit("/", 1)[0] for r in rels}:
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    digests = _write_pngs(pixels, [out_dir / r for r in rels], workers, progress)
    images = [
        IngestedImage(str(splits[i]), int(labels[i]), rels[i], digests[i], sources[i]) for i in range(len(pixels))
    ]
    arrays_path = out_dir / "arrays.npz"
    np.savez(arrays_path, images=pixels, labels=labels, splits=splits)
    return IngestResult(
        source=source,
        class_names=list(names),
        resolution=int(pixels.shape[-1]),
        channels=int(pixels.shape[1]),
        images=images,
        skipped=skipped,
        arrays_sha256=sha256_file(arrays_path),
    )


@dataclass
class DatasetArrays:
    """A dataset's pixels in memory: uint8 (N, C, H, W), labels, and split names."""

    images: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    class_names: list[str]

    def split(self, *names: str) -> tuple[np.ndarray, np.ndarray]:
        mask = np.isin(self.splits, names)
        return self.images[mask], self.labels[mask]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def load_arrays(dataset_dir: Path, class_names: Sequence[str]) -> DatasetArrays:
    """Load the arrays written at ingestion (plain numeric arrays: no pickle is ever allowed)."""
    with np.load(dataset_dir / "arrays.npz", allow_pickle=False) as data:
        return DatasetArrays(data["images"], data["labels"], data["splits"], list(class_names))
