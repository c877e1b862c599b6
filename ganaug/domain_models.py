"""The dataset's domain models, built from its real train split once and kept: the feature extractor that every
metric reads its features from, the UMAP embedding of those features, and per process the real side the scores
compare against (the training images' features and the pixel copy check's prepared images).

Artifacts live under GANAUG_HOME/models/<dataset>/: `feature_extractor.pt` and `embedding.npz`, each beside a JSON
file recording its sha256 and what it was built from (the dataset arrays' sha256; the extractor's sha256 and the
feature code's digest). A stale or missing record means "build again"; a file that no longer matches its recorded
hash is refused. Neither reads the test split.

The real side a batch is measured against is kept there too, so a new process reads it instead of computing it: the
training features and their radii (`train_features-<side>.npy`, `train_radii-<side>.npy`), the held-out split's
features for the metrics' reference (`val_features-<side>.npy`, or `test_features-<side>.npy` where a dataset has no
'val' split: a reported number only, as in metric_main) and the pixel copy check's prepared training images
(`pixel_bank-<side>-images.npy` and `-coarse.npy`). Each has a record naming what it was computed from: the arrays'
sha256, the side, the extractor's sha256 (for features) and a digest of the code that computes it (`code_digest`), so
an edit of that code is never answered with stale values; and each file's sha256. Being derived, one that does not
match its record is computed again, not refused.
"""

from __future__ import annotations

import hashlib
import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from sqlalchemy import select, update

from db.engine import session_scope
from db.models import Dataset, RealImage
from ganaug_core import paths
from ganaug_core.errors import GanaugError
from ganaug_core.imageio import sha256_file
from ganaug_core.progress import ProgressCallback, no_progress

EXTRACTOR_STEPS = 400  # ≈ 15–27 s on one CPU core for the 16×16 demo; accuracy 1.0 on training images it
# did not see (benchmarks/evaluation.py); the test split is never read to choose it
EXTRACTOR_SEED = 0
EMBEDDING_SEED = 0

_lock = threading.Lock()
_extractors: dict[tuple[str, str], object] = {}  # (path, sha256) → FeatureExtractor, so a process loads it once
_real_features: dict[tuple[str, str, int, str], np.ndarray] = {}  # (extractor sha256, arrays sha256, side, split)
# → the split's features, its images brought to that side's footing (rescale.as_generated); the FEATURES_KEPT
# last used, oldest first
FEATURES_KEPT = 6  # the training and held-out features of a dataset's own side and its generator's, and of one more
# dataset: a worker that scores batches of many datasets keeps these only (≈ 13 MB each at 50,000 images of 64
# features)
_real_radii: dict[tuple[str, str, int, str], np.ndarray] = {}  # the training keys → each feature's distance to its
# nearest other (authenticity's yardstick), kept as the features are
_pixel_banks: dict[tuple[str, int], object] = {}  # (arrays sha256, side) → the pixel copy check's real side

# The sources whose code computes what is kept on disk (paths under the repository root): a change to any of them
# changes `code_digest`, and values stored under another digest are computed again. Whole files, comments included:
# an edit costs one recomputation (with the map, 4 min 14 s for 9,600 64² training images on a busy 2-core machine;
# ≈ 10 min at 48,000 by the times in BENCHMARKS.md), a stale value would cost wrong scores.
FEATURE_CODE = ("ganaug_core/features.py", "ganaug_core/rescale.py", "ganaug_core/metrics/neighbours.py")
PIXEL_CODE = ("ganaug_core/rescale.py", "ganaug_core/metrics/pixel_copies.py", "ganaug_core/metrics/pixel_align.py",
              "ganaug_core/metrics/pixel_crops.py")


@lru_cache(maxsize=None)
def code_digest(files: tuple[str, ...]) -> str:
    """sha256 of `files`' names and bytes (FEATURE_CODE, PIXEL_CODE), read once per process."""
    root = Path(paths.__file__).resolve().parent.parent
    h = hashlib.sha256()
    for name in files:
        h.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return h.hexdigest()


def _folder(dataset: str) -> Path:
    return paths.models_dir() / dataset


def _exclusive(folder: Path, name: str):
    """One builder at a time across threads and processes (the worker and a CLI call may both start one);
    the waiting one then finds the finished artifact and reuses it."""
    return paths.file_lock(folder / f".{name}.lock")


def _read_record(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_record(path: Path, record: dict) -> None:
    paths.write_atomically(path, json.dumps(record, indent=2, sort_keys=True))


def _dataset_row(dataset: str) -> Dataset:
    from db.datasets import get_dataset

    with session_scope() as session:
        return get_dataset(session, dataset)


def ensure_feature_extractor(
    dataset: str, progress: ProgressCallback = no_progress, steps: int = EXTRACTOR_STEPS, arrays=None
):
    """The dataset's domain feature extractor and its path, trained on the real train split the first time.

    `steps` only matters when no extractor exists yet (tests train a short one; it is then reused as is).
    `arrays`: the dataset's (`dataset_arrays`), where the caller holds them already. An extractor that exists is
    checked against the arrays' sha256 recorded in the database, so the pixels are read only to train one: read each
    time, a dataset of 60,000 64² images cost 737 MB and 5–20 s more per call (the sha256 alone 4.7 s), several calls
    per scoring and one in the Review page's request for a sample's nearest images.
    """
    row = _dataset_row(dataset)
    folder = _folder(dataset)
    # Every scoring of the dataset starts here: what saves killed outright left in its folder goes (270 kB for an
    # extractor's temporary file, a map's and a pixel bank's far more), as `runs prune` removes it too.
    paths.left_by_dead_writers(folder, remove=True)
    from ganaug_core.features import FeatureExtractor, train_feature_extractor  # torch: a few seconds the first time

    path, record_path = folder / "feature_extractor.pt", folder / "feature_extractor.json"
    with _exclusive(folder, "extractor"):
        record = _read_record(record_path)
        if _extractor_current(record, path, row):
            actual = sha256_file(path)
            if actual != record["sha256"]:
                raise GanaugError(
                    f"{path} does not match its recorded sha256 (changed on disk?); delete {folder} to retrain it"
                )
            key = (str(path), actual)
            if key not in _extractors:
                _extractors[key] = FeatureExtractor.load(path)
            return _extractors[key], path
        if arrays is None:
            from ganaug.datasets import dataset_arrays

            row, arrays = dataset_arrays(dataset)
        images, labels = arrays.split("train")  # never the test split
        extractor = train_feature_extractor(images, labels, arrays.num_classes, EXTRACTOR_SEED, steps, progress=progress)
        sha = extractor.save(path)
        write_record(record_path, {"sha256": sha, "arrays_sha256": row.arrays_sha256, "dataset": dataset,
                                    "split": "train", **extractor.meta})
        _extractors[(str(path), sha)] = extractor
        return extractor, path


def _extractor_current(record: Optional[dict], path: Path, row) -> bool:
    """Whether the extractor kept at `path` (its `record`) was fitted on the dataset's arrays as they are now."""
    return bool(record) and path.exists() and record.get("arrays_sha256") == row.arrays_sha256


def extractor_fitted(dataset: str) -> bool:
    """Whether `ensure_feature_extractor` would reuse a kept extractor rather than train one: its record alone, the
    file unhashed (the benchmark's time estimate asks before it starts)."""
    folder = _folder(dataset)
    return _extractor_current(_read_record(folder / "feature_extractor.json"), folder / "feature_extractor.pt",
                              _dataset_row(dataset))


def extractor_info(dataset: str) -> dict:
    folder = _folder(dataset)
    record = _read_record(folder / "feature_extractor.json")
    if record is None:
        raise GanaugError(f"dataset {dataset!r} has no feature extractor yet: run `ganaug evaluate features --dataset {dataset}`")
    return {"path": str(folder / "feature_extractor.pt"), **record}


def extractor_sha(path: Path) -> str:
    return _read_record(path.with_suffix(".json"))["sha256"]


class _HashingReader:
    """A file read through numpy's .npy reader, hashing every byte it hands over: the array is loaded from the very
    bytes that are checked (a file replaced meanwhile cannot slip in), without holding the file's bytes beside it
    (a 600 MB pixel bank would take twice that)."""

    def __init__(self, f):
        self.f, self.sha = f, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.sha.update(data)
        return data


def _read_checked(path: Path, sha256: Optional[str]) -> Optional[np.ndarray]:
    """The array in the .npy file `path` (allow_pickle=False), or None when its bytes are not those of `sha256`."""
    try:
        with open(path, "rb") as f:
            reader = _HashingReader(f)
            value = np.lib.format.read_array(reader, allow_pickle=False)
            reader.read()  # anything after the array counts too
    except (OSError, ValueError, EOFError, MemoryError):  # MemoryError: a header that claims more than is there
        return None
    return value if reader.sha.hexdigest() == sha256 else None


def _stored(dataset: str, name: str, wanted: dict, compute: Callable[[], dict]) -> dict:
    """`compute()`'s arrays ({part: array}), kept in the dataset's models folder for the next process (a second
    `evaluate batch` in a new process spent ≈ 4 min on 48,000 training images' features and radii). Read only where
    the record names the same `wanted` inputs (arrays, side, extractor, code) and each file's bytes match its
    recorded sha256; else computed and stored again. Files: `<name>-<side>.npy` for a single part "", else
    `<name>-<side>-<part>.npy`."""
    folder = _folder(dataset)
    stem = f"{name}-{wanted['side']}"
    record_path = folder / f"{stem}.json"
    record = _read_record(record_path)
    if record and all(record.get(k) == v for k, v in wanted.items()) and isinstance(record.get("sha256"), dict):
        found: Optional[dict] = {}
        for part, sha in record["sha256"].items():
            found[part] = _read_checked(folder / _file_name(stem, part), sha)
            if found[part] is None:
                found = None  # the parts read so far go before computing (a bank's images: 590 MB at 48,000)
                break
        if found:
            return found
    value = compute()
    shas = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for part, array in value.items():
            path = folder / _file_name(stem, part)
            # A racing writer's record may then name the other file: a mismatch, recomputed.
            with paths.written_beside(path) as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, array, allow_pickle=False)
                shas[part] = sha256_file(tmp)
        write_record(record_path, {"sha256": shas, **wanted})
    except OSError:  # a full disk costs the next process the time, not this scoring its result
        pass
    return value


def _file_name(stem: str, part: str) -> str:
    return f"{stem}-{part}.npy" if part else f"{stem}.npy"


def _key(extractor_path: Path, row: Dataset, gen_side: Optional[int], split: str) -> tuple[str, str, int, str]:
    return (extractor_sha(extractor_path), row.arrays_sha256, min(gen_side or row.resolution, row.resolution), split)


def _wanted(key: tuple[str, str, int, str]) -> dict:
    return {"extractor_sha256": key[0], "arrays_sha256": key[1], "side": key[2], "split": key[3],
            "feature_code": code_digest(FEATURE_CODE)}


def _kept(cache: dict, key: tuple, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """`cache[key]`, else `compute()`; now the last used of the FEATURES_KEPT kept."""
    with _lock:
        value = cache.pop(key, None)
        if value is None:
            value = compute()
        cache[key] = value
        while len(cache) > FEATURES_KEPT:
            del cache[next(iter(cache))]
        return value


def train_features(dataset: str, extractor, extractor_path: Path, row: Dataset, images: np.ndarray,
                   gen_side: Optional[int] = None) -> np.ndarray:
    """Features of the training `images`, as rescale.as_generated(…, gen_side) gave them (None: as stored),
    once per process and kept on disk: each batch's scores and metrics read them (≈ 10 s for 10,000 32×32 colour
    images on 2 cores)."""
    return split_features(dataset, extractor, extractor_path, row, "train", lambda: images, gen_side)


def split_features(dataset: str, extractor, extractor_path: Path, row: Dataset, split: str,
                   images: Callable[[], np.ndarray], gen_side: Optional[int] = None) -> np.ndarray:
    """Features of the `split`'s images (`images()`, as rescale.as_generated(…, gen_side) gives them, asked
    only when they are computed), kept as the training features are: each batch's metrics computed the held-out
    split's again (12,000 64² images at 60,000)."""
    key = _key(extractor_path, row, gen_side, split)
    return _kept(_real_features, key, lambda: _stored(
        dataset, f"{split}_features", _wanted(key), lambda: {"": extractor.features(images())})[""])


def train_radii(extractor_path: Path, row: Dataset, features: np.ndarray, gen_side: Optional[int] = None) -> np.ndarray:
    """Each training feature's distance to its nearest other (`train_features`' features, the same key), once per
    process and kept on disk: 75 s for 48,000 training images on 2 cores, once recomputed for every batch a worker
    scored."""
    from ganaug_core.metrics.neighbours import kth_neighbour_radii

    key = _key(extractor_path, row, gen_side, "train")
    return _kept(_real_radii, key, lambda: _stored(
        row.name, "train_radii", _wanted(key), lambda: {"": kth_neighbour_radii(features, 1)})[""])


def pixel_bank(row: Dataset, images: np.ndarray, gen_side: int):
    """The pixel copy check's real side (pixel_copies.prepare_real) of the training `images`, as
    rescale.as_generated(…, gen_side) gave them, prepared once per process and kept on disk
    (`pixel_bank-<side>-*.npy`, ≈ 1.1 × the images' pixels at ≤ 32² in float32): a new process prepared it again
    (3.0–3.5 s for 9,600 64² training images; read, 0.2–0.4 s). Only the last dataset's is kept in memory: 127 MiB at
    10,000 32×32 colour images, 635 MiB at 50,000."""
    from ganaug_core.metrics.pixel_copies import RealBank, bank_digest, prepare_real

    side = min(gen_side, row.resolution)
    key = (row.arrays_sha256, side)
    wanted = {"arrays_sha256": row.arrays_sha256, "side": side, "split": "train", "pixel_code": code_digest(PIXEL_CODE)}

    made = []

    def prepared() -> dict:
        made.append(prepare_real(images))
        return {"images": made[0].images, "coarse": made[0].coarse}

    with _lock:
        if key not in _pixel_banks:
            _pixel_banks.clear()  # before preparing or reading: never two banks at once
            parts = _stored(row.name, "pixel_bank", wanted, prepared)
            if not made:
                for a in parts.values():
                    a.setflags(write=False)  # a bank is shared by every check that reads it
                made.append(RealBank(images=parts["images"], coarse=parts["coarse"], digest=bank_digest(images)))
            _pixel_banks[key] = made[0]
        return _pixel_banks[key]


def real_ids(session, row: Dataset, arrays) -> np.ndarray:
    """RealImage ids aligned with the dataset's arrays (ingestion inserts the rows in array order, and names each
    file after its array index: both are checked)."""
    rows = session.execute(
        select(RealImage.id, RealImage.split, RealImage.class_index, RealImage.path)
        .where(RealImage.dataset_id == row.id).order_by(RealImage.id)
    ).all()
    stems = [Path(p).stem for *_, p in rows]
    if len(rows) != len(arrays.labels) or any(
        s != str(arrays.splits[i]) or c != int(arrays.labels[i]) or (stems[i].isdigit() and int(stems[i]) != i)
        for i, (_, s, c, _p) in enumerate(rows)
    ):
        raise GanaugError(f"dataset {row.name!r}: the image rows in the database do not match its arrays.npz")
    return np.array([r[0] for r in rows], dtype=np.int64)


def train_ids(session, row: Dataset, arrays) -> np.ndarray:
    return real_ids(session, row, arrays)[arrays.splits == "train"]


def ensure_embedding(dataset: str, progress: ProgressCallback = no_progress) -> dict:
    """Fit (once) the UMAP of the real training features and store each training image's coordinates.

    Slow on an installation's first fit (numba compiles UMAP, ~30 s; later processes load it) and for a large
    dataset: call it from the CLI or the worker only, never in a web request.
    """
    return fitted_embedding(dataset, progress)[1]


def fitted_embedding(dataset: str, progress: ProgressCallback, arrays=None):
    """`arrays`: the dataset's (`dataset_arrays`) where the caller holds them already (ensure_feature_extractor)."""
    from ganaug.datasets import dataset_arrays
    from ganaug_core.embedding import Embedding, fit_embedding

    if arrays is None:
        row, arrays = dataset_arrays(dataset)
    else:
        row = _dataset_row(dataset)
    extractor, extractor_path = ensure_feature_extractor(dataset, progress, arrays=arrays)
    folder = _folder(dataset)
    path, record_path = folder / "embedding.npz", folder / "embedding.json"
    ext_sha, code = extractor_sha(extractor_path), code_digest(FEATURE_CODE)
    with _exclusive(folder, "embedding"):
        record = _read_record(record_path)
        # The map holds the features it was fitted on, and places a batch by its features' nearest: features from
        # another feature code would be placed against stale ones.
        if (record and path.exists() and record.get("extractor_sha256") == ext_sha
                and record.get("feature_code") == code):
            if sha256_file(path) != record["sha256"]:
                raise GanaugError(f"{path} does not match its recorded sha256; delete it to refit the embedding")
            embedding = Embedding.load(path)
        else:
            images, _ = arrays.split("train")
            if len(images) < 4:
                raise GanaugError(f"dataset {dataset!r} has {len(images)} training images; an embedding needs 4")
            features = train_features(dataset, extractor, extractor_path, row, images)
            embedding = fit_embedding(features, seed=EMBEDDING_SEED, progress=progress)
            record = {"sha256": embedding.save(path), "extractor_sha256": ext_sha, "feature_code": code,
                      "seed": EMBEDDING_SEED, "points": int(len(features))}
            write_record(record_path, record)
        with session_scope(immediate=True) as session:
            ids = train_ids(session, row, arrays)
            missing = session.scalar(
                select(RealImage.id).where(RealImage.dataset_id == row.id, RealImage.split == "train",
                                           RealImage.emb_x.is_(None)).limit(1)
            )
            if missing is not None or not record.get("written"):
                session.execute(update(RealImage), [
                    {"id": int(i), "emb_x": float(x), "emb_y": float(y)} for i, (x, y) in zip(ids, embedding.coords)
                ])
        if not record.get("written"):  # this fit's coordinates are on the rows now; later calls skip the update
            record["written"] = True
            write_record(record_path, record)
    return embedding, {"path": str(path), "sha256": record["sha256"], "points": int(len(embedding.coords))}
