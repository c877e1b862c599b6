"""The benchmark report: one JSON file with stable keys, a markdown summary, and PNG plots.

JSON layout (schema "ganaug.benchmark/1", in "schema"); every interval is {"mean", "low", "high", "std", "n"}:
  meta: dataset, class_names, minority_classes, seeds, arms, skipped_arms, budget, quick, provenance, timing,
        arms_named_in_figures (true: the PNGs name arms as the tables do; an older report's name them by id)
  arms: {arm: {"clean": {metric: interval}, "shifted": {shift: {metric: interval}},
               "per_class_recall": [interval per class], "pr_auc": {class: interval},
               "values": {metric: [per-seed value]}, "n_train": int, "n_synthetic": int, "info": {...}}}
  comparison: best baseline per target metric, paired difference of each GAN arm, "beats", "target_met",
              "answer": {"verdict", "arm", "lines"} (the verdict in words, answer.py)
  sweep: {"arm", "multipliers", "points": [{"multiplier", "n_synthetic", metric: interval}]}
  pr_curves: {arm: {rare class: the precision-recall curve of the first seed}}
  ganaug.benchmarking adds "report": the folder, its files and their sha256, once they are written.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

from ganaug_core.benchmark.answer import METRIC_LABELS, answer, arm_label, generator_used, interval
from ganaug_core.benchmark.arms import ARM_DESCRIPTIONS, BASELINE_ARMS, GAN_ARMS
from ganaug_core.benchmark.harness import RawResults
from ganaug_core.benchmark.metrics import SCALAR_METRICS
from ganaug_core.benchmark.plots import FIGURES, write_plots
from ganaug_core.benchmark.shifts import describe as describe_shifts
from ganaug_core.benchmark.stats import compare_gan_arms
from ganaug_core.benchmark.stats import mean_ci as _mean_ci
from ganaug_core.benchmark.sweep import SWEEP_ARM
from ganaug_core.markdown import plain

SCHEMA = "ganaug.benchmark/1"
SWEEP_METRICS = ("balanced_accuracy", "minority_recall")


def mean_ci(values) -> dict:
    return _mean_ci(values, bounds=(0.0, 1.0))  # every reported metric is a score in [0, 1]


def _finite(x: float) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def summarize(raw: RawResults, arms: Sequence[str], num_classes: int, minority: Sequence[int], meta: dict) -> dict:
    out_arms = {}
    values: dict[str, dict[str, list]] = {}
    for arm in arms:
        runs = sorted((r for r in raw.runs if r.arm == arm), key=lambda r: r.seed)
        if not runs:
            continue
        values[arm] = {m: [_finite(r.clean[m]) for r in runs] for m in SCALAR_METRICS}
        shifts = sorted(runs[0].shifted)
        out_arms[arm] = {
            "clean": {m: mean_ci(values[arm][m]) for m in SCALAR_METRICS},
            "shifted": {s: {m: mean_ci([r.shifted[s][m] for r in runs]) for m in SCALAR_METRICS} for s in shifts},
            "per_class_recall": [mean_ci([r.clean["per_class_recall"][c] for r in runs]) for c in range(num_classes)],
            "pr_auc": {str(c): mean_ci([r.clean["pr_auc"][c] for r in runs]) for c in minority},
            "values": values[arm],
            "n_train": runs[0].n_train,
            "n_synthetic": runs[0].n_synthetic,
            "seconds_per_seed": float(np.mean([r.seconds for r in runs])),
            "info": runs[0].info,
        }
    summary = {a: out_arms[a]["clean"] for a in out_arms}
    comparison = compare_gan_arms(summary, values, [a for a in GAN_ARMS if a in out_arms], BASELINE_ARMS)
    by_m = defaultdict(list)
    for p in raw.sweep:
        by_m[p["multiplier"]].append(p)
    sweep = {
        "arm": SWEEP_ARM,
        "multipliers": sorted(by_m),
        "points": [
            {"multiplier": m, "n_synthetic": by_m[m][0]["n_synthetic"],
             **{k: mean_ci([p["clean"][k] for p in by_m[m]]) for k in SWEEP_METRICS}}
            for m in sorted(by_m)
        ],
    }
    report = {
        "schema": SCHEMA,
        "meta": {**meta, "shifts": describe_shifts(), "metrics": list(SCALAR_METRICS), "arms_named_in_figures": True},
        "arms": out_arms,
        "comparison": comparison,
        "sweep": sweep,
        "pr_curves": {
            arm: {str(c): r.pr_curves[c] for c in minority}
            for arm in out_arms
            for r in [min((r for r in raw.runs if r.arm == arm), key=lambda r: r.seed)]
        },
    }
    comparison["answer"] = answer(report)  # the verdict in words, as report.md, the CLI and the app say it
    return report


def _fmt(ci: dict) -> str:
    if ci["mean"] is None:
        return "–"
    if ci["n"] < 2:
        return f"{ci['mean']:.3f}"
    return f"{ci['mean']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]"


def _budget(budget: dict) -> str:
    return (f"{budget.get('steps')} classifier steps of batch {budget.get('batch_size')}, width "
            f"{budget.get('width')}, learning rate {budget.get('lr')}")


def test_split_said(meta: dict) -> str:
    """The split every score comes from, with its counts, and that it decided nothing: report.md, the CLI's summary
    and the Evaluate page say it alike (the page and the summary said only "the locked test split")."""
    counts, names, rare = meta.get("test_counts"), meta.get("class_names"), meta.get("minority_classes")
    if not (counts and names and rare):  # a report recorded before the counts were
        return "the locked real test split, which trains nothing and tunes nothing"
    listed = ", ".join(f"{names[c]}: {counts[c]}" for c in rare)
    the = "the rare class" if len(rare) == 1 else "the rare classes"
    return (f"the locked real test split, {sum(counts)} images ({listed} in {the}), which trains nothing "
            "and tunes nothing")


def to_markdown(report: dict) -> str:
    """report.md: the answer first, then the protocol, the arms, the scores, the comparison with the best baseline,
    per-class recall, shifts, the ratio sweep and the generator's diagnostics."""
    report = {**report, "meta": {**report["meta"], "dataset": plain(report["meta"]["dataset"]),
                                 "class_names": [plain(n) for n in report["meta"]["class_names"]]}}
    sections = (_md_answer_and_protocol, _md_arms, _md_comparison, _md_per_class, _md_shifts, _md_sweep,
                _md_diagnostics)
    lines = [line for section in sections for line in section(report)]
    return "\n".join(lines + ["", "Plots: " + ", ".join(FIGURES) + ".", ""])


def _minority_names(meta: dict) -> list[str]:
    return [meta["class_names"][c] for c in meta["minority_classes"]]


def _md_answer_and_protocol(report: dict) -> list[str]:
    meta = report["meta"]
    said = answer(report)["lines"]
    seeds = len(meta["seeds"])
    lines = [f"# Downstream benchmark: {meta['dataset']}", "", f"**{said[0]}**", ""]
    lines += [f"- {line}" for line in said[1:]] + ([""] if said[1:] else [])
    if meta.get("caution"):
        lines += [f"**Caution:** {meta['caution']}.", ""]
    lines += [
        f"Every arm trains the same small classifier ({'quick' if meta['quick'] else 'full'} budget: "
        f"{_budget(meta['budget'])}) once per seed, {seeds} seed{'s' * (seeds != 1)}, and is scored on "
        f"{test_split_said(meta)}. Figures are the mean and its 95 % interval over the seeds (Student t); rare "
        f"class{'' if len(meta['minority_classes']) == 1 else 'es'}: "
        f"{', '.join(map(str, _minority_names(meta))) or 'none'}. The intervals show how the scores move with the "
        "seed (the classifier's start and batches, the images sampled or interpolated) on this one test split with "
        "this one generator; another test split or another training of the generator would add variation they "
        "do not show.",
        "",
    ]
    if generator_used(meta):
        lines += [f"Generator: {generator_used(meta)} (`--run` picks another); “{arm_label('gan_approved')}” takes "
                  "the approved samples, whatever run made them.", ""]
    if meta.get("skipped_arms"):
        lines += ["Skipped arms: " + "; ".join(f"{a} ({why})" for a, why in meta["skipped_arms"].items()), ""]
    return lines


def _md_arms(report: dict) -> list[str]:
    meta, arms = report["meta"], report["arms"]
    real_n = sum(meta["train_counts"]) if meta.get("train_counts") else None
    lines = ["## Arms", "", "| arm | trains on | training images | added to the real ones | of them generated |",
             "|---|---|--:|--:|--:|"]
    for arm, a in arms.items():
        added = "–" if real_n is None else str(a["n_train"] - real_n)
        lines.append(f"| {arm} | {ARM_DESCRIPTIONS.get(arm, '')} | {a['n_train']} | {added} | {a['n_synthetic']} |")
    lines += ["", "## Scores on the test split", ""]
    header = ["arm"] + [METRIC_LABELS.get(m, m) for m in meta["metrics"]]
    lines += ["| " + " | ".join(header) + " |", "|---|" + "--:|" * (len(header) - 1)]
    for arm, a in arms.items():
        lines.append("| " + " | ".join([arm] + [_fmt(a["clean"][m]) for m in meta["metrics"]]) + " |")
    return lines + ["", METRIC_DEFINITIONS]


# Where the literature has several definitions under one name, the one these numbers are (a reader citing a G-mean
# would otherwise compare it with imbalanced-learn's default, the geometric mean of the recalls).
METRIC_DEFINITIONS = (
    "Balanced accuracy: the recall averaged over the classes; macro F1: F1 averaged over the classes (scikit-learn's); "
    "macro G-mean: √(recall × specificity) of each class against the rest, averaged over the classes (not the "
    "geometric mean of the recalls); rare-class PR-AUC: average precision (scikit-learn's step-wise area under the "
    "precision-recall curve) of each rare class against the rest, averaged; ECE: top-label expected calibration "
    "error over 15 equal-width confidence bins.")


# The one choice the test split makes, and why it cannot flatter the GAN: "which trains nothing and tunes nothing"
# above a table headed "the highest mean on the test split" read to a lab head as a contradiction. Said alike in
# report.md and on the Evaluate page.
BEST_BASELINE = ("the baseline arm with the highest mean on the test split, per metric: the highest bar a GAN arm "
                 "can be set, so the one choice the test split makes favours the alternatives, never the GAN")


def _md_comparison(report: dict) -> list[str]:
    comp = report["comparison"]
    lines = ["", "## GAN arms against the best baseline", ""]
    if not any(r["metrics"] for r in comp["arms"].values()):  # as the terminal summary: no verdict without both
        missing = "no GAN arm ran" if not comp["arms"] else "no baseline arm (oversample, smote, classic) ran"
        return lines + [f"Not evaluated: {missing}, so the target was not tested.", ""]
    lines.append(f"Best baseline ({BEST_BASELINE}): "
                 + ", ".join(f"{METRIC_LABELS.get(m, m)}: {b}" for m, b in comp["best_baseline"].items()
                             if b is not None) + ".")
    lines += ["", "| GAN arm | metric | baseline | difference (paired) | p | wins | beats |",
              "|---|---|---|---|---|---|---|"]
    for arm, r in comp["arms"].items():
        for m, row in r["metrics"].items():
            diff = interval({"mean": row["mean_diff"], "low": row["low"], "high": row["high"], "n": row["n"]},
                            signed=True)
            p = "–" if row["p_value"] is None else f"{row['p_value']:.3g}"
            lines.append(f"| {arm} | {METRIC_LABELS.get(m, m)} | {row['baseline']} | {diff} | {p} | "
                         f"{row['wins']}/{row['n']} | {'yes' if row['beats'] else 'no'} |")
    verdict = "MET" if comp["target_met"] else "NOT met"
    return lines + [
        "", "p: a paired t-test over the seeds, one per row, not corrected for the several arms and metrics; the "
            "target below is decided by the intervals, not by p.",
        "", f"Target (a GAN arm's 95 % interval entirely above the best baseline's on balanced accuracy and on "
            f"rare-class recall): **{verdict}**.", ""]


def _md_per_class(report: dict) -> list[str]:
    names, minority = report["meta"]["class_names"], _minority_names(report["meta"])
    lines = ["## Per-class recall", "", "Mean over the seeds (their intervals: per_class_recall.png).", "",
             "| arm | " + " | ".join(f"**{n}**" if n in minority else n for n in names) + " |",
             "|" + "---|" * (len(names) + 1)]
    for arm, a in report["arms"].items():
        lines.append(f"| {arm} | " + " | ".join(f"{ci['mean']:.2f}" for ci in a["per_class_recall"]) + " |")
    return lines


def _md_shifts(report: dict) -> list[str]:
    arms = report["arms"]
    shifts = list(next(iter(arms.values()))["shifted"]) if arms else []
    described = report["meta"].get("shifts") or {}
    lines = ["", "## Balanced accuracy under test-time shifts", ""]
    if described:  # a column name alone does not say how strong the shift is
        lines += ["; ".join(f"{s}: {described[s]}" for s in shifts if s in described) + ".", ""]
    lines += ["| arm | clean | " + " | ".join(shifts) + " |", "|" + "---|" * (len(shifts) + 2)]
    for arm, a in arms.items():
        lines.append(f"| {arm} | {_fmt(a['clean']['balanced_accuracy'])} | "
                     + " | ".join(_fmt(a["shifted"][s]["balanced_accuracy"]) for s in shifts) + " |")
    return lines


def _md_sweep(report: dict) -> list[str]:
    sweep = report["sweep"]
    if not sweep["points"]:
        return []
    lines = ["", f"## Ratio sweep ({sweep['arm']} arm; synthetic count = multiplier × gap to the majority)", "",
             "| multiplier | synthetic | balanced accuracy | minority recall |", "|---|---|---|---|"]
    for p in sweep["points"]:
        lines.append(f"| {p['multiplier']:g} | {p['n_synthetic']} | {_fmt(p['balanced_accuracy'])} | "
                     f"{_fmt(p['minority_recall'])} |")
    return lines


def _md_diagnostics(report: dict) -> list[str]:
    meta = report["meta"]
    filt = report["arms"].get("gan_filtered", {}).get("info", {}).get("filter")
    if not filt:
        return []
    lines = ["", f"## Generator diagnostics (automatic scores of gan_filtered's candidates, seed {meta['seeds'][0]})",
             "", "Share of the candidates scored (until enough had passed) that the real-trained classifier assigns "
             "to their class with confidence ≥ "
             f"{meta.get('filter', {}).get('min_confidence', 0.5)} and that are not memorized; "
             "'filled' counts samples taken although they failed, to keep the counts.", "",
             "| class | candidates | passed | memorized | filled |", "|---|---|---|---|---|"]
    for c, st in sorted(filt.items(), key=lambda kv: int(kv[0])):
        n = max(1, st["candidates"])
        lines.append(f"| {meta['class_names'][int(c)]} | {st['candidates']} | {st['passed'] / n:.0%} | "
                     f"{st['memorized'] / n:.0%} | {st['filled']} |")
    return lines


def write_report(report: dict, folder: Path) -> dict[str, str]:
    """Write report.json, report.md and the plots into `folder`; returns file name → sha256."""
    from ganaug_core.imageio import sha256_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=2, sort_keys=False, allow_nan=False) + "\n")
    (folder / "report.md").write_text(to_markdown(report))
    files = ["report.json", "report.md"] + write_plots(report, folder)
    return {name: sha256_file(folder / name) for name in files}
