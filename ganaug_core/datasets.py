"""Dataset ingestion: the demo digits, an ImageFolder directory, or an .npz file.

`ingest(source, out_dir, options)` converts every image to the configured resolution and channel count, writes
it once as a PNG under `out_dir/<split>/<class>/`, fixes the test split, and returns what the database must
record (class, split, sha256 and source path of each image). It also writes `arrays.npz`, the same pixels as one
array for fast loading by training and evaluation. Writing is the caller's staging folder: the orchestration
layer renames it into place only once the database rows are committed, so a failed ingest leaves nothing.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ganaug_core.dataset_sources import FolderFindings, read_demo, read_folder
from ganaug_core.worker_pool import worker_pool
from ganaug_core.npz_source import read_npz
from ganaug_core.errors import GanaugError
from ganaug_core.imageio import MAX_PIXELS, encode_png, sha256_bytes, sha256_file
from ganaug_core.progress import Progress, ProgressCallback, no_progress

# The demo profile: scikit-learn's bundled handwritten digits (1,797 real 8×8 scans, no download). By default a
# third is held out as a balanced test split (seed 0: README and BENCHMARKS.md quote numbers on exactly this
# split); in the training split classes 0–6 keep all their images and the rare classes 7, 8, 9 keep only 10, 6
# and 4 (imbalance ratio ≈ 30; DEMO_KEEP in dataset_sources). A given --test-fraction or --seed changes the split
# and which rare images stay.
DEMO_NAME = "demo:digits"
DEMO_TEST_FRACTION = 1 / 3
DEFAULT_TEST_FRACTION = 0.2  # every other source


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
    # False: links in a folder dataset (to a file or a folder) are passed over and listed, not followed: a folder
    # handed over may link to /etc or to another patients' store (ganaug_core/folder_walk.py)
    follow_links: bool = True
    # True for the app's ingest job: links that lead outside GANAUG_INGEST_ROOTS are passed over (folder_walk.py)
    within_roots: bool = False
    # the bits a folder's 16-bit images use: their values are scaled 2**bit_depth - 1 → 255 (12: a 12-bit camera's,
    # which the 16-bit scale stored at 0–16, nearly black); None: not given, 16. Kept apart from 16 so that the
    # dataset records whether its ingest was given one (ingesting the source again must repeat it)
    bit_depth: Optional[int] = None

    @property
    def bits(self) -> int:
        """The bits 16-bit values are taken to use: `bit_depth`, else 16 (65535 → 255)."""
        return 16 if self.bit_depth is None else self.bit_depth

    def validate(self) -> None:
        # 8: the smallest side a generator trains at (MIN_RESOLUTION of the training config); below it a dataset
        # could be ingested but never trained on.
        if self.resolution < 8 or self.resolution > 1024:
            raise GanaugError(f"--resolution must be between 8 and 1024, got {self.resolution}")
        if self.channels not in (None, 1, 3):
            raise GanaugError(f"--channels must be 1 or 3, got {self.channels}")
        if self.test_fraction is not None and not 0.0 < self.test_fraction < 1.0:
            raise GanaugError(f"--test-fraction must be between 0 and 1 (exclusive), got {self.test_fraction}")
        if not 8 <= self.bits <= 16:
            raise GanaugError(f"--bit-depth must be between 8 and 16, got {self.bit_depth}")


@dataclass
class IngestedImage:
    split: str
    class_index: int
    path: str  # relative to the dataset folder
    sha256: str
    source_path: str
    # the ingest index of the first image of its near-copy set (a set whose images are not all identical: a JPEG saved
    # again, a resized copy, a thumbnail; `dataset_sources.split_sets`), or None
    near_set: Optional[int] = None


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
    # the median shorter side of the source images before conversion (8 for the demo digits): how much a
    # resolution below it shrank them
    source_side: Optional[int] = None
    # (source path, width, height) of the images whose longer side is 2× their shorter or more: stretched to a
    # square, a 30×200 strip is distorted past recognition, and only the user can crop or pad it
    stretched: list[tuple[str, int, int]] = field(default_factory=list)
    # (link, where it points) of each link in a folder dataset that was followed (ganaug_core/folder_walk.py)
    links: list[tuple[str, str]] = field(default_factory=list)
    # per class, of a colour dataset, the images with no colour (R = G = B in every pixel: a monochrome camera's files
    # stored as colour); empty for a grayscale dataset
    colourless: list[int] = field(default_factory=list)
    # (source path, frames) of each file holding several frames or pages (a microscope's multi-page TIFF, an animated
    # GIF), of which only the first was ingested: a z-stack's other planes are not in the dataset
    frames: list[tuple[str, int]] = field(default_factory=list)
    # (source path, width, height) of the images much smaller than the others (dataset_sources.much_smaller): icons or
    # thumbnails among the scans, enlarged to the resolution
    small: list[tuple[str, int, int]] = field(default_factory=list)
    wide: int = 0  # how many 16-bit images a folder held
    wide_peak: int = 0  # their highest value: below 4096 for a 12-bit camera's
    wide_paths: list[str] = field(default_factory=list)  # the source paths of the first few of them (their note's)
    bit_depth: int = 16  # the bits their values were taken to use (IngestOptions.bits)

    def duplicates(self, max_groups: int = 50) -> dict:
        """Images whose stored bytes equal another's (after conversion): how many, how many share them with another
        class, and how many with the other split; plus up to `max_groups` groups of their source paths (those under
        two classes first) and, beside each path, its class.

        A test image that is also a training image scores a classifier on what it was trained on, and the same
        image under two labels teaches it both. A folder's split keeps each group on one side
        (`stratified_test_mask`); an .npz's own test split may not."""
        groups: dict[str, list[IngestedImage]] = {}
        for im in self.images:
            groups.setdefault(im.sha256, []).append(im)
        dup = sorted((g for g in groups.values() if len(g) > 1), key=lambda g: len({i.class_index for i in g}) == 1)
        return _sets_found(dup, self.class_names, max_groups)

    def near_copies(self, max_groups: int = 50) -> dict:
        """As `duplicates`, for the near-copy sets (`IngestedImage.near_set`): images that are one picture saved again
        with loss, resized or shrunk to a thumbnail, and so not identical. A folder's split keeps each set on one side
        as it does identical images; an .npz's own test split may not."""
        groups: dict[int, list[IngestedImage]] = {}
        for im in self.images:
            if im.near_set is not None:
                groups.setdefault(im.near_set, []).append(im)
        near = sorted(groups.values(), key=lambda g: len({i.class_index for i in g}) == 1)
        return _sets_found(near, self.class_names, max_groups)


def _sets_found(dup: list[list[IngestedImage]], class_names: list[str], max_groups: int) -> dict:
    """How many images the sets hold, how many are in a set under two classes or more and how many in one on both
    sides of the split; and up to `max_groups` sets of their source paths and, beside each, its class."""
    return dict(
        images=sum(len(g) for g in dup),
        sets=len(dup),
        across_classes=sum(len(g) for g in dup if len({i.class_index for i in g}) > 1),
        across_splits=sum(len(g) for g in dup if len({i.split for i in g}) > 1),
        groups=[[i.source_path for i in g] for g in dup[:max_groups]],
        classes=[[class_names[i.class_index] for i in g] for g in dup[:max_groups]],
    )


def ingest(source: str, out_dir: Path, options: IngestOptions, progress: ProgressCallback = no_progress) -> IngestResult:
    """Read `source` and write the converted dataset into `out_dir` (which must not exist yet)."""
    options.validate()
    if options.test_fraction is None:
        default = DEMO_TEST_FRACTION if source == DEMO_NAME else DEFAULT_TEST_FRACTION
        options = dataclasses.replace(options, test_fraction=default)
    links: list[tuple[str, str]] = []
    found = FolderFindings()
    path = Path(source).expanduser()
    if source != DEMO_NAME and not path.exists():
        raise GanaugError(f"dataset source not found: {source}")
    if options.bits != 16 and (source == DEMO_NAME or not path.is_dir()):
        raise GanaugError("--bit-depth applies to a folder's 16-bit image files (an .npz is scaled by the range of "
                          "its values)")
    if source == DEMO_NAME:
        read = read_demo(options)
    elif path.is_dir():
        read = read_folder(path, options, progress, links, found)
    elif path.suffix.lower() == ".npz":
        read = read_npz(path, options, found)
    else:
        raise GanaugError(f"unsupported dataset source {source}: expected a folder, an .npz file or {DEMO_NAME}")
    pixels, labels, splits, sources, names, skipped, side, stretched = read
    result = _write(source, out_dir, pixels, labels, splits, sources, names, skipped, progress, options.workers)
    if pixels.shape[1] == 3:
        result.colourless = colourless_per_class(pixels, labels, len(names))
    if found.sets is not None:  # the demo's split is the one README and BENCHMARKS.md quote: no sets
        result.images = _with_near_sets(result.images, found.sets)
    return dataclasses.replace(result, test_fraction=options.test_fraction, seed=options.seed, source_side=side,
                               stretched=stretched, links=links, frames=found.frames, small=found.small,
                               wide=found.wide, wide_peak=found.wide_peak, wide_paths=found.wide_paths,
                               bit_depth=options.bits)


def colourless_per_class(pixels: np.ndarray, labels: np.ndarray, num_classes: int, block: int = 1024) -> list[int]:
    """How many images of each class have R = G = B in every pixel, of (N, 3, H, W) `pixels`; `block` images at a
    time, so the comparison's masks stay small (12 MB at 64²) beside 60,000 images' pixels."""
    grey = np.zeros(len(pixels), dtype=bool)
    for lo in range(0, len(pixels), block):
        b = pixels[lo : lo + block]
        grey[lo : lo + len(b)] = ((b[:, 0] == b[:, 1]) & (b[:, 1] == b[:, 2])).all(axis=(1, 2))
    return np.bincount(labels[grey], minlength=num_classes).tolist()


def _with_near_sets(images: list[IngestedImage], sets: np.ndarray) -> list[IngestedImage]:
    """`images` with the near-copy sets among `sets` (`dataset_sources.split_sets`) marked: those holding two
    different stored images. A set of identical images only is named by its sha256s already."""
    digests: dict[int, set[str]] = {}
    for im, s in zip(images, sets.tolist()):
        digests.setdefault(s, set()).add(im.sha256)
    return [dataclasses.replace(im, near_set=s) if len(digests[s]) > 1 else im for im, s in zip(images, sets.tolist())]


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
    with worker_pool(workers) as pool:
        progress(Progress("write", 0, len(pixels)))  # the bar opens at 0, not at its first chunk of 256
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


def load_split(dataset_dir: Path, split: str, resolution: int, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The `split`'s images brought to `resolution` (rescale.resize_images) and its labels, read from arrays.npz
    `block` images at a time: the whole images array is never in memory. A run's start at the dataset's side held
    it (737 MB for 60,000 64² colour images) beside the training split it copied out of it (590 MB); at a smaller
    side each block is resized as it is read. The same bytes as `load_arrays(…).split(split)` resized whole."""
    from ganaug_core.rescale import resize_images

    with np.load(dataset_dir / "arrays.npz", allow_pickle=False) as data:
        labels, splits = data["labels"], data["splits"]
        index = np.flatnonzero(splits == split)
        with data.zip.open("images.npy") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = read(f)
            if dtype != np.uint8 or fortran_order or len(shape) != 4 or shape[0] != len(splits):
                raise GanaugError(f"{dataset_dir / 'arrays.npz'}: its images are not the uint8 (N, C, H, W) array "
                                  "ingestion writes")
            out = np.empty((len(index), shape[1], resolution, resolution), dtype=np.uint8)
            row_bytes, done = int(np.prod(shape[1:])), 0
            for lo in range(0, shape[0], block):
                n = min(block, shape[0] - lo)
                rows = np.frombuffer(f.read(n * row_bytes), np.uint8).reshape(n, *shape[1:])
                a, b = np.searchsorted(index, [lo, lo + n])
                if b > a:
                    out[done : done + b - a] = resize_images(rows[index[a:b] - lo], resolution)
                    done += b - a
    return out, labels[index]
