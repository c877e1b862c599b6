"""The dataset's domain models, built from its real train split once and kept: the feature extractor that every
metric reads its features from, the UMAP embedding of those features, and per process the real side the scores
compare against (the training images' features and the pixel copy check's prepared images).

Artifacts live under GANAUG_HOME/models/<dataset>/: `feature_extractor.pt` and `embedding.npz`, each beside a JSON
file recording its sha256 and what it was built from (the dataset arrays' sha256, the extractor's sha256). A
stale or missing record means "build again"; a file that no longer matches its recorded hash is refused. The test
split is never read. The training features and their radii are kept there too (`train_features-<side>.npy`,
`train_radii-<side>.npy`, each with its record), so a new process reads them instead of computing them; being
derived, one that does not match its record is computed again, not refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import uuid
from pathlib import Path
from typing import Optional

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
_real_features: dict[tuple[str, str, int], np.ndarray] = {}  # (extractor sha256, arrays sha256, side) → train
# features, the images brought to that side's footing (evaluation._as_generated); the FEATURES_KEPT last used,
# oldest first
FEATURES_KEPT = 3  # a dataset's own side and its generator's, and one more dataset: a worker that scores batches
# of many datasets keeps these only (≈ 13 MB each at 50,000 images of 64 features)
_real_radii: dict[tuple[str, str, int], np.ndarray] = {}  # the same keys → each feature's distance to its nearest
# other (authenticity's yardstick), kept as the features are
_pixel_banks: dict[tuple[str, int], object] = {}  # (arrays sha256, side) → the pixel copy check's real side


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
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")  # unique: writers may race
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True))
    tmp.replace(path)


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
    from ganaug_core.features import FeatureExtractor, train_feature_extractor

    row = _dataset_row(dataset)
    folder = _folder(dataset)
    path, record_path = folder / "feature_extractor.pt", folder / "feature_extractor.json"
    with _exclusive(folder, "extractor"):
        record = _read_record(record_path)
        if record and path.exists() and record.get("arrays_sha256") == row.arrays_sha256:
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


def extractor_info(dataset: str) -> dict:
    folder = _folder(dataset)
    record = _read_record(folder / "feature_extractor.json")
    if record is None:
        raise GanaugError(f"dataset {dataset!r} has no feature extractor yet: run `ganaug evaluate features --dataset {dataset}`")
    return {"path": str(folder / "feature_extractor.pt"), **record}


def extractor_sha(path: Path) -> str:
    return _read_record(path.with_suffix(".json"))["sha256"]


def _stored(dataset: str, name: str, key: tuple[str, str, int], compute) -> np.ndarray:
    """`compute()`, kept in the dataset's models folder for the next process (a second `evaluate batch` in a new
    process spent ≈ 4 min on 48,000 training images' features and radii). Read only where its record names the same
    extractor, arrays and side and its bytes match the recorded sha256; else computed and stored again."""
    folder = _folder(dataset)
    path, record_path = folder / f"{name}-{key[2]}.npy", folder / f"{name}-{key[2]}.json"
    wanted = {"extractor_sha256": key[0], "arrays_sha256": key[1], "side": key[2]}
    record = _read_record(record_path)
    if record and all(record.get(k) == v for k, v in wanted.items()):
        try:
            data = path.read_bytes()  # hashed and loaded from the same bytes: the file may be replaced meanwhile
            if hashlib.sha256(data).hexdigest() == record.get("sha256"):
                return np.load(io.BytesIO(data), allow_pickle=False)
        except (OSError, ValueError):
            pass
    value = compute()
    buf = io.BytesIO()
    np.save(buf, value, allow_pickle=False)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")  # unique: writers may race
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(buf.getvalue())
        tmp.replace(path)  # a racing writer's record may then name the other file: a mismatch, so computed again
        write_record(record_path, {"sha256": hashlib.sha256(buf.getvalue()).hexdigest(), **wanted})
    except OSError:  # a full disk costs the next process the time, not this scoring its result
        tmp.unlink(missing_ok=True)
    return value


def train_features(dataset: str, extractor, extractor_path: Path, row: Dataset, images: np.ndarray,
                   gen_side: Optional[int] = None) -> np.ndarray:
    """Features of the training `images`, as evaluation._as_generated(…, gen_side) gave them (None: as stored),
    once per process and kept on disk: each batch's scores and metrics read them (≈ 10 s for 10,000 32×32 colour
    images on 2 cores)."""
    key = (extractor_sha(extractor_path), row.arrays_sha256, min(gen_side or row.resolution, row.resolution))
    with _lock:
        features = _real_features.pop(key, None)
        if features is None:
            features = _stored(dataset, "train_features", key, lambda: extractor.features(images))
        _real_features[key] = features  # now the last used
        while len(_real_features) > FEATURES_KEPT:
            del _real_features[next(iter(_real_features))]
        return features


def train_radii(extractor_path: Path, row: Dataset, features: np.ndarray, gen_side: Optional[int] = None) -> np.ndarray:
    """Each training feature's distance to its nearest other (`train_features`' features, the same key), once per
    process and kept on disk: 75 s for 48,000 training images on 2 cores, once recomputed for every batch a worker
    scored."""
    from ganaug_core.metrics.neighbours import kth_neighbour_radii

    key = (extractor_sha(extractor_path), row.arrays_sha256, min(gen_side or row.resolution, row.resolution))
    with _lock:
        radii = _real_radii.pop(key, None)
        if radii is None:
            radii = _stored(row.name, "train_radii", key, lambda: kth_neighbour_radii(features, 1))
        _real_radii[key] = radii  # now the last used
        while len(_real_radii) > FEATURES_KEPT:
            del _real_radii[next(iter(_real_radii))]
        return radii


def pixel_bank(row: Dataset, images: np.ndarray, gen_side: int):
    """The pixel copy check's real side (pixel_copies.prepare_real) of the training `images`, as
    evaluation._as_generated(…, gen_side) gave them, prepared once per process. Only the last dataset's is kept: it
    holds ≈ 1.1 × the images' pixels in float32 (127 MiB at 10,000 32×32 colour images, 635 MiB at 50,000)."""
    from ganaug_core.metrics.pixel_copies import prepare_real

    key = (row.arrays_sha256, min(gen_side, row.resolution))
    with _lock:
        if key not in _pixel_banks:
            _pixel_banks.clear()  # before preparing: never two banks at once
            _pixel_banks[key] = prepare_real(images)
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

    Slow the first time in a process (numba compiles UMAP, ~30 s): call it from the CLI or the worker only.
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
    ext_sha = extractor_sha(extractor_path)
    with _exclusive(folder, "embedding"):
        record = _read_record(record_path)
        if record and path.exists() and record.get("extractor_sha256") == ext_sha:
            if sha256_file(path) != record["sha256"]:
                raise GanaugError(f"{path} does not match its recorded sha256; delete it to refit the embedding")
            embedding = Embedding.load(path)
        else:
            images, _ = arrays.split("train")
            if len(images) < 4:
                raise GanaugError(f"dataset {dataset!r} has {len(images)} training images; an embedding needs 4")
            features = train_features(dataset, extractor, extractor_path, row, images)
            embedding = fit_embedding(features, seed=EMBEDDING_SEED, progress=progress)
            record = {"sha256": embedding.save(path), "extractor_sha256": ext_sha, "seed": EMBEDDING_SEED,
                      "points": int(len(features))}
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
