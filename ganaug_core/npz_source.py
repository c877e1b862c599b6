"""Reading an .npz dataset source: images and labels arrays, or MedMNIST's train/val/test ones with their splits.

`read_npz` returns what the other readers return (`ganaug_core.dataset_sources`), with the file's own split where it
has a test one. Its arrays' declared sizes are checked before any is loaded: a compressed .npz inflates without a
limit of its own.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from ganaug_core.dataset_sources import FolderFindings, far_from_square, source_side, split_sets, stratified_test_mask
from ganaug_core.errors import GanaugError

if TYPE_CHECKING:
    from ganaug_core.datasets import IngestOptions

SPLITS = ("train", "val", "test")  # MedMNIST's arrays: train_images, val_images, test_images
# What the arrays an .npz ingest loads (images and labels) may declare in all: a compressed file inflates without a
# limit of its own (2.5 MB took 2.6 GB). 2 GiB holds 100,000 64×64 colour images (1.2 GB of uint8) with room; the
# peak is up to 3× the declared size for float images (their scaled copy; measured 2026-12-07: 983 MB of float32 took
# 3.0 GB, 246 MB of uint8 0.58 GB), so a file at the limit takes at most ≈ 6 GB.
NPZ_MAX_BYTES = 2 << 30


def _npz_headers(path: Path) -> dict[str, tuple[tuple, np.dtype]]:
    """Array shapes and dtypes from the .npy headers inside the zip, read before any array is loaded (or inflated).

    Keyed as `np.load` finds them: its `data["images"]` reads a member named "images" where one is there, before
    "images.npy". With both in a file, only "images.npy" was checked and the other loaded: 4 MB declaring 20 images
    took 4 GB. A name held twice is refused, and a member without the .npy suffix is checked like one with it."""
    headers, seen = {}, set()
    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                key = name.removesuffix(".npy")
                if key in seen:
                    raise GanaugError(f"{path} holds two members named {key!r} (with and without .npy, or twice): "
                                      "refusing a file whose arrays are not what they seem")
                seen.add(key)
                with zf.open(name) as f:
                    if f.read(len(np.lib.format.MAGIC_PREFIX)) != np.lib.format.MAGIC_PREFIX:
                        continue  # not an array (np.load hands back its bytes): never one of those read below
                    f.seek(0)
                    version = np.lib.format.read_magic(f)
                    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                    shape, _, dtype = read(f)
                    if dtype.hasobject:
                        raise GanaugError(f"{path}: array {key} holds Python objects; only numeric arrays are accepted")
                    headers[key] = (shape, dtype)
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


def read_npz(path: Path, options: IngestOptions, found: Optional[FolderFindings] = None):
    """`found`, if given, receives the images' copy sets (`FolderFindings.sets`), also where the file's own split
    is kept: the ingest names the near-copies it puts on both sides."""
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
    sets = split_sets(pixels, sizes)
    if found is not None:
        found.sets = sets
    if not (splits == "test").any():
        # Images identical after conversion, and near-copies, stay on one side (the folder's rule: `split_sets`)
        test = stratified_test_mask(labels, options.test_fraction, options.seed, sets)
        splits = np.where(test, "test", np.where(splits == "all", "train", splits)).astype("<U5")
    present = np.unique(labels)
    if len(present) < 2:
        raise GanaugError(f"{path} has only one class ({present[0]}); need at least two")
    # Classes renumbered 0..K-1 in the order of their labels, by search: a table indexed by label value took
    # label-sized memory (labels [0, 2**40]: 8 TiB).
    stretched = [(src, w, h) for src, (w, h) in zip(sources, sizes) if far_from_square(w, h)]
    return pixels, np.searchsorted(present, labels), splits, sources, [str(c) for c in present], [], source_side(sizes), stretched
