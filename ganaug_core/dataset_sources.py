"""Reading a dataset source: the demo digits or an ImageFolder directory (an .npz file: `npz_source`).

Each reader returns the pixels at the configured resolution and channel count (uint8, N×C×R×R), the labels, each
image's split ("train" or "test", from the source's own split or a seeded stratified one), its source path, the
class names, the files it skipped with why, the source images' side before conversion (`source_side`), and the
images far from square that conversion stretched (source path, width, height).
`ganaug_core.datasets.ingest` chooses the reader and writes the result.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from ganaug_core import paths
from ganaug_core.errors import GanaugError
from ganaug_core.folder_walk import Walk, links_off
from ganaug_core.folder_walk import as_text as _as_text
from ganaug_core.imageio import (IMAGE_SUFFIXES, UNREAD_IMAGE_TYPES, ImageRejected, is_grayscale_mode,
                                 load_image_sized, peek_mode)
from ganaug_core.progress import Progress, ProgressCallback
from ganaug_core.worker_pool import worker_pool

if TYPE_CHECKING:
    from ganaug_core.datasets import IngestOptions

# How many training images the demo's rare classes keep (the demo profile: DEMO_NAME in ganaug_core.datasets).
DEMO_KEEP = {7: 10, 8: 6, 9: 4}
# Folder names that mean a split, not a class: a folder of train/ and test/ (each with its class folders inside)
# would otherwise be ingested as two classes named "train" and "test".
SPLIT_FOLDER_NAMES = {"train", "training", "test", "testing", "val", "valid", "validation", "dev"}


def stratified_test_mask(labels: np.ndarray, fraction: float, seed: int,
                         same: Optional[np.ndarray] = None) -> np.ndarray:
    """True for the images held out as test: `fraction` of each class, chosen by a seeded permutation.

    `same` gives images that are identical after conversion one id (`identical_groups`), or near-copies
    (`split_sets`): such a group goes to one side whole. Split one by one, a photo copied twice into a class, or filed
    under two classes, landed on both sides in every seed tried, and the test split scored the classifier on images it
    had trained on. A group is decided with the lowest class it holds an image of, in the seeded order of that class's
    images, and is taken while the class still wants test images (so a class may hold out a group's size − 1 more
    than its share) and unless it would leave one of its classes with no training image. Without groups the split is
    the one made one image at a time."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    of = labels.tolist()
    members: dict[int, list[int]] = {}
    for i, g in enumerate(range(len(of)) if same is None else same.tolist()):
        members.setdefault(g, []).append(i)
    units: dict[int, list[int]] = {}  # a group by its first image in the lowest class it holds
    for group in members.values():
        low = min(of[j] for j in group)
        units[next(j for j in group if of[j] == low)] = group
    size = Counter(of)
    held = dict.fromkeys(size, 0)  # test images per class so far
    for c in sorted(size):
        idx = np.flatnonzero(labels == c)
        own = [units[i] for i in idx.tolist() if i in units]
        n_test = int(round(len(idx) * fraction))
        # At least one image on each side, and a class of one image keeps it for training: a class with no
        # training image could not be learned (nor its test image be told from chance).
        n_test = min(max(n_test, 1), len(idx) - 1)
        for k in rng.permutation(len(own)):
            if held[c] >= n_test:
                break
            taken = Counter(of[j] for j in own[k])
            if any(held[d] + n >= size[d] for d, n in taken.items()):
                continue  # it would leave a class with no training image
            mask[own[k]] = True
            for d, n in taken.items():
                held[d] += n
    return mask


def identical_groups(pixels: np.ndarray) -> np.ndarray:
    """One id per image, the same for images whose pixels are identical (and so whose stored PNGs are: encoding is
    deterministic): the first such image's index. Hashed an image at a time, not compared: no copy of the pixels."""
    first: dict[bytes, int] = {}
    return np.asarray([first.setdefault(hashlib.blake2b(img.tobytes(), digest_size=16).digest(), i)
                       for i, img in enumerate(pixels)], dtype=np.int64)


def split_sets(pixels: np.ndarray, sizes) -> np.ndarray:
    """The sets a split keeps on one side: identical images (`identical_groups`) joined with near-copies (a JPEG
    saved again, a resized copy, a thumbnail: `ganaug_core.near_copies`). Each image's id is its set's lowest index;
    an image in no set has its own. `sizes`: each image's (width, height) as stored."""
    from ganaug_core.near_copies import near_copy_sets

    return near_copy_sets(pixels, identical_groups(pixels), np.asarray([min(w, h) for w, h in sizes]))


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


def _decode_job(args):
    path, resolution, channels, max_pixels, bit_depth, follow_links, root = args
    try:
        arr, size, frames, peak = load_image_sized(Path(path), resolution, channels, max_pixels, bit_depth,
                                                   follow_links, Path(root))
        return arr, None, size, frames, peak
    except ImageRejected as e:
        return None, (str(e), e.bomb), None, 1, None


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


def _not_a_class(d: Path, home: Path) -> Optional[str]:
    """Why the folder `d` is passed over (`_home_reason`), or None: also a zip's macOS metadata, which a dataset
    unzipped from a Mac listed as a class folder with no readable image."""
    if d.name == "__MACOSX":
        return "macOS's metadata from a zip archive (resource forks, not images): passed over"
    return _home_reason(d, home)


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
    greys. Their headers said colour, so they were stored, and trained, with three equal channels. Compared a block
    of images at a time: the whole set's comparison held a third of its pixels' size again."""
    for start in range(0, len(pixels), 1024):
        block = pixels[start:start + 1024]
        if not ((block[:, 0] == block[:, 1]).all() and (block[:, 1] == block[:, 2]).all()):
            return False
    return True


def _one_spelling(root: Path, class_dirs: list[Path]) -> None:
    """Refuse two class folders whose names are one name in two Unicode spellings: 'café' copied from a Mac (e and a
    combining accent) beside 'café' made on Linux (é) became two classes that every table showed alike, each with
    part of the images. On a Mac they are one folder; which is meant is the user's to say."""
    seen: dict[str, Path] = {}
    for d in class_dirs:
        first = seen.setdefault(unicodedata.normalize("NFC", d.name), d)
        if first is not d:
            raise GanaugError(f"class folders {first.name!r} and {d.name!r} in {root} are one name spelled with "
                              f"different Unicode characters ({ascii(first.name)} and {ascii(d.name)}; a Mac writes "
                              "an accent as a character of its own): move the images of one into the other")


def much_smaller(width: int, height: int, side: int, resolution: int) -> bool:
    """An image whose shorter side is half the others' (`source_side`) and the resolution or less: a 6×6 icon or a
    thumbnail among 40×40 scans, enlarged to the resolution with nothing said (the note for the whole folder's side
    speaks of the median only)."""
    return 2 * min(width, height) <= min(side, resolution)


WIDE_NAMED = 3  # 16-bit images the ingest's note names, the others counted ('a.tif, b.tif, c.tif and 9 more')


@dataclass
class FolderFindings:
    """What reading a folder noticed beside its pixels, for the ingest's notes."""

    # (path, how many) of each file of several frames or pages, of which only the first was read
    frames: list[tuple[str, int]] = field(default_factory=list)
    # (path, width, height) of each image much smaller than the others (`much_smaller`)
    small: list[tuple[str, int, int]] = field(default_factory=list)
    wide: int = 0  # how many 16-bit images were read
    wide_peak: int = 0  # the highest value in them: below 4096 for a 12-bit camera's
    # the paths of the first WIDE_NAMED of them, which their note names ("the image of 16 bits" named none)
    wide_paths: list[str] = field(default_factory=list)
    # each read image's copy set (`split_sets`): the lowest index of the images it is identical to or a near-copy of
    sets: Optional[np.ndarray] = None


def bomb_refused(path: Path, reason: str) -> GanaugError:
    """One image too large to decode stops the whole ingest (a decompression bomb among photos is suspicious); the
    line named it and the limit, and left the user to guess whether part of the folder was stored and what to do."""
    return GanaugError(f"refusing {path}: {reason}; nothing was ingested: move it out of the folder and ingest again")


def read_folder(root: Path, options: IngestOptions, progress: ProgressCallback,
                links: Optional[list[tuple[str, str]]] = None, found: Optional[FolderFindings] = None):
    """`links`, if given, receives (link, where it points) for each link followed (ganaug_core.folder_walk);
    `found`, what else reading noticed (`FolderFindings`)."""
    found = FolderFindings() if found is None else found
    home = paths.home_path()  # not `paths.home()`, which would create it
    if _home_reason(root, home):
        raise GanaugError(f"{root} is a ganaug home, not a dataset: ingest the folder that holds one sub-folder of "
                          "images per class")
    walk = Walk(root.resolve(), lambda d: _not_a_class(d, home), follow_links=options.follow_links,
                within_roots=options.within_roots)
    class_dirs, targets, homes = _class_folders(root, home, walk)
    loose, litter = _root_files(root)
    skipped = homes + [(_as_text(f), "an image outside any class folder") for f in loose] + litter
    files, file_labels = _image_files(walk, class_dirs, targets)
    skipped += walk.skipped
    if links is not None:
        links += walk.links
    _refuse_no_images(root, files, loose, walk, options)
    channels = options.channels if options.channels is not None else _channels_of(files, options)
    pixels, read, sizes = _decode(root, files, channels, options, progress, found, skipped)
    ok = np.flatnonzero(read).tolist()
    if not ok:
        raise GanaugError(f"none of the {len(files)} image files in {root} could be read")
    labels, names = _renumber_classes(root, class_dirs, [file_labels[i] for i in ok], skipped)
    if len(ok) < len(pixels):  # a copy only where files were skipped
        pixels = pixels[read]
    if options.channels is None and channels == 3 and _only_greys(pixels):
        pixels = np.ascontiguousarray(pixels[:, :1])
    found.sets = split_sets(pixels, sizes)
    splits = split_names(stratified_test_mask(labels, options.test_fraction, options.seed, found.sets))
    stretched = [(str(files[i]), w, h) for i, (w, h) in zip(ok, sizes) if far_from_square(w, h)]
    side = source_side(sizes)
    found.small += [(str(files[i]), w, h) for i, (w, h) in zip(ok, sizes)
                    if much_smaller(w, h, side, options.resolution)]
    return pixels, labels, splits, [str(files[i]) for i in ok], names, skipped, side, stretched


def _class_folders(root: Path, home: Path, walk: Walk) -> tuple[list[Path], dict, list[tuple[str, str]]]:
    """The class folders of `root` (sorted), where each leads (`walk.folder_link` for a link) and the (folder, why)
    of those passed over (`_not_a_class`); refuses a class name that is not UTF-8, one name in two spellings and a
    folder of splits (train/, test/) rather than of classes."""
    folders = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    reasons = {d: _not_a_class(d, home) for d in folders}
    homes = [(_as_text(d), reasons[d]) for d in folders if reasons[d]]
    targets = {d: walk.folder_link(d, [walk.root]) if d.is_symlink() else walk.root / d.name
               for d in folders if not reasons[d]}
    class_dirs = [d for d in targets if targets[d] is not None]  # a class folder that is a loop is none
    for d in class_dirs:
        if not _is_text(d.name):
            raise GanaugError(f"class folder {d.name!r} in {root} is not valid UTF-8: rename it (its name is the class name)")
    _one_spelling(root, class_dirs)
    splits = class_dirs if all(d.name.lower() in SPLIT_FOLDER_NAMES for d in class_dirs) else [
        d for d in class_dirs if _holds_class_folders(d)]
    if len(splits) >= 2:
        train = next((d for d in splits if d.name.lower().startswith("train")), splits[0])
        raise GanaugError(
            f"the folders in {root} ({', '.join(d.name for d in splits)}) are splits, not classes: ingest "
            f"{train}, whose sub-folders are the classes (ganaug holds out its own test split: --test-fraction)")
    return class_dirs, targets, homes


def _root_files(root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The image files at `root`, in no class folder, and (file, why) for its other files, as a class folder's
    are listed (a Thumbs.db beside the class folders was passed over without a word); hidden ones aside."""
    files = sorted(p for p in root.iterdir() if p.is_file())
    loose = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
    others = [f for f in files if f.suffix.lower() not in IMAGE_SUFFIXES and not f.name.startswith(".")]
    return loose, [(_as_text(f), _not_an_image(f)) for f in others]


def _not_an_image(f: Path) -> Optional[str]:
    """Why the file `f` is not read as an image, or None for an image file."""
    if not _is_text(str(f)):  # the database and the reports store paths as text
        return "file name is not valid UTF-8"
    if f.suffix.lower() in IMAGE_SUFFIXES:
        return None
    if f.suffix.lower() in UNREAD_IMAGE_TYPES:
        return (f"{UNREAD_IMAGE_TYPES[f.suffix.lower()]}, a format ganaug does not read: save it as PNG or TIFF to "
                "ingest it")
    return "not an image file type"


def _image_files(walk: Walk, class_dirs: list[Path], targets: dict) -> tuple[list[Path], list[int]]:
    """Each image file below the class folders and its class index; the other files go to `walk.skipped`, with why."""
    files, file_labels = [], []
    for c, d in enumerate(class_dirs):
        for f in walk.files(d, [walk.root, targets[d]]):
            why = _not_an_image(f)
            if why:
                walk.skipped.append((_as_text(f), why))
            else:
                files.append(f)
                file_labels.append(c)
    return files, file_labels


def _refuse_no_images(root: Path, files: list[Path], loose: list[Path], walk: Walk, options: IngestOptions) -> None:
    if not files and loose:  # images, but no class folder around them: the folder of one class, say
        raise GanaugError(f"the {len(loose)} images in {root} are in no class folder: ganaug expects one sub-folder "
                          "of images per class (named after the class); ingest the folder that holds those")
    if not files:
        n = walk.unfollowed
        passed = f" ({n} link{'s' * (n > 1)} passed over: {links_off(options.within_roots)})" if n else ""
        raise GanaugError(f"no images found in {root}{passed}: expected one sub-folder of png/jpg/bmp/tif files per "
                          "class")


def _channels_of(files: list[Path], options: IngestOptions) -> int:
    """3 if any image's header says colour, else 1: headers only, cheap, and known before decoding."""
    for f in files:
        try:
            if not is_grayscale_mode(peek_mode(f, options.max_pixels, options.follow_links)):
                return 3
        except ImageRejected as e:
            if e.bomb:
                raise bomb_refused(f, str(e)) from None
    return 1


def _decode(root: Path, files: list[Path], channels: int, options: IngestOptions, progress: ProgressCallback,
            found: FolderFindings, skipped: list) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Every file's pixels (its row left as it was where it could not be read), which rows were read and the read
    images' sizes before conversion; an unreadable file goes to `skipped`, with why, and what else decoding noticed
    to `found`."""
    # The listing applied follow_links; the read applies it again, to a file or a folder below `root` swapped for a
    # link since.
    jobs = [(str(f), options.resolution, channels, options.max_pixels, options.bits, options.follow_links, str(root))
            for f in files]
    # Decoded straight into one array: a list of images stacked at the end held every pixel twice (1.8 GB at the
    # peak for 60,000 64² colour images, whose pixels are 737 MB).
    pixels = np.empty((len(jobs), channels, options.resolution, options.resolution), np.uint8)
    read = np.zeros(len(jobs), dtype=bool)
    sizes: list[tuple[int, int]] = []
    workers = min(options.workers, max(1, len(jobs) // 64))
    with worker_pool(workers) as pool:
        results = pool.map(_decode_job, jobs, chunksize=DECODE_CHUNK) if pool else map(_decode_job, jobs)
        # The bar opens at 0 and moves a chunk at a time: opened at the first report of 256, a 345-image folder's
        # bar first drew 74 % (and a 40-image folder's 100 %), before its workers had started.
        progress(Progress("decode", 0, len(jobs)))
        for i, (arr, err, size, n_frames, peak) in enumerate(results):
            if err is not None:
                reason, bomb = err
                if bomb:
                    raise bomb_refused(files[i], reason)
                skipped.append((str(files[i]), reason))
            else:
                pixels[i], read[i] = arr, True
            if size is not None:
                sizes.append(size)
            if n_frames > 1:
                found.frames.append((str(files[i]), n_frames))
            if peak is not None:
                found.wide, found.wide_peak = found.wide + 1, max(found.wide_peak, peak)
                if len(found.wide_paths) < WIDE_NAMED:
                    found.wide_paths.append(str(files[i]))
            if (i + 1) % DECODE_CHUNK == 0 or i + 1 == len(jobs):
                progress(Progress("decode", i + 1, len(jobs)))
    return pixels, read, sizes


def _renumber_classes(root: Path, class_dirs: list[Path], read_labels: list[int],
                      skipped: list) -> tuple[np.ndarray, list[str]]:
    """The read images' labels renumbered so that classes whose every file was unreadable leave no holes, and the
    class names; the classes dropped go to `skipped`. Refuses a folder left with fewer than two classes."""
    labels = np.asarray(read_labels, dtype=np.int64)
    present = np.unique(labels)
    if len(present) < 2:
        raise GanaugError(f"{root} has readable images in only one class ({class_dirs[present[0]].name}); need at least two")
    skipped += [(str(d), "a class folder with no readable image: not a class") for c, d in enumerate(class_dirs)
                if c not in set(present.tolist())]
    remap = {old: new for new, old in enumerate(present)}
    return np.asarray([remap[c] for c in labels], dtype=np.int64), [class_dirs[c].name for c in present]
