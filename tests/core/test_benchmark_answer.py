"""The benchmark's answer: said first (report.md, the CLI summary), in the same words, and only as strong as the
seeds allow; the plots give each arm one colour and keep their legends off the data."""

from __future__ import annotations

import numpy as np
import pytest

from ganaug.benchmarking import format_summary
from ganaug_core.benchmark.answer import answer
from ganaug_core.benchmark.plots import arm_colour, per_class_recall_figure, pr_curves_figure, ratio_sweep_figure
from ganaug_core.benchmark.report import mean_ci, to_markdown, write_report
from ganaug_core.benchmark.seeds import few_seeds_caution
from ganaug_core.benchmark.stats import compare_gan_arms

METRICS = ("balanced_accuracy", "minority_recall")




def comparison_of(values: dict[str, list[float]]) -> dict:
    """A report's comparison and arms for per-seed values (the same on both target metrics), through the real
    statistics: mean_ci per arm, then compare_gan_arms."""
    arms = {a: {"clean": {m: mean_ci(v) for m in METRICS}} for a, v in values.items()}
    per_metric = {a: {m: v for m in METRICS} for a, v in values.items()}
    comp = compare_gan_arms({a: arms[a]["clean"] for a in arms}, per_metric, [a for a in values if "gan" in a])
    meta = {"class_names": ["a", "b", "rare"], "minority_classes": [2]}
    return {"meta": meta, "arms": arms, "comparison": comp}


@pytest.mark.parametrize("gan, verdict, words", [
    # above oversample's interval on every seed
    ([0.90, 0.91, 0.92, 0.91, 0.90], "yes", "0.200 higher; ahead on all of the 5 seeds (each seed trains both arms "
                                            "alike): a real gap, 95 % sure it lies between 0.191 and 0.209 higher."),
    # below it, seed by seed
    ([0.60, 0.62, 0.61, 0.63, 0.60], "no", "0.096 lower; ahead on none of the 5 seeds (each seed trains both arms "
                                           "alike): a real gap, 95 % sure it lies between 0.075 and 0.117 lower."),
    # too noisy to tell
    ([0.95, 0.55, 0.85, 0.60, 0.80], "not shown", "0.042 higher; ahead on 3 of the 5 seeds (each seed trains both "
                                                  "arms alike), and these seeds cannot tell which is better: the true "
                                                  "gap could be anywhere from 0.168 lower to 0.252 higher."),
])
def test_the_verdict_follows_the_intervals(gan, verdict, words):
    rep = comparison_of({"oversample": [0.70, 0.71, 0.72, 0.70, 0.71], "gan": gan})
    said = answer(rep)
    assert said["verdict"] == verdict and said["arm"] == "gan"
    assert said["lines"][0].startswith("Does the synthetic data help on the rare class (rare)?")
    # In words first ("paired difference -0.299 [-1.000, +1.000], ahead on 0 of 2 seeds" alone was a statistician's
    # shorthand), then the figures.
    mean = f"{np.mean(gan):.3f}"
    assert said["lines"][1].startswith(f"rare-class recall: “GAN samples” {mean} against 0.708 for “Oversampling” "
                                       f"on average, {words} In figures (mean [95 % interval]): {mean} [")
    assert f"ahead on {sum(g > o for g, o in zip(gan, [0.70, 0.71, 0.72, 0.70, 0.71]))} of 5 seeds" in said["lines"][1]


@pytest.mark.parametrize("gan, verdict, said", [
    ([0.90, 0.91, 0.92], "yes", "Yes: “GAN samples + classic augmentation” beats the best baselines"),
    ([0.60, 0.62, 0.61], "no", "No: the best GAN arm there, “GAN samples + classic augmentation”, scores below "
                               "“SMOTE”."),
])
def test_the_answer_names_arms_in_words_and_keeps_their_ids_apart(gan, verdict, said):
    # It said "gan_classic scores below smote" where the Evaluate page's tables say "GAN samples + classic
    # augmentation" and "SMOTE".
    rep = comparison_of({"smote": [0.70, 0.71, 0.72], "gan_classic": gan})
    answered = answer(rep)
    assert (answered["verdict"], answered["arm"], answered["baseline"]) == (verdict, "gan_classic", "smote")
    assert said in answered["lines"][0]
    assert answered["lines"][2].startswith("balanced accuracy: “GAN samples + classic augmentation” 0.")
    assert " against 0.710 for “SMOTE” on average" in answered["lines"][2] and " vs 0.710 [" in answered["lines"][2]
    assert not [line for line in answered["lines"] if "gan_classic" in line or "smote" in line]


def test_without_a_baseline_there_is_no_verdict():
    said = answer(comparison_of({"real": [0.5, 0.6], "gan": [0.7, 0.8]}))
    assert said["verdict"] == "not evaluated" and said["lines"] == [
        "Does the synthetic data help on the rare class (rare)? Not evaluated: no baseline arm (oversampling, "
        "SMOTE, classic augmentation) ran."]


def test_the_markdown_answers_first_and_says_what_each_arm_and_the_test_split_are(report):
    _, rep = report
    rep = {**rep, "meta": {**rep["meta"], "train_counts": [12, 10, 3], "test_counts": [4, 4, 4]}}
    lines = to_markdown(rep).splitlines()
    assert lines[0] == "# Downstream benchmark: toy"
    assert lines[2].startswith("**Does the synthetic data help on the rare class (c)? ")  # before any table
    assert lines[4].startswith("- rare-class recall: “GAN samples” ")
    md = "\n".join(lines)
    # one rare class is "the rare class", not "the rare classes (c)"
    assert "the locked real test split, 12 images (c: 4 in the rare class)" in md and "; rare class: c." in md
    assert "| oversample | real images, rare ones repeated up to the largest class's count | 36 | 11 | 0 |" in md
    assert "{'steps'" not in md  # the budget in words, not a Python dict
    assert "| arm | balanced accuracy | rare-class recall |" in md  # metric names in words


def test_the_markdown_says_how_the_best_baseline_is_chosen_what_p_and_the_intervals_cover_and_what_each_shift_is(
        report):
    """A reader of report.md alone must know that the best baseline is picked on the test split, that p is not the
    rule, that the intervals leave out the generator's and the test split's own variation, and what 'contrast' did."""
    _, rep = report
    md = to_markdown({**rep, "meta": {**rep["meta"], "test_counts": [4, 4, 4]}})
    # ... and that this one choice of the test split's cannot flatter the GAN ("trains nothing and tunes nothing")
    assert ("Best baseline (the baseline arm with the highest mean on the test split, per metric: the highest bar a "
            "GAN arm can be set, so the one choice the test split makes favours the alternatives, never the "
            "GAN): ") in md
    assert "not corrected for the several arms and metrics" in md
    assert "another test split or another training of the generator would add variation they do not show" in md
    assert "contrast: contrast × 0.5 around each image's mean" in md
    assert "chooses nothing" not in md  # it names the best baseline


def test_every_figure_with_error_bars_says_what_they_are(report):
    import matplotlib.pyplot as plt

    _, rep = report
    fig = ratio_sweep_figure(rep)
    assert "95 % interval over 2 seeds" in fig._suptitle.get_text()
    plt.close(fig)


def test_the_best_baselines_band_is_grey_so_its_own_point_shows(report):
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    from ganaug_core.benchmark.plots import arms_figure

    _, rep = report
    fig = arms_figure(rep)
    bands = [p for ax in fig.axes for p in ax.patches]
    assert bands and {to_rgb(p.get_facecolor()) for p in bands} == {(0.85, 0.85, 0.85)}
    plt.close(fig)


def test_pr_curves_are_drawn_as_steps(report):
    # Straight lines between the curve's points drew precision between thresholds that no classifier reaches.
    import matplotlib.pyplot as plt

    _, rep = report
    fig = pr_curves_figure(rep)
    lines = [line for ax in fig.axes for line in ax.get_lines()]
    assert lines and {line.get_drawstyle() for line in lines} == {"steps-post"}
    assert fig._suptitle.get_text().startswith("PR curves, rare class (seed ")  # one: not "rare classes"
    plt.close(fig)


def test_the_cli_summary_answers_in_its_first_line_and_cautions_about_two_seeds(report):
    _, rep = report
    caution = few_seeds_caution(2, quick=True)
    result = {**rep, "meta": {**rep["meta"], "seconds": 3.0, "caution": caution, "test_counts": [4, 4, 4]},
              "report": {"path": "/r"}}
    text = format_summary(result)
    lines, said = text.splitlines(), " ".join(text.split())  # wrapped at 80 columns (the answer's lines ran to 417)
    assert max(map(len, lines)) <= 80, text
    assert said.startswith(" ".join(rep["comparison"]["answer"]["lines"][0].split()) + " rare-class recall: ")
    assert lines[0].startswith("Does the synthetic data help on the rare class (c)?")
    assert next(line for line in lines if line.startswith("  ")).startswith("  rare-class recall: “GAN samples” ")
    assert f"caution: {' '.join(caution.split())}" in said
    # The split, its rare images and that it decided nothing, in report.md's words: "the locked test split (12
    # images)" left a lab head to ask how many were rare and whether it picked anything.
    assert ("on the locked real test split, 12 images (c: 4 in the rare class), which trains nothing and tunes "
            "nothing") in said and "on the locked real test split, 12 images (c: 4" in to_markdown(result)
    # The rule in full, as report.md states it: one metric above the baseline is not the target.
    assert "target (a GAN arm above the best baseline on balanced accuracy and on rare-class recall, disjoint 95 % " \
           "intervals): " in said
    assert all(line == line.rstrip() for line in lines)  # the header row ended in spaces
    # The table named arms by id ("oversample") where the answer above names them in words.
    rows = lines[lines.index(next(line for line in lines if line.startswith("arm "))) + 1:]
    assert [line.split("  ")[0] for line in rows[:3]] == ["Real images only", "Oversampling", "GAN samples"], rows


def test_too_few_seeds_earn_a_caution():
    assert "only a large difference shows" in few_seeds_caution(2, quick=True)
    assert "run without --quick" in few_seeds_caution(2, quick=True)
    assert "--seeds 5" in few_seeds_caution(1, quick=False) and "no interval" in few_seeds_caution(1, quick=False)
    assert few_seeds_caution(3, quick=False) is None


def test_the_two_seed_caution_does_not_contradict_a_no_it_sits_under():
    """Over 2 seeds a large, steady deficit clears the paired interval and the answer says "No"; the caution printed
    under it said the intervals were "too wide to tell the arms apart"."""
    rep = comparison_of({"oversample": [0.70, 0.74], "gan": [0.10, 0.15]})
    assert answer(rep)["verdict"] == "no"
    caution = few_seeds_caution(2, quick=True)
    assert "tell the arms apart" not in caution and "not ruled out" in caution


def test_an_arm_keeps_its_colour_whichever_arms_ran(report):
    import matplotlib.pyplot as plt

    _, rep = report
    only_gan = {**rep, "arms": {"gan": rep["arms"]["gan"]}}
    colours = []
    for r in (rep, only_gan):
        fig = per_class_recall_figure(r)
        ax = fig.axes[0]
        [bars] = [c for c in ax.containers if hasattr(c, "patches") and c.get_label() == "GAN samples"]  # its name
        colours.append(bars.patches[0].get_facecolor())
        plt.close(fig)
    assert colours[0] == colours[1] and np.allclose(colours[0][:3], plt.matplotlib.colors.to_rgb(arm_colour("gan")))


def test_legends_leave_the_data_uncovered(report):
    import matplotlib.pyplot as plt

    _, rep = report
    for build in (per_class_recall_figure, pr_curves_figure):
        fig = build(rep)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
        assert legends, build.__name__
        for legend in legends:
            box = legend.get_window_extent(renderer)
            assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes), build.__name__
        plt.close(fig)


def test_the_report_folder_holds_the_answer_plot_first_named(report, tmp_path):
    _, rep = report
    files = write_report(rep, tmp_path / "r")
    assert "arms.png" in files and (tmp_path / "r" / "arms.png").stat().st_size > 0
    assert rep["comparison"]["answer"]["verdict"] in ("yes", "no", "not shown")


def test_the_markdown_shows_class_names_as_text(report):
    """Class names are folder names, and the app renders report.md: one named like a Markdown image or link shows as
    those characters (no reader's browser fetches anything), in the answer, the tables and the prose alike."""
    from markdown_it import MarkdownIt

    _, rep = report
    hostile = ["![a](http:\\\\evil.example\\a.png)", "[b](javascript:alert(1))", "<img src=x> | c"]
    rep = {**rep, "meta": {**rep["meta"], "dataset": "# toy", "class_names": hostile, "test_counts": [4, 4, 4]}}
    html = MarkdownIt("commonmark").enable("table").render(to_markdown(rep))
    assert "<img" not in html and "<a " not in html and "<h1>Downstream benchmark: # toy</h1>" in html
    assert "&lt;img src=x&gt; | c" in html and "![a](http:\\\\evil.example\\a.png)" in html


def many_classes_report(n: int = 60, rare: int = 55) -> dict:
    """A report of 60 classes, 55 of them rare: class c has 100 - c training images, so the rarest are the last."""
    ci = {"mean": 0.5, "low": 0.4, "high": 0.6}
    arms = {a: {"clean": {m: ci for m in METRICS}, "per_class_recall": [ci] * n} for a in ("oversample", "gan")}
    curves = {a: {str(c): [[0.0, 1.0], [1.0, 0.5]] for c in range(n - rare, n)} for a in arms}
    meta = {"class_names": [f"pitting corrosion — sous-type {c:03d}" for c in range(n)],
            "minority_classes": list(range(n - rare, n)), "train_counts": [100 - c for c in range(n)], "seeds": [0, 1]}
    return {"meta": meta, "arms": arms, "comparison": {"best_baseline": {m: "oversample" for m in METRICS}},
            "pr_curves": curves}


def test_figures_of_many_classes_stay_a_readable_size():
    """100 classes, 95 of them rare, drew figures 9,000–32,000 px wide: a row of bars per class, a PR panel per
    rare class, every rare class named in a title."""
    import matplotlib.pyplot as plt

    from ganaug_core.benchmark.plots import arms_figure

    rep = many_classes_report()
    fig = per_class_recall_figure(rep)
    assert fig.get_size_inches()[0] < 10 and len(fig.axes[0].images) == 1  # a table of colours, a row per class
    assert len(fig.axes[0].get_yticklabels()) == 60
    plt.close(fig)
    fig = pr_curves_figure(rep)
    shown = [ax.get_title().replace("\n", " ") for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert shown == [f"class pitting corrosion — sous-type {c:03d}" for c in range(52, 60)]  # the 8 rarest
    assert fig._suptitle.get_text() == "PR curves, the 8 rarest of 55 rare classes (seed 0)"
    assert fig.get_size_inches()[0] < 16
    plt.close(fig)
    fig = arms_figure(rep)
    assert fig.axes[0].get_title().startswith("rare-class recall (55 rare classes)")
    plt.close(fig)


def test_the_question_names_ten_rare_classes_and_counts_the_rest():
    rep = comparison_of({"oversample": [0.70, 0.71], "gan": [0.10, 0.15]})
    rep["meta"] = many_classes_report()["meta"]
    question = answer(rep)["lines"][0]
    assert question.startswith("Does the synthetic data help on the rare classes (pitting corrosion — sous-type 005, ")
    assert "sous-type 014 and 45 more)? " in question and "sous-type 015" not in question


def test_a_baseline_that_recalls_every_rare_test_image_is_said_to_leave_nothing_to_show():
    # A two-class colour set (ok, crack; 2 crack test images): every arm recalled both on both seeds, and the answer
    # said the arms "cannot be told apart on these 2 seeds", as if more seeds could tell them.
    rep = comparison_of({"oversample": [1.0, 1.0], "gan": [1.0, 1.0]})
    rep["meta"]["test_counts"] = [30, 30, 2]
    said = answer(rep)
    assert said["verdict"] == "not shown"
    assert said["lines"][0] == (
        "Does the synthetic data help on the rare class (rare)? Not shown, and this test split cannot show it: "
        "“Oversampling” already recalls every rare test image (rare: 2) on every seed, so no arm can score above "
        "it on rare-class recall. What to do: use “Oversampling”: it needs no generator to train and no samples to "
        "review.")
    # Below the ceiling the answer is as before.
    assert "cannot show it" not in answer(comparison_of({"oversample": [0.5, 1.0], "gan": [1.0, 1.0]}))["lines"][0]


def test_a_lead_on_too_few_rare_test_images_is_not_called_a_real_gap():
    # A factory's 5 cracks left 1 for test: an arm that recalled it on both seeds where the baseline missed it was
    # "Yes ... a real gap, 95 % sure it lies between 1.000 and 1.000 higher". The seeds never vary the test images.
    rep = comparison_of({"oversample": [0.0, 0.0], "gan": [1.0, 1.0]})
    rep["meta"]["test_counts"] = [600, 600, 1]
    said = answer(rep)
    assert said["verdict"] == "not shown"
    assert said["lines"][0] == (
        "Does the synthetic data help on the rare class (rare)? Not shown, and this test split cannot show it: its "
        "rare class holds only 1 test image (rare: 1), too few for any arm's lead in recalling it to be more than "
        "luck (it takes 6 or more); add images to the rare class and ingest again.")
    assert all("a real gap" not in line and "on 1 rare test image, too few" in line for line in said["lines"][1:])
    assert answer(comparison_of({"oversample": [1.0, 1.0], "gan": [0.0, 0.0]}) | {"meta": rep["meta"]})[
        "verdict"] == "not shown"  # nor a "No"
    rep["meta"]["test_counts"] = [600, 600, 6]  # 6 images: all against none is 1 chance in 32 (two-sided)
    assert answer(rep)["verdict"] == "yes"


@pytest.mark.parametrize("gan, verdict, todo", [
    ([0.60, 0.62, 0.61], "no", "What to do: use “Classic augmentation” instead; a generator trained longer may do "
                               "better in a later benchmark."),
    ([0.95, 0.55, 0.85], "not shown", "What to do: use “Classic augmentation” until a benchmark shows a gain: it "
                                      "needs no generator to train and no samples to review; more seeds narrow the "
                                      "intervals."),
    ([0.90, 0.91, 0.92], "yes", "What to do: train your classifier as “GAN samples” does."),
])
def test_the_answer_says_what_to_do_next(gan, verdict, todo):
    """A "No" or "Not shown" left a lab head to guess whether to keep the GAN: the alternative that does as well
    without a generator or a review is the one to use."""
    said = answer(comparison_of({"classic": [0.70, 0.71, 0.72], "gan": gan}))
    assert said["verdict"] == verdict and said["lines"][0].endswith(todo)


def test_report_md_and_the_cli_summary_say_what_to_do_in_the_answer_s_words(report):
    _, rep = report
    rep = {**rep, "meta": {**rep["meta"], "seconds": 3.0}, "report": {"path": "/r"}}
    first = answer(rep)["lines"][0]
    todo = first[first.index("What to do: "):]
    assert f"{todo}**" in to_markdown(rep).splitlines()[2]
    assert " ".join(todo.split()) in " ".join(format_summary(rep).split())
