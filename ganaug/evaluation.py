"""Evaluation orchestration: per-sample scores and batch metrics, read through the dataset's feature extractor and
embedding (ganaug/domain_models.py).

Scores, memorization flags, nearest real ids and map coordinates are written onto the Sample rows in one
transaction per batch; batch metrics go to GANAUG_HOME/reports/batches/<id>/metrics.json with a Report row.
A job's `should_stop` is asked between stages, at each report of the feature extractor's training, between chunks
of the pixel copy check and while a large map fits in a process of its own (`ganaug_core.embedding_child`, ended
there): a stop raises `ScoringStopped` before the next stage, so a batch's scores are stored whole or not at all.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import undefer

from db.engine import session_scope
from db.models import Batch, Dataset, RealImage, Report, Run, Sample
from ganaug.domain_models import (ensure_feature_extractor, extractor_sha, fitted_embedding, pixel_bank,
                                  split_features, train_features, train_ids, train_radii, write_record)
from ganaug_core import paths
from ganaug_core.errors import GanaugError
from ganaug_core.imageio import read_png, sha256_bytes, sha256_file
from ganaug_core.memory import keep_freed_memory
from ganaug_core.progress import Progress, ProgressCallback, no_progress, stop_if, stopping_at_reports


class ScoringStopped(InterruptedError):
    """Scoring stopped on request at a safe point; the message says what it finished and what not."""


def _load_batch(batch_id: int) -> tuple[Batch, str, list[Sample], int]:
    """The batch, its dataset's name, its samples and the side its generator worked at."""
    with session_scope() as session:
        batch = session.get(Batch, batch_id, options=[undefer(Batch.scoring_version)])  # read once the session ends
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
        img = _checked_png(s.path, s.sha256, f"sample {s.id}")
        if img.shape[0] != row.channels or img.shape[1] != img.shape[2] or img.shape[1] > row.resolution:
            raise GanaugError(
                f"sample {s.id} is {img.shape} but dataset {row.name!r} holds {row.channels}×{row.resolution}×{row.resolution} images"
            )
        images.append(img)
    if len({im.shape for im in images}) > 1:
        raise GanaugError("the batch mixes image sizes")
    return np.stack(images)


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
                should_stop: Optional[Callable[[], bool]] = None, data: Optional[tuple] = None) -> dict:
    """Score every sample of a batch and store the scores, flags, nearest real ids and map coordinates, in one
    transaction: `should_stop()` is asked before each stage and the write, never between two samples' rows.
    `data`: the dataset's (row, arrays) from `dataset_arrays`, where the caller read them already."""
    from ganaug.datasets import dataset_arrays
    from ganaug_core.scoring import SCORING_VERSION, score_samples
    from ganaug_core.rescale import as_generated, upsample_images

    batch, dataset, samples, gen_side = _load_batch(batch_id)
    if batch.scores_computed and not rescore:
        return {"batch": batch_id, "dataset": dataset, "class_index": batch.class_index, "recomputed": False,
                "scoring_version": batch.scoring_version, **_stored_summary(batch_id)}
    keep_freed_memory()  # the feature extractor's training steps reallocate the same maps (ganaug_core/memory.py)
    unscored = ScoringStopped(f"batch {batch_id} was not scored: none of its scores were stored")
    watched = stopping_at_reports(progress, should_stop, unscored)
    row, arrays = data or dataset_arrays(dataset)
    synth = _sample_images(samples, row)
    labels = np.array([s.class_index for s in samples], dtype=np.int64)
    extractor, extractor_path = ensure_feature_extractor(dataset, watched, arrays=arrays)
    train_images, train_labels = arrays.split("train")
    synth = upsample_images(synth, row.resolution)
    train_images = as_generated(train_images, row.resolution, gen_side)
    stop_if(should_stop, unscored)
    progress(Progress("score", 0, len(samples)))
    real_f = train_features(dataset, extractor, extractor_path, row, train_images, gen_side)
    try:  # the copy check asks between chunks of its work: ≈ 130 s for 200 samples against 50,000 real images
        scores = score_samples(extractor, train_images, train_labels, synth, labels, real_features=real_f,
                               pixel_bank=pixel_bank(row, train_images, gen_side),
                               real_radii=train_radii(extractor_path, row, real_f, gen_side), should_stop=should_stop)
    except InterruptedError:
        raise unscored from None
    stop_if(should_stop, unscored)
    embedding, _ = fitted_embedding(dataset, watched, arrays=arrays)
    coords = embedding.transform(extractor.features(synth))
    stop_if(should_stop, unscored)
    with session_scope(immediate=True) as session:
        ids = train_ids(session, row, arrays)
        session.execute(update(Sample), [
            {
                "id": s.id,
                "class_confidence": float(scores.class_confidence[i]),
                "realism": float(scores.realism[i]),
                "novelty": float(scores.novelty[i]),
                "nn_distance": float(scores.nn_distance[i]),
                "nn_real_ids": [int(ids[j]) for j in scores.nn_index[i]],
                "memorized": bool(scores.memorized[i]),
                "copy_match": _with_ids(scores.copy_match[i], ids),
                "emb_x": float(coords[i, 0]),
                "emb_y": float(coords[i, 1]),
            }
            for i, s in enumerate(samples)
        ])
        session.execute(update(Batch).where(Batch.id == batch_id)
                        .values(scores_computed=True, scoring_version=SCORING_VERSION))
    progress(Progress("score", len(samples), len(samples)))
    return {
        "batch": batch_id, "dataset": dataset, "class_index": batch.class_index, "recomputed": True,
        "scoring_version": SCORING_VERSION,
        "samples": len(samples), "memorized": int(scores.memorized.sum()),
        "exact_copies": int(scores.exact_copy.sum()), "near_copies_of_training": int(scores.near_copy.sum()),
        "near_copies": int(scores.near_copy.sum()),  # its name before 2026-12-07, for scripts: one release more
        "mean_confidence": float(scores.class_confidence.mean()), "mean_realism": float(scores.realism.mean()),
        "median_novelty": float(np.median(scores.novelty)), "feature_extractor_sha256": extractor_sha(extractor_path),
    }


def _with_ids(match: Optional[dict], train_ids) -> Optional[dict]:
    """A copy match (ganaug_core/metrics/copy_match.py) with its parts named by their real image ids."""
    return None if match is None else {**match, "parts": [int(train_ids[j]) for j in match["parts"]]}


def batch_metrics(batch_id: int, progress: ProgressCallback = no_progress,
                  should_stop: Optional[Callable[[], bool]] = None, data: Optional[tuple] = None) -> dict:
    """FID, KID, PRDC, consistency, authenticity, DCR and duplicates of a batch against the real train split.

    DCR's held-out set is the 'val' split when the dataset has one, else the test split (a reported number only).
    `data`: as for `score_batch`.
    """
    from ganaug.datasets import dataset_arrays
    from ganaug_core.metrics.metric_main import compute_metrics
    from ganaug_core.features import pooled_side
    from ganaug_core.metrics.pixel_align import block_factor
    from ganaug_core.rescale import as_generated, upsample_images

    batch, dataset, samples, gen_side = _load_batch(batch_id)
    keep_freed_memory()  # feature batches reallocate the same maps, as in score_batch (ganaug_core/memory.py)
    unmeasured = ScoringStopped(f"batch {batch_id}'s metrics were not computed")
    row, arrays = data or dataset_arrays(dataset)
    synth = _sample_images(samples, row)
    labels = np.array([s.class_index for s in samples], dtype=np.int64)
    watched = stopping_at_reports(progress, should_stop, unmeasured)
    extractor, extractor_path = ensure_feature_extractor(dataset, watched, arrays=arrays)
    holdout_split = "val" if (arrays.splits == "val").any() else "test"
    hold_labels = arrays.labels[arrays.splits == holdout_split]
    train_images, train_labels = arrays.split("train")
    synth = upsample_images(synth, row.resolution)
    train_images = as_generated(train_images, row.resolution, gen_side)
    stop_if(should_stop, unmeasured)
    progress(Progress("metrics", 0, 1))
    real_f = train_features(dataset, extractor, extractor_path, row, train_images, gen_side)
    # Kept like the training features: each batch computed them again (12,000 64² images at 60,000).
    hold_f = split_features(dataset, extractor, extractor_path, row, holdout_split,
                            lambda: as_generated(arrays.split(holdout_split)[0], row.resolution, gen_side), gen_side)
    try:
        metrics = compute_metrics(extractor, train_images, train_labels, synth, labels,
                                  holdout_features=hold_f, holdout_labels=hold_labels, real_features=real_f,
                                  pixel_bank=pixel_bank(row, train_images, gen_side),
                                  real_radii=train_radii(extractor_path, row, real_f, gen_side),
                                  should_stop=should_stop)
    except InterruptedError:
        raise unmeasured from None
    progress(Progress("metrics", 1, 1))
    metrics["caution"] = measurable_caution(metrics["overall"], metrics["counts"]["real"], metrics.get("caution"))
    for scope in metrics["per_class"].values():
        scope["caution"] = measurable_caution(scope, scope["n_real"], scope.get("caution"))
    # The sides the numbers were measured at: at 128² the features see the images pooled to 64² and the pixel
    # check block-averaged to 32², which a report of a fine detail (a nodule) must say.
    metrics.update(batch=batch_id, dataset=dataset, class_index=batch.class_index, holdout_split=holdout_split,
                   feature_extractor_sha256=extractor_sha(extractor_path), image_side=row.resolution,
                   feature_side=pooled_side(row.resolution, extractor.config.input_side),
                   pixel_side=row.resolution // block_factor(row.resolution))
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
    from ganaug_core.metrics.metric_main import FEW_REAL, few_for_dcr

    missing = [label for key, label in _DISTRIBUTION.items() if key in scope and not _computed(scope[key])]
    if not caution or not missing or n_real >= FEW_REAL:
        return caution
    rough = [label for key, label in _DISTRIBUTION.items() if key in scope and label not in missing]
    # DCR against as many training images as the scope has: with one, "closer to train" is one coin toss a sample.
    rough_dcr = bool(few_for_dcr(scope))
    rough += ["DCR"] * rough_dcr
    measured = [label for key, label in _MEASURED.items()
                if scope.get(key) is not None and not (key == "dcr" and rough_dcr)]
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
    features existed. A stop (`ScoringStopped`) says whether the scores were stored.

    The dataset's arrays are read (and their sha256 checked) once for both: each stage read them for itself, and
    the feature extractor and the map each once more, six reads of 737 MB for a dataset of 60,000 64² images."""
    from ganaug.datasets import dataset_arrays

    data = dataset_arrays(_load_batch(batch_id)[1])
    scores = score_batch(batch_id, progress, rescore=rescore, should_stop=should_stop, data=data)
    try:
        return scores, batch_metrics(batch_id, progress, should_stop=should_stop, data=data)
    except ScoringStopped:
        raise ScoringStopped(f"batch {batch_id}'s scores are stored; its metrics were not computed") from None


def _record_report(batch_id: int, dataset_id: int, metrics: dict) -> None:
    folder = paths.reports_dir() / "batches" / str(batch_id)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "metrics.json"
    write_record(out, metrics)
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
    """The stored nearest real training images of a sample with their feature distances, nearest first.

    The Review page asks this for the sample a reviewer opens: only those k images are read, from their PNGs (each
    checked against its recorded sha256; ingestion wrote them from the same pixels as arrays.npz). Reading the whole
    arrays.npz (twice) and every image row took 7.5 s and 1.7 GB for a dataset of 60,000 64² images, each of the two
    reads up to 21.5 s on a busy machine."""
    from ganaug_core.rescale import as_generated, upsample_images

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
        reals = {r.id: r for r in session.scalars(select(RealImage).where(RealImage.id.in_(ids),
                                                                           RealImage.dataset_id == dataset.id))}
    extractor, _ = ensure_feature_extractor(dataset.name)
    real = np.stack([_real_image(reals.get(i), i) for i in ids])
    synth = upsample_images(_sample_images([sample], dataset), dataset.resolution)
    real = as_generated(real, dataset.resolution, gen_side)
    f = extractor.features(np.concatenate([synth, real]))
    dist = np.linalg.norm(f[1:] - f[:1], axis=1)
    return [{"real_image_id": i, "path": reals[i].path, "class_index": reals[i].class_index, "distance": float(d)}
            for i, d in zip(ids, dist)]


def _real_image(image: Optional[RealImage], image_id: int) -> np.ndarray:
    """A real image's pixels from its PNG, checked against the sha256 recorded at ingestion."""
    if image is None:
        raise GanaugError(f"real image {image_id} is not one of its dataset's")
    return _checked_png(image.path, image.sha256, f"real image {image_id}")


def _checked_png(stored: str, sha256: str, what: str) -> np.ndarray:
    """The pixels of a PNG ganaug wrote (`stored`: its path in the home), once its bytes match `sha256`."""
    path = paths.resolve(stored)
    try:
        data = path.read_bytes()
    except OSError:
        raise GanaugError(f"{what}: {path} is missing") from None
    if sha256_bytes(data) != sha256:
        raise GanaugError(f"{what}: {path} does not match its recorded sha256")
    return read_png(path)
