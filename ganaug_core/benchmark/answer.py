"""The benchmark's answer in words: does the synthetic data help on the rare classes, and is the difference real?

One function, used by the report's markdown, the CLI's summary and the app, so all three say the same thing first.
The verdict follows the report's rule (`stats.compare_gan_arms`): "yes" only when some GAN arm's 95 % interval lies
above the best baseline's on both target metrics. Otherwise it looks at the GAN arm best on the rare classes and
its paired difference with the best baseline there: "no" when that difference is below zero with 95 % confidence,
"not shown" when the seeds cannot tell them apart (or the arm is ahead seed by seed, but not by the rule), and
whatever the seeds say when the rare classes hold fewer than MIN_RARE_TEST_IMAGES test images.
Arms are named in words, as the Evaluate page's tables name them; the answer's "arm" and "baseline" keep their ids.
Each target metric's line says the comparison in plain words (how far apart on average, on how many seeds ahead,
whether the seeds can tell), then its figures from IN_FIGURES on: means, 95 % intervals, the paired difference.
"""

from __future__ import annotations

from typing import Optional

from ganaug_core.imbalance import some_names

# The arms that sample a trained generator (gan_approved takes reviewed samples instead, whatever run made them).
SAMPLING_ARMS = ("gan", "gan_classic", "gan_mix", "gan_filtered")
# The arms in a reviewer's words (the CLI's --arms, the job's parameters and report.json keep the ids): the answer
# said "gan_classic scores below smote" where the Evaluate page's tables said "GAN samples + classic augmentation".
ARM_LABELS = {"real": "Real images only", "oversample": "Oversampling", "smote": "SMOTE",
              "classic": "Classic augmentation", "gan": "GAN samples",
              "gan_classic": "GAN samples + classic augmentation",
              "gan_mix": "GAN samples mixed with repeated rare images",
              "gan_filtered": "GAN samples, filtered by score", "gan_approved": "GAN samples approved by reviewers"}
METRIC_LABELS = {
    "balanced_accuracy": "balanced accuracy",
    "minority_recall": "rare-class recall",
    "macro_f1": "macro F1",
    "macro_gmean": "macro G-mean",
    "minority_pr_auc": "rare-class PR-AUC",
    "ece": "calibration error (ECE, lower is better)",
}


# Where a metric's line turns from words to figures (the Evaluate page starts a new line there).
IN_FIGURES = "In figures (mean [95 % interval]): "
# Fewer rare test images than this cannot show a difference in recalling them: even one arm recalling all 5 where
# the other recalls none happens by chance 1 time in 16 (a two-sided sign test over the images), above the 5 % the
# answer's "95 % sure" stands for. The seeds' intervals measure only the training's chance, never which images the
# test split happened to hold: a factory's 5 cracks left 1 test crack, and an arm that recalled it on both seeds
# where the baseline missed it was "Yes ... a real gap, 95 % sure it lies between 1.000 and 1.000 higher".
MIN_RARE_TEST_IMAGES = 6


def arm_label(arm: str) -> str:
    return ARM_LABELS.get(arm, arm)


def _named(arm: str) -> str:
    """An arm's label quoted, as a sentence names it: “GAN samples” scores below “Oversampling”."""
    return f"“{arm_label(arm)}”"


def interval(ci: Optional[dict], signed: bool = False) -> str:
    """'0.812 [0.790, 0.834]', or the mean alone with one seed; signed for differences ('+0.012 [-0.004, +0.028]')."""
    if not ci or ci.get("mean") is None:
        return "–"
    f = "{:+.3f}" if signed else "{:.3f}"
    if (ci.get("n") or 0) < 2 or ci.get("low") is None:
        return f.format(ci["mean"])
    return f"{f.format(ci['mean'])} [{f.format(ci['low'])}, {f.format(ci['high'])}]"


def _metric_line(report: dict, arm: str, key: str, rare_test: Optional[int] = None) -> Optional[str]:
    """One target metric: the comparison in plain words, then its figures ("In figures: …"). The figures alone,
    "paired difference -0.299 [-1.000, +1.000], ahead on 0 of 2 seeds", were a statistician's shorthand to the
    reviewers and clinicians who read the Evaluate page. `rare_test`: the rare classes' test images, where too few
    to show a difference (`_few_rare_test_images`)."""
    row = report["comparison"]["arms"][arm]["metrics"].get(key)
    if row is None:
        return None
    base, arms = row["baseline"], report["arms"]
    diff = {"mean": row["mean_diff"], "low": row["low"], "high": row["high"], "n": row["n"]}
    words = _in_words(row, arms[arm]['clean'][key], arms[base]['clean'][key], arm, base, rare_test)
    return (f"{METRIC_LABELS[key]}: {words} "
            f"{IN_FIGURES}{interval(arms[arm]['clean'][key])} vs {interval(arms[base]['clean'][key])}; "
            f"paired difference {interval(diff, signed=True)}, "
            f"ahead on {row['wins']} of {row['n']} seeds")


def _in_words(row: dict, ours: dict, theirs: dict, arm: str, base: str, rare_test: Optional[int] = None) -> str:
    """'“GAN samples” 0.502 against 0.801 for “Oversampling” on average, 0.299 lower; ahead on none of the 2
    seeds (each seed trains both arms alike), and these seeds cannot tell which is better: …'"""
    d, n, wins = row["mean_diff"], row["n"], row["wins"]
    if ours.get("mean") is None or theirs.get("mean") is None or d is None:
        return f"{_named(arm)} and {_named(base)} cannot be compared (no score)."
    gap = "the same" if abs(d) < 0.0005 else f"{abs(d):.3f} {'lower' if d < 0 else 'higher'}"
    said = f"{_named(arm)} {ours['mean']:.3f} against {theirs['mean']:.3f} for {_named(base)} on average, {gap}"
    if n < 2 or row["low"] is None or row["high"] is None:
        return f"{said}; with one seed there is no telling whether the gap is chance."
    ahead = "none" if wins == 0 else ("all" if wins == n else f"{wins}")
    said += f"; ahead on {ahead} of the {n} seeds (each seed trains both arms alike)"
    if rare_test is not None and (row["high"] < 0 or row["low"] > 0):
        return (f"{said}: steady over the seeds, but on {rare_test} rare test image{'s' * (rare_test != 1)}, too few "
                "to tell a gap from which images the test split holds.")
    if row["high"] < 0:
        return f"{said}: a real gap, 95 % sure it lies between {-row['high']:.3f} and {-row['low']:.3f} lower."
    if row["low"] > 0:
        return f"{said}: a real gap, 95 % sure it lies between {row['low']:.3f} and {row['high']:.3f} higher."
    return (f"{said}, and these seeds cannot tell which is better: the true gap could be anywhere from "
            f"{-row['low']:.3f} lower to {row['high']:.3f} higher.")


def _recalls_every_rare_image(report: dict, baseline: str) -> Optional[str]:
    """The rare classes' test counts ('crack: 2') when `baseline` recalled every rare test image on every seed, else
    None. A "yes" needs a GAN arm above the best baseline on rare-class recall, which cannot be above 1: with 2 rare
    test images every arm scored 1.000, and "cannot be told apart on these 2 seeds" read as if more seeds would tell."""
    ci = report["arms"][baseline]["clean"].get("minority_recall") or {}
    if ci.get("mean") is None or ci["mean"] < 1.0 or (ci.get("low") is not None and ci["low"] < 1.0):
        return None
    meta = report["meta"]
    counts = meta.get("test_counts")
    return some_names([f"{meta['class_names'][c]}" + (f": {counts[c]}" if counts else "")
                       for c in meta["minority_classes"]])


def _few_rare_test_images(report: dict) -> Optional[int]:
    """The rare classes' test images in all, where fewer than MIN_RARE_TEST_IMAGES; else None (or unknown)."""
    meta = report["meta"]
    counts = meta.get("test_counts")
    if not counts or not meta["minority_classes"]:
        return None
    n = sum(int(counts[c]) for c in meta["minority_classes"])
    return n if n < MIN_RARE_TEST_IMAGES else None


def _too_few_said(meta: dict, few: int, one: bool) -> str:
    counts = meta["test_counts"]
    listed = some_names([f"{meta['class_names'][c]}: {counts[c]}" for c in meta["minority_classes"]])
    return (f"Not shown, and this test split cannot show it: its rare class{'' if one else 'es'} hold{'s' * one} "
            f"only {few} test image{'s' * (few != 1)} ({listed}), too few for any arm's lead in recalling "
            f"{'it' if few == 1 else 'them'} to be more than luck (it takes {MIN_RARE_TEST_IMAGES} or more); add "
            f"images to the rare class{'' if one else 'es'} and ingest again.")


def answer(report: dict) -> dict:
    """{"verdict": "yes" | "no" | "not shown" | "not evaluated", "arm": the id of the GAN arm spoken of or None,
    "baseline": the id of the baseline it is compared with or None, "lines": [the question and its short answer,
    then one line of numbers per target metric]}."""
    meta, comp = report["meta"], report["comparison"]
    rare = some_names([str(meta["class_names"][c]) for c in meta["minority_classes"]])
    one = len(meta["minority_classes"]) == 1  # "the rare classes (crack)" of a dataset with one
    question = f"Does the synthetic data help on the rare class{'' if one else 'es'} ({rare})?"
    compared = {a: r for a, r in comp["arms"].items() if r["metrics"]}
    if not compared:
        missing = ("no GAN arm ran" if not comp["arms"] else
                   "no baseline arm (oversampling, SMOTE, classic augmentation) ran")
        return {"verdict": "not evaluated", "arm": None, "baseline": None,
                "lines": [f"{question} Not evaluated: {missing}."]}

    def rare_recall(a: str) -> float:
        mean = report["arms"][a]["clean"]["minority_recall"]["mean"]
        return -1.0 if mean is None else mean

    winners = [a for a, r in compared.items() if r["beats_on_all"]]
    arm = max(winners or compared, key=rare_recall)
    row = compared[arm]["metrics"].get("minority_recall") or next(iter(compared[arm]["metrics"].values()))
    base = row["baseline"]
    gan, best = _named(arm), _named(base)
    few = _few_rare_test_images(report)
    ceiling = _recalls_every_rare_image(report, base)
    if few is not None and ceiling is None:
        verdict, said = "not shown", _too_few_said(meta, few, one)
    elif winners and few is None:
        verdict, said = "yes", (f"Yes: {gan} beats the best baselines on balanced accuracy and on rare-class recall "
                                "(its 95 % intervals lie above theirs).")
    elif row["n"] > 1 and row["high"] is not None and row["high"] < 0 and few is None:
        verdict, said = "no", f"No: the best GAN arm there, {gan}, scores below {best}."
    elif ceiling is not None:
        verdict, said = "not shown", (f"Not shown, and this test split cannot show it: {best} already recalls every "
                                      f"rare test image ({ceiling}) on every seed, so no arm can score above it on "
                                      "rare-class recall.")
    elif row["n"] < 2:
        verdict, said = "not shown", (f"Not shown: with one seed there is no interval, so {gan} (the best GAN arm "
                                      f"there) and {best} cannot be told apart.")
    elif row["low"] is not None and row["low"] > 0:
        verdict, said = "not shown", (f"Not shown: the best GAN arm there, {gan}, is ahead of {best} seed by seed, "
                                      "but its 95 % intervals do not clear the best baselines' on both metrics.")
    else:
        verdict, said = "not shown", (f"Not shown: the best GAN arm there, {gan}, and {best} cannot be told apart "
                                      f"on these {row['n']} seeds.")
    if not (verdict == "not shown" and few is not None and ceiling is None):  # that one says to add images
        said += " " + _what_to_do(verdict, gan, best, ceiling is not None)
    numbers = [line for key in ("minority_recall", "balanced_accuracy")
               if (line := _metric_line(report, arm, key, few))]
    return {"verdict": verdict, "arm": arm, "baseline": base, "lines": [f"{question} {said}"] + numbers}


def _what_to_do(verdict: str, gan: str, best: str, ceiling: bool) -> str:
    """The next step, after the answer: a lab head told "No" or "Not shown" was left to guess whether to keep the
    GAN. Where it does not help, the best baseline does as well without a generator to train or samples to review.
    Words the app and the command line share, so no option of either."""
    if verdict == "yes":
        return f"What to do: train your classifier as {gan} does."
    if verdict == "no":
        return (f"What to do: use {best} instead; a generator trained longer may do better in a later "
                "benchmark.")
    if ceiling:
        return f"What to do: use {best}: it needs no generator to train and no samples to review."
    return (f"What to do: use {best} until a benchmark shows a gain: it needs no generator to train and no "
            "samples to review; more seeds narrow the intervals.")


def generator_used(meta: dict) -> Optional[str]:
    """Which generator the GAN arms sampled, in words; None when no GAN arm needed one. The newest finished run is
    the default, which need not be the run whose batches were reviewed (gan_approved takes those, whatever run
    made them)."""
    gen = (meta.get("provenance") or {}).get("generator")
    sampling = [a for a in meta.get("arms", []) if a in SAMPLING_ARMS]
    if not gen or not sampling:
        return None
    return f"run {gen['run_id']} at step {gen['step']}, sampled by {', '.join(_named(a) for a in sampling)}"
