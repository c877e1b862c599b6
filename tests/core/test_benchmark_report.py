"""The harness and the report: shared sweep points are reused exactly, keys are stable, files carry hashes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ganaug_core.benchmark.arms import ArmInputs
from ganaug_core.benchmark.classifier import Budget
from ganaug_core.benchmark.harness import BenchmarkData, run_benchmark_arms
from ganaug_core.benchmark.report import SCHEMA, summarize, to_markdown, write_report
from ganaug_core.errors import GanaugError
from tests.core.test_benchmark_arms import generate, toy

TINY = Budget(steps=5, batch_size=8, width=4)
ARMS = ["real", "oversample", "gan"]


def data():
    X, y = toy()
    Xt, yt = toy(counts=(4, 4, 4), seed=7)
    return BenchmarkData(X, y, Xt, yt, ["a", "b", "c"], minority=[2])


def test_sweep_reuses_the_real_and_gan_arms_for_multipliers_0_and_1(report):
    raw, rep = report
    assert len(raw.runs) == 6 and len(raw.sweep) == 6
    points = {p["multiplier"]: p for p in rep["sweep"]["points"]}
    assert points[0.0]["balanced_accuracy"] == rep["arms"]["real"]["clean"]["balanced_accuracy"]
    assert points[1.0]["balanced_accuracy"] == rep["arms"]["gan"]["clean"]["balanced_accuracy"]
    assert points[2.0]["n_synthetic"] == 2 * points[1.0]["n_synthetic"] == 22  # gaps 2 and 9


def test_report_keys_are_stable_and_serialise_without_nan(report, tmp_path):
    _, rep = report
    assert rep["schema"] == SCHEMA
    assert list(rep) == ["schema", "meta", "arms", "comparison", "sweep", "pr_curves"]
    assert list(rep["arms"]["gan"]) == ["clean", "shifted", "per_class_recall", "pr_auc", "values", "n_train",
                                        "n_synthetic", "seconds_per_seed", "info"]
    assert rep["comparison"]["best_baseline"] == {"balanced_accuracy": "oversample", "minority_recall": "oversample"}
    files = write_report(rep, tmp_path / "r")
    assert set(files) == {"report.json", "report.md", "arms.png", "per_class_recall.png", "ratio_sweep.png",
                          "pr_curves.png"}
    assert json.loads((tmp_path / "r" / "report.json").read_text())["arms"]["real"]["values"]["ece"]
    assert all(len(h) == 64 for h in files.values())
    md = to_markdown(rep)
    assert "| **c** |" in md  # the minority class is highlighted
    assert "Target" in md and ("NOT met" in md or "MET" in md)
    assert "Caution" not in md
    rep = {**rep, "meta": {**rep["meta"], "caution": "few test images in minority class(es) c (4)"}}
    assert "**Caution:** few test images in minority class(es) c (4)." in to_markdown(rep)


def test_scores_of_an_arm_are_reproducible(report):
    raw, _ = report
    again = run_benchmark_arms(data(), ["gan"], [1], ArmInputs(generate=generate), TINY)
    first = next(r for r in raw.runs if r.arm == "gan" and r.seed == 1)
    assert again.runs[0].clean == first.clean


def test_missing_test_classes_are_refused_before_training():
    d = data()
    d.test_labels = np.where(d.test_labels == 2, 1, d.test_labels)
    with pytest.raises(GanaugError, match="classes missing in the test split: c"):
        run_benchmark_arms(d, ["real"], [0], ArmInputs(), TINY)


def test_without_a_gan_arm_or_a_baseline_the_markdown_gives_no_verdict():
    for arms, missing in ((["real", "oversample"], "no GAN arm ran"), (["real", "gan"], "no baseline arm")):
        raw = run_benchmark_arms(data(), arms, [0], ArmInputs(generate=generate), TINY, (0.0, 1.0))
        meta = {"dataset": "toy", "class_names": ["a", "b", "c"], "minority_classes": [2], "seeds": [0],
                "arms": arms, "skipped_arms": {}, "quick": True, "budget": TINY.to_dict()}
        md = to_markdown(summarize(raw, arms, 3, [2], meta))
        assert f"Not evaluated: {missing}" in md
        assert "NOT met" not in md and "Best baseline" not in md and "None" not in md


def test_the_report_and_the_summary_name_the_run_the_gan_arms_sampled(report):
    """The default generator is the dataset's newest finished run, which need not be the run whose batches were
    reviewed (a quick 32² try after the 64² run, say): the reader must see which one the gan arms used."""
    from ganaug.benchmarking import format_summary

    _, rep = report
    assert "Generator:" not in to_markdown(rep)  # no generator recorded, nothing claimed
    gen = {"run_id": 2, "step": 27, "checkpoint": "runs/000002/checkpoints/c.pt", "checkpoint_sha256": "k" * 64}
    rep = {**rep, "meta": {**rep["meta"], "seconds": 1.0, "provenance": {"generator": gen}},
           "report": {"path": "reports/r"}}
    said = "run 2 at step 27, sampled by “GAN samples”"  # the one sampling arm of this report (ARMS), in words
    assert (f"Generator: {said} (`--run` picks another); “GAN samples approved by reviewers” takes the approved "
            "samples") in to_markdown(rep)
    assert f"generator: {said} (--run picks another)" in format_summary(rep).splitlines()
