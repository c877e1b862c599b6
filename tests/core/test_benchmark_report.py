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


# --- The figures read on the Evaluate page, where a tall or wide one gets the page's width: ~900 px at 1366 px ---

PAGE_PX = 900


def report_of(n_classes: int, rare: list[int]) -> dict:
    """A report of every arm over `n_classes` classes with names of up to 40 characters, as the figures read it."""
    arms = ("real", "oversample", "smote", "classic", "gan", "gan_classic", "gan_filtered", "gan_approved")
    ci = {"mean": 0.5, "low": 0.4, "high": 0.6}
    names = [f"class {c:02d} " + "—" * 2 + " crazing along moulded rib"[: c % 28] for c in range(n_classes)]
    return {"meta": {"class_names": names, "minority_classes": rare, "seeds": [0, 1],
                     "train_counts": [5 if c in rare else 60 for c in range(n_classes)]},
            "arms": {a: {"clean": {"minority_recall": ci, "balanced_accuracy": ci}, "per_class_recall": [ci] * n_classes}
                     for a in arms},
            "pr_curves": {a: {str(c): [[0.0, 1.0], [1.0, 0.5]] for c in rare} for a in arms}}


def smallest_text_px(fig, shown_px: int = PAGE_PX) -> float:
    """The smallest text of `fig` in screen pixels once saved at 100 dpi and shown at most `shown_px` wide."""
    import matplotlib.text

    fig.canvas.draw()
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    scale = min(1.0, shown_px / (fig.get_size_inches()[0] * 100))
    return min(t.get_fontsize() for t in texts) * 100 / 72 * scale


def test_the_per_class_recall_of_40_classes_reads_at_the_pages_width():
    """40 classes and 8 arms: its 6-pt values, in a figure 10 inches wide, read at 5 px in half the page."""
    import matplotlib.pyplot as plt

    from ganaug_core.benchmark.plots import per_class_recall_figure

    fig = per_class_recall_figure(report_of(40, [3, 11, 22, 30, 37]))
    assert len(fig.axes[0].texts) == 40 * 8  # a value per class and arm
    assert smallest_text_px(fig) >= 11
    width, height = fig.get_size_inches()
    assert height > width and height * 100 / 40 >= 22  # a row of at least 22 px a class: the page shows it alone
    plt.close(fig)


def test_the_pr_curves_of_five_rare_classes_read_at_the_pages_width():
    """Four PR panels to a row drew 15 inches: at the page's width their legend and titles read at 6 px."""
    import matplotlib.pyplot as plt

    from ganaug_core.benchmark.plots import pr_curves_figure

    fig = pr_curves_figure(report_of(40, [3, 11, 22, 30, 37]))
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 5
    assert smallest_text_px(fig) >= 9
    plt.close(fig)


def saved_px(fig) -> tuple[int, int]:
    """The figure's size in pixels as the report saves it (100 dpi, cropped to what is drawn)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return Image.open(buffer).size


@pytest.mark.parametrize("n_classes, n_arms, rows", [(10, 8, 1), (20, 8, 2), (20, 9, 2), (6, 3, 1)])
def test_the_per_class_recall_bars_fit_a_1366_px_screen(n_classes, n_arms, rows):
    """20 classes of 8 arms drew one row of bars 1,611 px wide: at the page's 900 px its text shrank to 6 px. Past
    ~900 px the classes wrap onto rows of panels; 10 classes stay one row, as before."""
    import matplotlib.pyplot as plt
    from matplotlib.container import BarContainer

    from ganaug_core.benchmark.plots import per_class_recall_figure

    report = report_of(n_classes, [1, 3, 7, 15, 19][: n_classes // 4])
    report["arms"] = dict(list({**report["arms"], "gan_mix": report["arms"]["gan"]}.items())[:n_arms])
    fig = per_class_recall_figure(report)
    assert saved_px(fig)[0] <= PAGE_PX and smallest_text_px(fig) >= 11
    assert len(fig.axes) == rows
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels()]
    assert len(ticks) == n_classes and ticks[-1].startswith(f"class {n_classes - 1:02d}")  # each class once, in order
    bars = [b for ax in fig.axes for c in ax.containers if isinstance(c, BarContainer) for b in c]
    assert len(bars) == n_classes * n_arms  # a bar per class and arm
    plt.close(fig)


def test_a_class_name_with_dollar_signs_is_drawn_as_it_is_not_as_math():
    """A class folder named `$\\x$` stopped the benchmark's report at savefig (matplotlib's math parser), and one
    named "$5 or $10" was drawn as "5 or " in italics."""
    import matplotlib.pyplot as plt

    from ganaug_core.benchmark.plots import per_class_recall_figure, pr_curves_figure

    report = report_of(4, [1, 3])
    report["meta"]["class_names"][1] = r"$\x$"
    report["meta"]["class_names"][3] = "$5 or $10"
    for build in (per_class_recall_figure, pr_curves_figure):  # the figures that name classes
        fig = build(report)
        saved_px(fig)  # drawn in full
        texts = " ".join(t.get_text() for ax in fig.axes for t in [*ax.get_xticklabels(), ax.title])
        plt.close(fig)
        assert r"$\x$" in texts and "$5 or $10" in texts


def test_the_markdown_says_which_g_mean_and_pr_auc_its_numbers_are(report):
    """"macro G-mean" has two published definitions that differ: a reader citing report.md compared ours (the mean of
    √(recall × specificity)) with imbalanced-learn's default (the geometric mean of the recalls)."""
    from imblearn.metrics import geometric_mean_score

    from ganaug_core.benchmark.metrics import macro_gmean

    y, pred = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 0, 1, 0, 2, 1])
    assert macro_gmean(y, pred, 3) != pytest.approx(geometric_mean_score(y, pred))  # the two definitions differ
    md = to_markdown(report[1])
    assert "macro G-mean: √(recall × specificity) of each class against the rest, averaged over the classes" in md
    assert "not the geometric mean of the recalls" in md and "average precision" in md
    assert "15 equal-width confidence bins" in md


def test_after_gan_filtered_scores_its_candidates_the_benchmarks_bar_comes_back_while_its_classifier_trains(
        monkeypatch):
    # The scoring's bar ends full: the app's job bar (the last report) said 100 % through the classifier's training,
    # then fell back to the benchmark's 0 of 1.
    import ganaug_core.benchmark.harness as harness
    from tests.core.test_benchmark_arms import INPUTS

    seen = []
    # The classifier's training reports nothing: what it would say is not the question here (5 s of a busy machine).
    monkeypatch.setattr(harness, "_train_and_score", lambda *args: ({}, {}, None))
    run_benchmark_arms(data(), ["gan_filtered"], [0], INPUTS, TINY, progress=seen.append)
    said = [(p.stage, p.done, p.total) for p in seen]
    last_score = max(i for i, (stage, _, _) in enumerate(said) if stage == "score")
    assert said[0] == ("benchmark", 0, 1) and said[last_score][1:] == (said[last_score][2],) * 2
    assert said[last_score + 1:] == [("benchmark", 0, 1), ("benchmark", 1, 1)]


def test_the_summarys_report_path_with_a_space_is_kept_whole_on_its_line(report):
    # Wrapped at 80 columns, 'report: /home/ana/My Data/…' was split at the path's space: copied, half of it.
    from ganaug.benchmarking import format_summary

    _, rep = report
    where = "/home/ana/My Data/" + "r" * 55 + "/reports/bench"
    text = format_summary({**rep, "meta": {**rep["meta"], "seconds": 1.0}, "report": {"path": where}})
    assert any(where in line for line in text.splitlines()), text


def test_the_benchmarks_scorer_records_the_scoring_version_that_filtered_gan_filtered(monkeypatch):
    # A batch records the scoring that stored its scores (migration 0012); gan_filtered's candidates are filtered on
    # the same memorized flags, and its report said only which feature extractor did it.
    import ganaug.domain_models as domain_models
    from ganaug.benchmark_inputs import _scorer
    from ganaug_core.scoring import SCORING_VERSION

    class Extractor:
        def features(self, images):
            return images.reshape(len(images), -1)

    monkeypatch.setattr(domain_models, "ensure_feature_extractor", lambda name, progress: (Extractor(), "x.pt"))
    images = np.random.default_rng(0).random((6, 1, 8, 8), dtype=np.float32)
    _, provenance = _scorer("toy", images, np.zeros(6, dtype=np.int64), lambda p: None)
    assert provenance == {"feature_extractor": "x.pt", "scoring_version": SCORING_VERSION}


def test_a_class_name_with_a_bidi_override_or_a_line_break_is_drawn_as_the_command_line_prints_it():
    """A class folder 'x\\u202egpj.exe' reversed the text after it in a figure's ticks and titles, 'a\\nb' split its
    tick over two lines: they are drawn as `one_line` prints them."""
    import matplotlib.pyplot as plt

    from ganaug_core.benchmark.plots import per_class_recall_figure, pr_curves_figure

    report = report_of(4, [1, 3])
    report["meta"]["class_names"][1] = "x\u202egpj.exe"
    report["meta"]["class_names"][3] = "a\nb\x1b"
    for build in (per_class_recall_figure, pr_curves_figure):
        fig = build(report)
        texts = [t.get_text() for ax in fig.axes for t in [*ax.get_xticklabels(), ax.title]]
        plt.close(fig)
        assert not any(set(t) & {"\u202e", "\n", "\x1b"} for t in texts), (build.__name__, texts)
        assert "x\\u202egpj.exe" in " ".join(texts) and "a\\nb\\x1b" in " ".join(texts), (build.__name__, texts)
