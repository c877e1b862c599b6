"""Evaluation orchestration: the dataset's feature extractor and embedding, per-sample scores, batch metrics.

Artifacts live under GANAUG_HOME/models/<dataset>/: `feature_extractor.pt` and `embedding.npz`, each beside a JSON
file recording its sha256 and what it was built from (the dataset arrays' sha256, the extractor's sha256). A
stale or missing record means "build again"; a file that no longer matches its recorded hash is refused.
Scores, memorization flags, nearest real ids and map coordinates are written onto the Sample rows in one
transaction per batch; batch metrics go to GANAUG_HOME/reports/batches/<id>/metrics.json with a Report row.
A job's `should_stop` is asked between stages and at each report of the feature extractor's training: a stop raises
`ScoringStopped` before the next stage, so a batch's scores are stored whole or not at all.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from sqlalchemy import select, update

from db.engine import session_scope
from db.models import Batch, Dataset, RealImage, Report, Run, Sample
from ganaug_core import paths
from ganaug_core.errors import GanaugError
from ganaug_core.imageio import read_png, sha256_bytes, sha256_file
from ganaug_core.memory import keep_freed_memory
from ganaug_core.progress import Progress, ProgressCallback, no_progress, stop_if, stopping_at_reports

EXTRACTOR_STEPS = 400  # ≈ 15–27 s on one CPU core for the 16×16 demo; accuracy 1.0 on training images it
# did not see (benchmarks/evaluation.py); the test split is never read to choose it
EXTRACTOR_SEED = 0
EMBEDDING_SEED = 0

_lock = threading.Lock()
_extractors: dict[tuple[str, str], object] = {}  # (path, sha256) → FeatureExtractor, so a process loads it once
_real_features: dict[tuple[str, str, int], np.ndarray] = {}  # (extractor sha256, arrays sha256, side) → train
# features, the images brought to that side's footing (_as_generated); the FEATURES_KEPT last used, oldest first
FEATURES_KEPT = 3  # a dataset's own side and its generator's, and one more dataset: a worker that scores batches
# of many datasets keeps these only (≈ 13 MB each at 50,000 images of 64 features)
_pixel_banks: dict[tuple[str, int], object] = {}  # (arrays sha256, side) → the pixel copy check's real side


class ScoringStopped(InterruptedError):
    """Scoring stopped on request at a safe point; the message says what it finished and what not."""


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


def _write_record(path: Path, record: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")  # unique: writers may race
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True))
    tmp.replace(path)


def ensure_feature_extractor(
    dataset: str, progress: ProgressCallback = no_progress, steps: int = EXTRACTOR_STEPS
):
    """The dataset's domain feature extractor and its path, trained on the real train split the first time.

    `steps` only matters when no extractor exists yet (tests train a short one; it is then reused as is).
    """
    from ganaug.datasets import dataset_arrays
    from ganaug_core.features import FeatureExtractor, train_feature_extractor

    row, arrays = dataset_arrays(dataset)
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
        images, labels = arrays.split("train")  # never the test split
        extractor = train_feature_extractor(images, labels, arrays.num_classes, EXTRACTOR_SEED, steps, progress=progress)
        sha = extractor.save(path)
        _write_record(record_path, {"sha256": sha, "arrays_sha256": row.arrays_sha256, "dataset": dataset,
                                    "split": "train", **extractor.meta})
        _extractors[(str(path), sha)] = extractor
        return extractor, path


def extractor_info(dataset: str) -> dict:
    folder = _folder(dataset)
    record = _read_record(folder / "feature_extractor.json")
    if record is None:
        raise GanaugError(f"dataset {dataset!r} has no feature extractor yet: run `ganaug evaluate features --dataset {dataset}`")
    return {"path": str(folder / "feature_extractor.pt"), **record}


def _extractor_sha(path: Path) -> str:
    return _read_record(path.with_suffix(".json"))["sha256"]


def _train_features(dataset: str, extractor, extractor_path: Path, row: Dataset, images: np.ndarray,
                    gen_side: Optional[int] = None) -> np.ndarray:
    """Features of the training `images`, as _as_generated(…, gen_side) gave them (None: as stored), once per
    process: each batch's scores and metrics read them (≈ 10 s for 10,000 32×32 colour images on 2 cores)."""
    key = (_extractor_sha(extractor_path), row.arrays_sha256, min(gen_side or row.resolution, row.resolution))
    with _lock:
        features = _real_features.pop(key, None)
        if features is None:
            features = extractor.features(images)
        _real_features[key] = features  # now the last used
        while len(_real_features) > FEATURES_KEPT:
            del _real_features[next(iter(_real_features))]
        return features


def _pixel_bank(row: Dataset, images: np.ndarray, gen_side: int):
    """The pixel copy check's real side (pixel_copies.prepare_real) of the training `images`, as
    _as_generated(…, gen_side) gave them, prepared once per process. Only the last dataset's is kept: it holds
    ≈ 1.1 × the images' pixels in float32 (127 MiB at 10,000 32×32 colour images, 635 MiB at 50,000)."""
    from ganaug_core.metrics.pixel_copies import prepare_real

    key = (row.arrays_sha256, min(gen_side, row.resolution))
    with _lock:
        if key not in _pixel_banks:
            _pixel_banks.clear()  # before preparing: never two banks at once
            _pixel_banks[key] = prepare_real(images)
        return _pixel_banks[key]


def _real_ids(session, row: Dataset, arrays) -> np.ndarray:
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


def _train_ids(session, row: Dataset, arrays) -> np.ndarray:
    return _real_ids(session, row, arrays)[arrays.splits == "train"]


def ensure_embedding(dataset: str, progress: ProgressCallback = no_progress) -> dict:
    """Fit (once) the UMAP of the real training features and store each training image's coordinates.

    Slow the first time in a process (numba compiles UMAP, ~30 s): call it from the CLI or the worker only.
    """
    return _ensure_embedding(dataset, progress)[1]


def _ensure_embedding(dataset: str, progress: ProgressCallback):
    from ganaug.datasets import dataset_arrays
    from ganaug_core.embedding import Embedding, fit_embedding

    extractor, extractor_path = ensure_feature_extractor(dataset, progress)
    row, arrays = dataset_arrays(dataset)
    folder = _folder(dataset)
    path, record_path = folder / "embedding.npz", folder / "embedding.json"
    ext_sha = _extractor_sha(extractor_path)
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
            features = _train_features(dataset, extractor, extractor_path, row, images)
            embedding = fit_embedding(features, seed=EMBEDDING_SEED, progress=progress)
            record = {"sha256": embedding.save(path), "extractor_sha256": ext_sha, "seed": EMBEDDING_SEED,
                      "points": int(len(features))}
            _write_record(record_path, record)
        with session_scope(immediate=True) as session:
            ids = _train_ids(session, row, arrays)
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
            _write_record(record_path, record)
    return embedding, {"path": str(path), "sha256": record["sha256"], "points": int(len(embedding.coords))}


def _load_batch(batch_id: int) -> tuple[Batch, str, list[Sample], int]:
    """The batch, its dataset's name, its samples and the side its generator worked at."""
    with session_scope() as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise GanaugError(f"unknown batch {batch_id}")
        dataset = session.get(Dataset, batch.dataset_id).name
        samples = list(session.scalars(select(Sample).where(Sample.batch_id == batch_id).order_by(Sample.id)))
        gen_side = _generator_side(session, batch)
    if not samples:
        raise GanaugError(f"batch {batch_id} has no samples")
    return batch, dataset, samples, gen_side


def _generator_side(session, batch: Batch) -> int:
    """The side the batch's generator worked at (the dataset's when its run's config does not say)."""
    side = (session.get(Run, batch.run_id).config or {}).get("resolution")
    return int(side) if side else int(session.get(Dataset, batch.dataset_id).resolution)


def _sample_images(samples: list[Sample], row: Dataset) -> np.ndarray:
    """The samples' pixels, each PNG checked against its recorded sha256 (uint8 (N, C, side, side))."""
    images = []
    for s in samples:
        path = paths.resolve(s.path)
        try:
            data = path.read_bytes()
        except OSError:
            raise GanaugError(f"sample {s.id}: {path} is missing") from None
        if sha256_bytes(data) != s.sha256:
            raise GanaugError(f"sample {s.id}: {path} does not match its recorded sha256")
        img = read_png(path)
        if img.shape[0] != row.channels or img.shape[1] != img.shape[2] or img.shape[1] > row.resolution:
            raise GanaugError(
                f"sample {s.id} is {img.shape} but dataset {row.name!r} holds {row.channels}×{row.resolution}×{row.resolution} images"
            )
        images.append(img)
    if len({im.shape for im in images}) > 1:
        raise GanaugError("the batch mixes image sizes")
    return np.stack(images)


def _as_generated(real: np.ndarray, resolution: int, gen_side: int) -> np.ndarray:
    """Real images brought to the footing of samples from a generator that worked at `gen_side`.

    A generator may work below the dataset's side; it was trained on area-downsampled real images, and its samples
    are stored upsampled to the dataset's side (`upsample_images`). Real images take the same path — down as the
    generator saw them, back up by the same function — so a copy of a training image is still an exact copy.
    Samples themselves go through `upsample_images` too: a no-op for those stored at the dataset's side, and the
    same path for batches generated before samples were.
    """
    from ganaug_core.rescale import resize_images, upsample_images

    return real if gen_side >= resolution else upsample_images(resize_images(real, gen_side), resolution)


def _stored_summary(batch_id: int) -> dict:
    with session_scope() as session:
        rows = session.execute(
            select(Sample.class_confidence, Sample.realism, Sample.novelty, Sample.memorized)
            .where(Sample.batch_id == batch_id)
        ).all()
    conf, real, nov, mem = (np.array(col, dtype=float) for col in zip(*rows))
    return {"samples": len(rows), "memorized": int(mem.sum()), "mean_confidence": float(np.mean(conf)),
            "mean_realism": float(np.mean(real)), "median_novelty": float(np.median(nov))}


def score_batch(batch_id: int, progress: ProgressCallback = no_progress, rescore: bool = False,
                should_stop: Optional[Callable[[], bool]] = None) -> dict:
    """Score every sample of a batch and store the scores, flags, nearest real ids and map coordinates, in one
    transaction: `should_stop()` is asked before each stage and the write, never between two samples' rows."""
    from ganaug.datasets import dataset_arrays
    from ganaug_core.scoring import score_samples
    from ganaug_core.rescale import upsample_images

    batch, dataset, samples, gen_side = _load_batch(batch_id)
    if batch.scores_computed and not rescore:
        return {"batch": batch_id, "dataset": dataset, "class_index": batch.class_index, "recomputed": False,
                **_stored_summary(batch_id)}
    keep_freed_memory()  # the feature extractor's training steps reallocate the same maps (ganaug_core/memory.py)
    unscored = ScoringStopped(f"batch {batch_id} was not scored: nothing of it was written")
    watched = stopping_at_reports(progress, should_stop, unscored)
    row, arrays = dataset_arrays(dataset)
    synth = _sample_images(samples, row)
    labels = np.array([s.class_index for s in samples], dtype=np.int64)
    extractor, extractor_path = ensure_feature_extractor(dataset, watched)
    train_images, train_labels = arrays.split("train")
    synth = upsample_images(synth, row.resolution)
    train_images = _as_generated(train_images, row.resolution, gen_side)
    stop_if(should_stop, unscored)
    progress(Progress("score", 0, len(samples)))
    real_f = _train_features(dataset, extractor, extractor_path, row, train_images, gen_side)
    scores = score_samples(extractor, train_images, train_labels, synth, labels, real_features=real_f,
                           pixel_bank=_pixel_bank(row, train_images, gen_side))
    stop_if(should_stop, unscored)
    embedding, _ = _ensure_embedding(dataset, watched)
    coords = embedding.transform(extractor.features(synth))
    stop_if(should_stop, unscored)
    with session_scope(immediate=True) as session:
        train_ids = _train_ids(session, row, arrays)
        session.execute(update(Sample), [
            {
                "id": s.id,
                "class_confidence": float(scores.class_confidence[i]),
                "realism": float(scores.realism[i]),
                "novelty": float(scores.novelty[i]),
                "nn_distance": float(scores.nn_distance[i]),
                "nn_real_ids": [int(train_ids[j]) for j in scores.nn_index[i]],
                "memorized": bool(scores.memorized[i]),
                "copy_match": _with_ids(scores.copy_match[i], train_ids),
                "emb_x": float(coords[i, 0]),
                "emb_y": float(coords[i, 1]),
            }
            for i, s in enumerate(samples)
        ])
        session.execute(update(Batch).where(Batch.id == batch_id).values(scores_computed=True))
    progress(Progress("score", len(samples), len(samples)))
    return {
        "batch": batch_id, "dataset": dataset, "class_index": batch.class_index, "recomputed": True,
        "samples": len(samples), "memorized": int(scores.memorized.sum()),
        "exact_copies": int(scores.exact_copy.sum()), "near_copies": int(scores.near_copy.sum()),
        "mean_confidence": float(scores.class_confidence.mean()), "mean_realism": float(scores.realism.mean()),
        "median_novelty": float(np.median(scores.novelty)), "feature_extractor_sha256": _extractor_sha(extractor_path),
    }


def _with_ids(match: Optional[dict], train_ids) -> Optional[dict]:
    """A copy match (ganaug_core/metrics/copy_match.py) with its parts named by their real image ids."""
    return None if match is None else {**match, "parts": [int(train_ids[j]) for j in match["parts"]]}


def batch_metrics(batch_id: int, progress: ProgressCallback = no_progress,
                  should_stop: Optional[Callable[[], bool]] = None) -> dict:
    """FID, KID, PRDC, consistency, authenticity, DCR and duplicates of a batch against the real train split.

    DCR's held-out set is the 'val' split when the dataset has one, else the test split (a reported number only).
    """
    from ganaug.datasets import dataset_arrays
    from ganaug_core.metrics.metric_main import compute_metrics
    from ganaug_core.rescale import upsample_images

    batch, dataset, samples, gen_side = _load_batch(batch_id)
    keep_freed_memory()  # feature batches reallocate the same maps, as in score_batch (ganaug_core/memory.py)
    unmeasured = ScoringStopped(f"batch {batch_id}'s metrics were not computed")
    row, arrays = dataset_arrays(dataset)
    synth = _sample_images(samples, row)
    labels = np.array([s.class_index for s in samples], dtype=np.int64)
    extractor, extractor_path = ensure_feature_extractor(dataset, stopping_at_reports(progress, should_stop, unmeasured))
    holdout_split = "val" if (arrays.splits == "val").any() else "test"
    hold_images, hold_labels = arrays.split(holdout_split)
    train_images, train_labels = arrays.split("train")
    synth = upsample_images(synth, row.resolution)
    hold_images = _as_generated(hold_images, row.resolution, gen_side)
    train_images = _as_generated(train_images, row.resolution, gen_side)
    stop_if(should_stop, unmeasured)
    progress(Progress("metrics", 0, 1))
    metrics = compute_metrics(extractor, train_images, train_labels, synth, labels,
                              holdout_images=hold_images, holdout_labels=hold_labels,
                              real_features=_train_features(dataset, extractor, extractor_path, row, train_images,
                                                            gen_side),
                              pixel_bank=_pixel_bank(row, train_images, gen_side))
    progress(Progress("metrics", 1, 1))
    metrics["caution"] = measurable_caution(metrics["overall"], metrics["counts"]["real"], metrics.get("caution"))
    for scope in metrics["per_class"].values():
        scope["caution"] = measurable_caution(scope, scope["n_real"], scope.get("caution"))
    metrics.update(batch=batch_id, dataset=dataset, class_index=batch.class_index, holdout_split=holdout_split,
                   feature_extractor_sha256=_extractor_sha(extractor_path))
    _record_report(batch_id, row.id, metrics)
    return metrics


_DISTRIBUTION = {"fid": "FID", "kid": "KID", "prdc": "precision/recall/density/coverage"}
_MEASURED = {"consistency": "class consistency", "authenticity": "authenticity",
             "pixel_copies": "copies of training images", "dcr": "DCR"}


def measurable_caution(scope: dict, n_real: int, caution: Optional[str]) -> Optional[str]:
    """`caution` (metric_main.few_images_caution) for a scope whose real images are too few for some distribution
    metrics to be computed at all (one real image has no spread and no neighbourhood: FID, KID and PRDC are n/a):
    it called them "rough indications"; this names those that cannot be computed and what the batch is measured
    by instead."""
    from ganaug_core.metrics.metric_main import FEW_REAL

    missing = [label for key, label in _DISTRIBUTION.items() if key in scope and not _computed(scope[key])]
    if not caution or not missing or n_real >= FEW_REAL:
        return caution
    rough = [label for key, label in _DISTRIBUTION.items() if key in scope and label not in missing]
    measured = [label for key, label in _MEASURED.items() if scope.get(key) is not None]
    said = (f"only {n_real} real training image{'s' * (n_real != 1)} in scope: {_and(missing)} cannot be computed "
            f"on {'it' if n_real == 1 else 'so few'} (n/a)")
    if rough:
        said += f"; {_and(rough)} on so few {'is a rough indication' if len(rough) == 1 else 'are rough indications'}"
    return f"{said}; what is measured here: {_and(measured)}" if measured else said


def _computed(value) -> bool:
    """Whether a distribution metric has a value: None where it could not be computed (KID: its mean None)."""
    return value is not None and not (isinstance(value, dict) and "mean" in value and value["mean"] is None)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def measure_batch(batch_id: int, progress: ProgressCallback = no_progress, rescore: bool = False,
                  should_stop: Optional[Callable[[], bool]] = None) -> tuple[dict, dict]:
    """Everything a batch is measured by, as `ganaug evaluate batch` and the app's scoring both do: the per-sample
    scores (stored on the samples; computed once unless `rescore`) and the batch's distribution metrics (recorded
    as its report, which the Evaluate page lists). The metrics took about a second on the demo digits once the
    features existed. A stop (`ScoringStopped`) says whether the scores were stored."""
    scores = score_batch(batch_id, progress, rescore=rescore, should_stop=should_stop)
    try:
        return scores, batch_metrics(batch_id, progress, should_stop=should_stop)
    except ScoringStopped:
        raise ScoringStopped(f"batch {batch_id}'s scores are stored; its metrics were not computed") from None


def _record_report(batch_id: int, dataset_id: int, metrics: dict) -> None:
    folder = paths.reports_dir() / "batches" / str(batch_id)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "metrics.json"
    _write_record(out, metrics)
    rel, sha = paths.relative_to_home(folder), sha256_file(out)
    overall = metrics["overall"]
    summary = {
        "batch": batch_id,
        "fid": overall.get("fid"),
        "precision": (overall.get("prdc") or {}).get("precision"),
        "recall": (overall.get("prdc") or {}).get("recall"),
        "class_consistency": (overall.get("consistency") or {}).get("class_consistency"),
        "authenticity": (overall.get("authenticity") or {}).get("authenticity"),
    }
    with session_scope(immediate=True) as session:
        report = session.scalars(select(Report).where(Report.kind == "batch_metrics", Report.path == rel)).first()
        if report is None:
            session.add(Report(dataset_id=dataset_id, kind="batch_metrics", path=rel, sha256=sha, summary=summary))
        else:
            report.sha256, report.summary = sha, summary


def nearest_real_images(sample_id: int, k: int = 5) -> list[dict]:
    """The stored nearest real training images of a sample with their feature distances, nearest first."""
    from ganaug.datasets import dataset_arrays
    from ganaug_core.rescale import upsample_images

    with session_scope() as session:
        sample = session.get(Sample, sample_id)
        if sample is None:
            raise GanaugError(f"unknown sample {sample_id}")
        if not sample.nn_real_ids:
            return []
        ids = [int(i) for i in sample.nn_real_ids[:k]]
        batch = session.get(Batch, sample.batch_id)
        dataset = session.get(Dataset, batch.dataset_id)
        gen_side = _generator_side(session, batch)
        reals = {r.id: r for r in session.scalars(select(RealImage).where(RealImage.id.in_(ids)))}
    row, arrays = dataset_arrays(dataset.name)
    extractor, _ = ensure_feature_extractor(dataset.name)
    with session_scope() as session:
        position = {int(i): n for n, i in enumerate(_real_ids(session, row, arrays))}
    real = arrays.images[[position[i] for i in ids]]
    synth = upsample_images(_sample_images([sample], row), row.resolution)
    real = _as_generated(real, row.resolution, gen_side)
    f = extractor.features(np.concatenate([synth, real]))
    dist = np.linalg.norm(f[1:] - f[:1], axis=1)
    return [{"real_image_id": i, "path": reals[i].path, "class_index": reals[i].class_index, "distance": float(d)}
            for i, d in zip(ids, dist)]
