"""The benchmark loop: for each seed and arm, build the training set, train the classifier, score it on the
test images and on their shifted copies; then the ratio sweep. Pure computation — the caller loads the data and
writes the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ganaug_core.benchmark import metrics as M
from ganaug_core.benchmark.arms import ArmInputs, build_training_set
from ganaug_core.benchmark.classifier import FULL_BUDGET, Budget, predict_proba, train_classifier
from ganaug_core.benchmark.shifts import shifted_test_sets
from ganaug_core.benchmark.sweep import SHARED_POINTS, SWEEP_ARM, sweep_strategy
from ganaug_core.errors import GanaugError
from ganaug_core.imbalance import DEFAULT_MINORITY_FRACTION
from ganaug_core.progress import Progress, ProgressCallback, no_progress

PR_CURVE_POINTS = 60  # points kept per PR curve for the plot


@dataclass
class BenchmarkData:
    train_images: np.ndarray  # uint8 (N, C, H, W): the real training split only
    train_labels: np.ndarray
    test_images: np.ndarray  # the locked test split: used for the final scores and nothing else
    test_labels: np.ndarray
    class_names: list[str]
    minority: list[int]  # indices of the rare classes (decided from the training counts)

    def validate(self) -> None:
        k = len(self.class_names)
        missing_test = sorted(set(range(k)) - set(np.unique(self.test_labels).tolist()))
        if missing_test:
            names = ", ".join(self.class_names[c] for c in missing_test)
            raise GanaugError(f"classes missing in the test split: {names}; every class needs test images to be scored")
        missing_train = sorted(set(range(k)) - set(np.unique(self.train_labels).tolist()))
        if missing_train:
            names = ", ".join(self.class_names[c] for c in missing_train)
            raise GanaugError(f"classes missing in the training split: {names}")
        if not self.minority:  # the rare-class scores would be undefined, found out only after every arm trained
            raise GanaugError("no minority class: every class has at least "
                              f"{DEFAULT_MINORITY_FRACTION:.0%} of the largest class's training images, and the "
                              "benchmark compares the arms on the rare classes")


@dataclass
class ArmRun:
    """One (arm, seed) result."""

    arm: str
    seed: int
    clean: dict  # metrics on the clean test images
    shifted: dict[str, dict]  # shift name → metrics
    n_train: int
    n_synthetic: int
    seconds: float
    info: dict = field(default_factory=dict)
    pr_curves: dict[int, list[list[float]]] = field(default_factory=dict)  # minority class → [[recall, precision]...]


@dataclass
class RawResults:
    runs: list[ArmRun]
    sweep: list[dict]  # {"multiplier", "seed", "n_synthetic", "clean": metrics}


def _curve(y: np.ndarray, proba: np.ndarray, c: int) -> list[list[float]]:
    recall, precision = M.pr_curve(y, proba, c)
    keep = np.unique(np.linspace(0, len(recall) - 1, min(PR_CURVE_POINTS, len(recall))).round().astype(int))
    return [[round(float(recall[i]), 4), round(float(precision[i]), 4)] for i in keep]


def _train_and_score(data, training_set, seed, budget, shifted, with_curves, should_stop=None):
    model = train_classifier(
        training_set.images, training_set.labels, len(data.class_names), seed, budget, training_set.augmentation,
        should_stop,
    )
    proba = predict_proba(model, data.test_images)
    clean = M.evaluate(data.test_labels, proba, data.minority)
    shifted_metrics = {
        name: M.evaluate(data.test_labels, predict_proba(model, images), data.minority) for name, images in shifted.items()
    }
    curves = {c: _curve(data.test_labels, proba, c) for c in data.minority} if with_curves else {}
    return clean, shifted_metrics, curves


def run_benchmark_arms(
    data: BenchmarkData,
    arms: Sequence[str],
    seeds: Sequence[int],
    inputs: ArmInputs,
    budget: Budget = FULL_BUDGET,
    sweep_multipliers: Sequence[float] = (),
    progress: ProgressCallback = no_progress,
    should_stop=None,
) -> RawResults:
    data.validate()
    shifted = shifted_test_sets(data.test_images)
    sweep_points = [m for m in sweep_multipliers if m not in SHARED_POINTS or SHARED_POINTS[m] not in arms]
    do_sweep = bool(sweep_multipliers) and SWEEP_ARM in arms
    total = len(seeds) * (len(arms) + (len(sweep_points) if do_sweep else 0))
    done = 0
    runs: list[ArmRun] = []
    sweep: list[dict] = []

    def stop() -> bool:
        # Asked between arms, seeds and sweep points, and before each classifier step (`train_classifier`): the
        # arms' results live in memory until the report is written whole, so a stop anywhere leaves nothing.
        return should_stop is not None and should_stop()

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        progress(Progress("benchmark", done, total, {"last": label}))
        if stop():
            raise InterruptedError("benchmark cancelled")

    arm_reports: list[Progress] = []

    def within_arm(p: Progress) -> None:
        arm_reports.append(p)
        progress(p)

    progress(Progress("benchmark", 0, total))
    for seed in seeds:
        for arm in arms:
            start = time.perf_counter()
            arm_reports.clear()
            ts = build_training_set(arm, data.train_images, data.train_labels, seed, inputs, progress=within_arm)
            if arm_reports:  # gan_filtered's scoring, whose bar ends full: the app's job bar stayed at 100 %, then
                # fell back, through the minutes its classifier trains; the benchmark's bar is shown again meanwhile
                progress(Progress("benchmark", done, total, {"training": f"{arm}/seed {seed}"}))
            clean, shifted_m, curves = _train_and_score(data, ts, seed, budget, shifted, True, stop)
            runs.append(ArmRun(arm, seed, clean, shifted_m, len(ts.labels), ts.n_synthetic,
                               time.perf_counter() - start, ts.info, curves))
            tick(f"{arm}/seed {seed}")
        if not do_sweep:
            continue
        for m in sweep_multipliers:
            shared = SHARED_POINTS.get(m)
            if shared in arms:
                run = next(r for r in runs if r.arm == shared and r.seed == seed)
                sweep.append({"multiplier": m, "seed": seed, "n_synthetic": run.n_synthetic, "clean": run.clean})
                continue
            strategy = sweep_strategy(data.train_labels, m)
            ts = build_training_set(SWEEP_ARM, data.train_images, data.train_labels, seed, inputs, strategy)
            clean, _, _ = _train_and_score(data, ts, seed, budget, {}, False, stop)
            sweep.append({"multiplier": m, "seed": seed, "n_synthetic": ts.n_synthetic, "clean": clean})
            tick(f"sweep ×{m:g}/seed {seed}")
    return RawResults(runs, sweep)
