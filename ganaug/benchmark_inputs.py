"""What the benchmark's arms need beyond the real data, read from the home: the generator run to sample (checked
against the dataset), the automatic scores that filter gan_filtered's candidates, and the reviewer-approved samples
of the gated training set; each with its provenance for the report.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ganaug_core import paths
from ganaug_core.benchmark.answer import SAMPLING_ARMS
from ganaug_core.benchmark.arms import BASELINE_ARMS, ArmInputs, missing_input
from ganaug_core.benchmark.harness import BenchmarkData
from ganaug_core.errors import GanaugError
from ganaug_core.progress import ProgressCallback


def resolve_run(dataset_id: int, dataset_name: str, run_id: Optional[int]):
    """The generator run to benchmark: `run_id` (checked to belong to the dataset and be done) or the newest
    finished run of the dataset; None when there is none."""
    from sqlalchemy import select

    from db.engine import session_scope
    from db.models import Dataset, Run

    with session_scope() as session:
        if run_id is not None:
            run = session.get(Run, run_id)
            if run is None:
                raise GanaugError(f"unknown run {run_id}")
            if run.dataset_id != dataset_id:
                other = session.get(Dataset, run.dataset_id)
                raise GanaugError(f"run {run_id} was trained on dataset {other.name!r}, not {dataset_name!r}")
            if run.status != "done":
                raise GanaugError(f"run {run_id} is {run.status}, not done; benchmark a finished run")
            return run
        return session.scalars(
            select(Run).where(Run.dataset_id == dataset_id, Run.status == "done").order_by(Run.id.desc()).limit(1)
        ).first()


def _generator(run, dataset, latent_scale: float = 1.0) -> tuple[Callable, dict]:
    from ganaug.runs import latest_checkpoint, verified_checkpoint
    from ganaug_core.benchmark.spread import widened
    from ganaug_core.sampling import GeneratorPipeline

    path = verified_checkpoint(run.id, latest_checkpoint(run.id), run.checkpoint_sha256)
    pipeline = GeneratorPipeline.from_checkpoint(path, device="cpu")
    expected = (len(dataset.class_names), dataset.channels)
    got = (pipeline.num_classes, pipeline.channels)
    if got != expected or pipeline.dataset_name != dataset.name:
        raise GanaugError(
            f"run {run.id}'s generator (dataset {pipeline.dataset_name!r}, {got[0]} classes, {got[1]} channels) "
            f"does not match dataset {dataset.name!r} ({expected[0]} classes, {expected[1]} channels)"
        )
    if latent_scale != 1.0:
        pipeline = widened(pipeline, latent_scale)

    def generate(class_index: int, n: int, seed: int) -> np.ndarray:
        from ganaug_core.rescale import upsample_images

        # The GAN trains at a power of two ≤ the dataset's side; samples are used at the dataset's side, as
        # `ganaug generate` stores them.
        return upsample_images(pipeline(class_index, n, seed).images, dataset.resolution)

    return generate, {"run_id": run.id, "step": run.step, "checkpoint": str(path), "checkpoint_sha256": run.checkpoint_sha256}


def _scorer(dataset_name: str, train_images: np.ndarray, train_labels: np.ndarray, progress: ProgressCallback,
            should_stop: Optional[Callable[[], bool]] = None):
    """Automatic per-sample scores from the dataset's domain feature extractor (trained on real train only).
    `should_stop()` is asked between chunks of each scoring's copy check, which stops by raising InterruptedError:
    the arm's candidates (3 × every class's gap) are scored before its classifier trains, and a Cancel waited for
    them."""
    from ganaug.domain_models import ensure_feature_extractor
    from ganaug_core.metrics.neighbours import kth_neighbour_radii
    from ganaug_core.metrics.pixel_copies import prepare_real
    from ganaug_core.scoring import SCORING_VERSION, score_samples

    extractor, path = ensure_feature_extractor(dataset_name, progress)
    # Once, not per class: the arm scores each class's candidates in turn against the same real images, and each
    # scoring prepared them again for the copy check and measured their features' radii (BENCHMARKS.md, "100 classes").
    real_features = extractor.features(train_images)
    pixel_bank, real_radii = prepare_real(train_images), kth_neighbour_radii(real_features, 1)

    def scorer(images: np.ndarray, class_index: int):
        scores = score_samples(extractor, train_images, train_labels, images, np.full(len(images), class_index),
                               real_features=real_features, pixel_bank=pixel_bank, real_radii=real_radii,
                               should_stop=should_stop)
        return np.asarray(scores.class_confidence), np.asarray(scores.memorized, dtype=bool)

    # The scoring that filtered gan_filtered's candidates, as a batch records it (migration 0012): a report made
    # before a bump of SCORING_VERSION filtered them with another copy check.
    return scorer, {"feature_extractor": str(path), "scoring_version": SCORING_VERSION}


def _approved(dataset_name: str, side: int) -> tuple[Optional[tuple[np.ndarray, np.ndarray]], Optional[str]]:
    """The reviewer-approved synthetic images of the dataset (from the training gate) at the dataset's `side`, and
    the manifest hash. Samples are stored at that side; older batches stored at their generator's are upsampled."""
    from db.engine import session_scope
    from db.gate import gated_training_set
    from ganaug_core.imageio import read_png
    from ganaug_core.rescale import upsample_images

    with session_scope(snapshot=True) as session:  # the log and the state tables of one moment
        gated = gated_training_set(session, dataset_name, synthetic_ratio=1.0)
    synthetic = [e for e in gated.entries if e.source == "synthetic"]
    if not synthetic:
        return None, gated.manifest_sha256
    images = np.stack([upsample_images(read_png(paths.resolve(e.path))[None], side)[0] for e in synthetic])
    labels = np.asarray([e.class_index for e in synthetic], dtype=np.int64)
    return (images, labels), gated.manifest_sha256


def arm_inputs(dataset: str, row, arm_list: list[str], chosen: bool, run_id: Optional[int], data: BenchmarkData,
               progress: ProgressCallback, should_stop: Optional[Callable[[], bool]] = None
               ) -> tuple[ArmInputs, dict, dict, Optional[str]]:
    """What the arms need beyond the real data: the generator, the scorer, the approved samples. Removes from
    `arm_list` the arms whose input is missing (an error for an arm the user chose); returns the inputs, their
    provenance, the skipped arms with why, and the gated manifest's sha256 (None without the approved arm)."""
    inputs, provenance, skipped = ArmInputs(), {}, {}
    counts = np.bincount(data.train_labels, minlength=len(data.class_names)).tolist()
    needs_gen = [a for a in arm_list if a in SAMPLING_ARMS]
    if needs_gen or run_id is not None:  # a run given is checked even when no arm will use it
        run = resolve_run(row.id, dataset, run_id)
    if needs_gen:
        if run is None:
            baselines = [a for a in ("real", *BASELINE_ARMS) if not missing_input(a, inputs, counts, data.class_names)]
            raise GanaugError(
                f"no finished generator run for dataset {dataset!r}: train one first (`ganaug train`), "
                f"or run only the baselines with --arms {','.join(baselines)}"
            )
        inputs.generate, provenance["generator"] = _generator(run, row)
        if "gan_mix" in arm_list:
            inputs.generate_wide, _ = _generator(run, row, inputs.mix_latent_scale)
    if "gan_filtered" in arm_list and inputs.generate is not None:
        try:
            inputs.scorer, provenance["scores"] = _scorer(dataset, data.train_images, data.train_labels, progress,
                                                          should_stop)
        except ImportError:  # the evaluation part is optional to the other arms
            if chosen:
                raise GanaugError("arm 'gan_filtered' cannot run: automatic scores are not available") from None
    manifest_sha256 = None
    if "gan_approved" in arm_list:
        inputs.approved, manifest_sha256 = _approved(dataset, row.resolution)
        provenance["gated_manifest_sha256"] = manifest_sha256
    for arm in list(arm_list):
        reason = missing_input(arm, inputs, counts, data.class_names)
        if reason:
            if chosen:
                raise GanaugError(f"arm {arm!r} cannot run: {reason}")
            skipped[arm] = reason
            arm_list.remove(arm)
    return inputs, provenance, skipped, manifest_sha256
