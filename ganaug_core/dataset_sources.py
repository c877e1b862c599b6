"""Reading a dataset source: the demo digits, an ImageFolder directory or an .npz file.

Each reader returns the pixels at the configured resolution and channel count (uint8, N×C×R×R), the labels, each
image's split ("train" or "test", from the source's own split or a seeded stratified one), its source path, the
class names, the files it skipped with why, the source images' side before conversion (`source_side`), and the
images far from square that conversion stretched (source path, width, height).
`ganaug_core.datasets.ingest` chooses the reader and writes the result.
"""

from __future__ import annotations

import multiprocessing as mp
import zipfile
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from ganaug_core import paths
from ganaug_core.errors import GanaugError
from ganaug_core.folder_walk import Walk
from ganaug_core.folder_walk import as_text as _as_text
from ganaug_core.imageio import IMAGE_SUFFIXES, ImageRejected, is_grayscale_mode, load_image_sized, peek_mode
from ganaug_core.progress import Progress, ProgressCallback

if TYPE_CHECKING:
    from ganaug_core.datasets import IngestOptions

SPLITS = ("train", "val", "test")
# How many training images the demo's rare classes keep (the demo profile: DEMO_NAME in ganaug_core.datasets).
DEMO_KEEP = {7: 10, 8: 6, 9: 4}
# Folder names that mean a split, not a class: a folder of train/ and test/ (each with its class folders inside)
# would otherwise be ingested as two classes named "train" and "test".
SPLIT_FOLDER_NAMES = {"train", "training", "test", "testing", "val", "valid", "validation", "dev"}


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


def split_names(test_mask: np.ndarray) -> np.ndarray:
    return np.where(test_mask, "test", "train").astype("<U5")


def source_side(sizes) -> int:
    """The median of the images' shorter sides, as they were stored before conversion: a folder of 128×128 photos
    (a few odd ones aside) is 128, whatever resolution it was ingested at."""
    return int(np.median([min(w, h) for w, h in sizes]))


def far_from_square(width: int, height: int) -> bool:
    """An image whose longer side is 2× its shorter or more: stretched to a square, a 30×200 strip or a 4000×10
    line scan is distorted past recognition, where a photo of 4:3 is not."""
    return max(width, height) >= 2 * min(width, height)


def read_demo(options: IngestOptions):
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
    return pixels, labels[keep], split_names(test[keep]), sources, [str(i) for i in range(10)], [], raw.shape[-1], []


# Images a decoding worker takes at a time, and so how often decoding reports progress: the pool hands back results a
# chunk at a time.
DECODE_CHUNK = 32


@contextmanager
def worker_pool(workers: int):
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
    ctx.set_forkserver_preload(["ganaug_core.datasets"])  # the decoding and writing jobs, and this module
    pool = ProcessPoolExecutor(workers, mp_context=ctx)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _decode_job(args):
    path, resolution, channels, max_pixels = args
    try:
        arr, size = load_image_sized(Path(path), resolution, channels, max_pixels)
        return arr, None, size
    except ImageRejected as e:
        return None, (str(e), e.bomb), None


def _is_text(name: str) -> bool:
    """False for a file name that is not valid UTF-8 (Python keeps its bytes as surrogate escapes)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _holds_class_folders(d: Path) -> bool:
    """A split's folder beside others (train/, test/ and an annotations/ of JSON files, as many downloads have):
    named as a split, with sub-folders and no image of its own. Only all-split folders were refused, so such a
    download was ingested as two classes named train and test."""
    if d.name.lower() not in SPLIT_FOLDER_NAMES:
        return False
    children = [c for c in d.iterdir() if not c.name.startswith(".")]
    return (any(c.is_dir() for c in children)
            and not any(c.is_file() and c.suffix.lower() in IMAGE_SUFFIXES for c in children))


DATABASE_FILE = "ganaug.db"  # a home's SQLite database (db.engine.database_url); not imported: core imports no db


def _home_reason(d: Path, home: Path) -> Optional[str]:
    """Why the folder `d` is a ganaug home and not a class (None when it is not one): a home kept beside the class
    folders under a name without a dot (`GANAUG_HOME=./home`) was ingested as a class of its batches and grids."""
    if d.resolve() == home:
        return "the current GANAUG_HOME (ganaug's own files, not a class): passed over"
    if (d / DATABASE_FILE).is_file():
        return f"a ganaug home (it holds {DATABASE_FILE}; ganaug's own files, not a class): passed over"
    return None


def _only_greys(pixels: np.ndarray) -> bool:
    """Colour images whose every pixel is a grey (R = G = B): X-rays saved as RGB JPEGs, palette PNGs and GIFs of
    greys. Their headers said colour, so they were stored, and trained, with three equal channels."""
    return bool((pixels[:, 0] == pixels[:, 1]).all() and (pixels[:, 1] == pixels[:, 2]).all())


def read_folder(root: Path, options: IngestOptions, progress: ProgressCallback,
                links: Optional[list[tuple[str, str]]] = None):
    """`links`, if given, receives (link, where it points) for each link followed (ganaug_core.folder_walk)."""
    home = paths.home_path()  # not `paths.home()`, which would create it
    if _home_reason(root, home):
        raise GanaugError(f"{root} is a ganaug home, not a dataset: ingest the folder that holds one sub-folder of "
                          "images per class")
    walk = Walk(root.resolve(), lambda d: _home_reason(d, home))
    folders = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    reasons = {d: _home_reason(d, home) for d in folders}
    homes = [(_as_text(d), reasons[d]) for d in folders if reasons[d]]
    targets = {d: walk.folder_link(d, [walk.root]) if d.is_symlink() else walk.root / d.name
               for d in folders if not reasons[d]}
    class_dirs = [d for d in targets if targets[d] is not None]  # a class folder that is a loop is none
    for d in class_dirs:
        if not _is_text(d.name):
            raise GanaugError(f"class folder {d.name!r} in {root} is not valid UTF-8: rename it (its name is the class name)")
    splits = class_dirs if all(d.name.lower() in SPLIT_FOLDER_NAMES for d in class_dirs) else [
        d for d in class_dirs if _holds_class_folders(d)]
    if len(splits) >= 2:
        train = next((d for d in splits if d.name.lower().startswith("train")), splits[0])
        raise GanaugError(
            f"the folders in {root} ({', '.join(d.name for d in splits)}) are splits, not classes: ingest "
            f"{train}, whose sub-folders are the classes (ganaug holds out its own test split: --test-fraction)")
    files, file_labels = [], []
    loose = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    skipped = homes + [(_as_text(f), "an image outside any class folder") for f in loose]
    for c, d in enumerate(class_dirs):
        for f in walk.files(d, [walk.root, targets[d]]):
            if not _is_text(str(f)):  # the database and the reports store paths as text
                walk.skipped.append((_as_text(f), "file name is not valid UTF-8"))
            elif f.suffix.lower() in IMAGE_SUFFIXES:
                files.append(f)
                file_labels.append(c)
            else:
                walk.skipped.append((str(f), "not an image file type"))
    skipped += walk.skipped
    if links is not None:
        links += walk.links
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
    sizes: list[tuple[int, int]] = []
    workers = min(options.workers, max(1, len(jobs) // 64))
    with worker_pool(workers) as pool:
        results = pool.map(_decode_job, jobs, chunksize=DECODE_CHUNK) if pool else map(_decode_job, jobs)
        # The bar opens at 0 and moves a chunk at a time: opened at the first report of 256, a 345-image folder's
        # bar first drew 74 % (and a 40-image folder's 100 %), before its workers had started.
        progress(Progress("decode", 0, len(jobs)))
        for i, (arr, err, size) in enumerate(results):
            if err is not None:
                reason, bomb = err
                if bomb:
                    raise GanaugError(f"refusing {files[i]}: {reason}")
                skipped.append((str(files[i]), reason))
            arrays.append(arr)
            if size is not None:
                sizes.append(size)
            if (i + 1) % DECODE_CHUNK == 0 or i + 1 == len(jobs):
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
    if options.channels is None and channels == 3 and _only_greys(pixels):
        pixels = np.ascontiguousarray(pixels[:, :1])
    splits = split_names(stratified_test_mask(labels, options.test_fraction, options.seed))
    stretched = [(str(files[i]), w, h) for i, (w, h) in zip(ok, sizes) if far_from_square(w, h)]
    return pixels, labels, splits, [str(files[i]) for i in ok], names, skipped, source_side(sizes), stretched


# What the arrays an .npz ingest loads (images and labels) may declare in all: a compressed file inflates without a
# limit of its own (2.5 MB took 2.6 GB). 2 GiB holds 100,000 64×64 colour images (1.2 GB of uint8) with room; the
# peak is up to 3× the declared size for float images (their scaled copy; measured 2026-12-07: 983 MB of float32 took
# 3.0 GB, 246 MB of uint8 0.58 GB), so a file at the limit takes at most ≈ 6 GB.
NPZ_MAX_BYTES = 2 << 30


def _npz_headers(path: Path) -> dict[str, tuple[tuple, np.dtype]]:
    """Array shapes and dtypes from the .npy headers inside the zip, read before any array is loaded (or inflated)."""
    headers = {}
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
                    headers[name[:-4]] = (shape, dtype)
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise GanaugError(f"{path} is not a readable .npz file ({e})") from None
    return headers


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB"


def _check_npz_size(path: Path, headers: dict[str, tuple[tuple, np.dtype]], keys: list[str]) -> None:
    """Refuse, before loading, arrays whose declared sizes add up to more than NPZ_MAX_BYTES: a compressed .npz
    inflates without a limit of its own."""
    sizes = {k: int(np.prod(headers[k][0], dtype=object)) * headers[k][1].itemsize for k in keys}
    total = sum(sizes.values())
    if total > NPZ_MAX_BYTES:
        big = max(sizes, key=sizes.get)
        shape, dtype = headers[big]
        raise GanaugError(f"refusing {path}: its arrays take {_gib(total)} once loaded ({big}: {shape} {dtype}, "
                          f"{_gib(sizes[big])}), above the {_gib(NPZ_MAX_BYTES)} limit for an .npz (a compressed "
                          "one can inflate past the machine's memory); ingest a folder of image files instead")


def _npz_images(arr: np.ndarray, key: str, path: Path, scale: tuple[float, float]) -> np.ndarray:
    """(N,H,W), (N,H,W,C) or (N,C,H,W) → uint8 (N,C,H,W), values mapped by `scale` (`_npz_scale`)."""
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4 and arr.shape[-1] in (1, 3) and arr.shape[1] not in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)
    elif not (arr.ndim == 4 and arr.shape[1] in (1, 3)):
        raise GanaugError(f"{path}: {key} has shape {arr.shape}; expected (N,H,W), (N,H,W,C) or (N,C,H,W) with C 1 or 3")
    if arr.dtype != np.uint8:
        offset, factor = scale
        arr = arr.astype(np.float32)
        arr[~np.isfinite(arr)] = -offset  # NaN and ±inf: 0, as in a float image file
        arr = np.clip(np.round((arr + offset) * factor), 0, 255).astype(np.uint8)
    return arr


def _no_bools(arr: np.ndarray) -> np.ndarray:
    return arr.astype(np.uint8) * 255 if arr.dtype == bool else arr


def _npz_scale(arrays: list[np.ndarray]) -> tuple[float, float]:
    """(offset, factor) that maps every image array of the file to 0..255 as `(x + offset) × factor`, the same for
    all its splits, from the range the values are in (as for image files, `imageio._to_8bit_scale`): integers within
    0..1 (a binary mask) × 255, within 0..255 kept, within 0..65535 read as 16-bit (÷ 257); floats within 0..1
    × 255, within -1..1 (a network's tanh range) as (x + 1) × 127.5, within 0..255 kept; other ranges stretched
    from their lowest to their highest value.
    Clipping did this before: 16-bit images came out white, images in -1..1 black and white."""
    wide = [a for a in arrays if a.dtype != np.uint8 and a.size]
    if not wide:
        return 0.0, 1.0
    floats = any(a.dtype.kind == "f" for a in wide)
    lo = min(float(np.min(a, where=np.isfinite(a), initial=np.inf)) if a.dtype.kind == "f" else float(a.min())
             for a in wide)
    hi = max(float(np.max(a, where=np.isfinite(a), initial=-np.inf)) if a.dtype.kind == "f" else float(a.max())
             for a in wide)
    if lo > hi:  # no finite value at all
        return 0.0, 1.0
    if lo >= 0.0 and hi <= 1.0:  # a binary mask (0/1 integers, booleans) too, as before
        return 0.0, 255.0
    if floats and lo >= -1.0 and hi <= 1.0:
        return 1.0, 127.5
    if lo >= 0.0 and hi <= 255.0:
        return 0.0, 1.0
    if not floats and lo >= 0.0 and hi <= 65535.0:
        return 0.0, 1 / 257.0
    return -lo, (255.0 / (hi - lo) if hi > lo else 0.0)


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


def read_npz(path: Path, options: IngestOptions):
    headers = _npz_headers(path)
    shapes = {k: shape for k, (shape, _) in headers.items()}
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
    _check_npz_size(path, headers, [k for _, ik, lk in parts for k in (ik, lk)])
    data = np.load(path, allow_pickle=False)
    raw = {ik: _no_bools(data[ik]) for _, ik, _ in parts}
    scale = _npz_scale(list(raw.values()))
    pixels, labels, splits, sources = [], [], [], []
    sizes = []
    channels = options.channels
    for split, ik, lk in parts:
        imgs = _npz_images(raw.pop(ik), ik, path, scale)
        channels = channels or (1 if all(imgs.shape[1] == 1 for _ in [0]) else 3)
        lab = np.asarray(data[lk]).reshape(len(imgs), -1)
        if lab.shape[1] != 1:  # ChestMNIST's 14 findings per image: the first column was taken as the class
            raise GanaugError(f"{path}: {lk} holds {lab.shape[1]} values per image (multi-label?); ganaug needs one "
                              "class label per image")
        lab = lab[:, 0]
        if not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0 or lab.max() > np.iinfo(np.int64).max:
            raise GanaugError(f"{path}: {lk} must hold non-negative integer class labels")
        pixels.append(imgs)
        sizes += [(imgs.shape[3], imgs.shape[2])] * len(imgs)
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
    # Classes renumbered 0..K-1 in the order of their labels, by search: a table indexed by label value took
    # label-sized memory (labels [0, 2**40]: 8 TiB).
    stretched = [(src, w, h) for src, (w, h) in zip(sources, sizes) if far_from_square(w, h)]
    return pixels, np.searchsorted(present, labels), splits, sources, [str(c) for c in present], [], source_side(sizes), stretched
