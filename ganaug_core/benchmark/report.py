"""The benchmark report: one JSON file with stable keys, a markdown summary, and PNG plots.

JSON layout (schema "ganaug.benchmark/1"); every interval is {"mean", "low", "high", "std", "n"}:
  meta: dataset, class_names, minority_classes, seeds, arms, skipped_arms, budget, quick, provenance, timing
  arms: {arm: {"clean": {metric: interval}, "shifted": {shift: {metric: interval}},
               "per_class_recall": [interval per class], "pr_auc": {class: interval},
               "values": {metric: [per-seed value]}, "n_train": int, "n_synthetic": int, "info": {...}}}
  comparison: best baseline per target metric, paired difference of each GAN arm, "beats", "target_met"
  sweep: {"arm", "multipliers", "points": [{"multiplier", "n_synthetic", metric: interval}]}
"""

from __future__ import annotations

import json
import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

from ganaug_core.benchmark.arms import BASELINE_ARMS, GAN_ARMS
from ganaug_core.benchmark.harness import RawResults
from ganaug_core.benchmark.metrics import SCALAR_METRICS
from ganaug_core.benchmark.shifts import describe as describe_shifts
from ganaug_core.benchmark.stats import compare_gan_arms
from ganaug_core.benchmark.stats import mean_ci as _mean_ci
from ganaug_core.benchmark.sweep import SWEEP_ARM

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
    return {
        "schema": SCHEMA,
        "meta": {**meta, "shifts": describe_shifts(), "metrics": list(SCALAR_METRICS)},
        "arms": out_arms,
        "comparison": comparison,
        "sweep": sweep,
        "pr_curves": {
            arm: {str(c): r.pr_curves[c] for c in minority}
            for arm in out_arms
            for r in [min((r for r in raw.runs if r.arm == arm), key=lambda r: r.seed)]
        },
    }


def _fmt(ci: dict) -> str:
    if ci["mean"] is None:
        return "–"
    if ci["n"] < 2:
        return f"{ci['mean']:.3f}"
    return f"{ci['mean']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]"


def to_markdown(report: dict) -> str:
    meta, arms, comp = report["meta"], report["arms"], report["comparison"]
    names = meta["class_names"]
    minority_names = [names[c] for c in meta["minority_classes"]]
    lines = [
        f"# Downstream benchmark: {meta['dataset']}",
        "",
        f"{len(meta['seeds'])} seed(s); {'quick' if meta['quick'] else 'full'} budget {meta['budget']}; "
        f"minority classes: {', '.join(minority_names) or 'none'}. Mean and 95 % interval over seeds, "
        "on the locked real test split.",
        "",
    ]
    if meta.get("caution"):
        lines += [f"**Caution:** {meta['caution']}.", ""]
    if meta.get("skipped_arms"):
        lines += [f"Skipped arms: " + "; ".join(f"{a} ({why})" for a, why in meta["skipped_arms"].items()), ""]
    header = ["arm", "train n", "synthetic"] + list(meta["metrics"])
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for arm, a in arms.items():
        row = [arm, str(a["n_train"]), str(a["n_synthetic"])] + [_fmt(a["clean"][m]) for m in meta["metrics"]]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## GAN arms against the best baseline", ""]
    best = comp["best_baseline"]
    compared = any(r["metrics"] for r in comp["arms"].values())
    if not compared:  # as the terminal summary: no verdict without both a GAN arm and a baseline
        missing = "no GAN arm ran" if not comp["arms"] else "no baseline arm (oversample, smote, classic) ran"
        lines += [f"Not evaluated: {missing}, so the target was not tested.", ""]
    else:
        lines.append("Best baseline: " + ", ".join(f"{m}: {b}" for m, b in best.items() if b is not None) + ".")
        lines += ["", "| GAN arm | metric | baseline | difference (paired) | p | wins | beats |",
                  "|---|---|---|---|---|---|---|"]
        for arm, r in comp["arms"].items():
            for m, row in r["metrics"].items():
                diff = _fmt({"mean": row["mean_diff"], "low": row["low"], "high": row["high"], "n": row["n"]})
                p = "–" if row["p_value"] is None else f"{row['p_value']:.3g}"
                lines.append(f"| {arm} | {m} | {row['baseline']} | {diff} | {p} | {row['wins']}/{row['n']} | "
                             f"{'yes' if row['beats'] else 'no'} |")
        verdict = "MET" if comp["target_met"] else "NOT met"
        lines += ["", f"Target (a GAN arm's 95 % interval entirely above the best baseline's on balanced accuracy "
                      f"and on mean minority recall): **{verdict}**.", ""]
    lines += ["## Per-class recall", "", "| arm | " + " | ".join(
        f"**{n}**" if n in minority_names else n for n in names) + " |", "|" + "---|" * (len(names) + 1)]
    for arm, a in arms.items():
        lines.append(f"| {arm} | " + " | ".join(f"{ci['mean']:.2f}" for ci in a["per_class_recall"]) + " |")
    shifts = list(next(iter(arms.values()))["shifted"]) if arms else []
    lines += ["", "## Balanced accuracy under test-time shifts", "",
              "| arm | clean | " + " | ".join(shifts) + " |", "|" + "---|" * (len(shifts) + 2)]
    for arm, a in arms.items():
        lines.append(f"| {arm} | {_fmt(a['clean']['balanced_accuracy'])} | "
                     + " | ".join(_fmt(a["shifted"][s]["balanced_accuracy"]) for s in shifts) + " |")
    sweep = report["sweep"]
    if sweep["points"]:
        lines += ["", f"## Ratio sweep ({sweep['arm']} arm; synthetic count = multiplier × gap to the majority)", "",
                  "| multiplier | synthetic | balanced accuracy | minority recall |", "|---|---|---|---|"]
        for p in sweep["points"]:
            lines.append(f"| {p['multiplier']:g} | {p['n_synthetic']} | {_fmt(p['balanced_accuracy'])} | "
                         f"{_fmt(p['minority_recall'])} |")
    filt = arms.get("gan_filtered", {}).get("info", {}).get("filter")
    if filt:
        lines += ["", f"## Generator diagnostics (automatic scores of gan_filtered's candidates, seed {meta['seeds'][0]})",
                  "", "Share of candidates the real-trained classifier assigns to their class with confidence ≥ "
                  f"{meta.get('filter', {}).get('min_confidence', 0.5)} and that are not memorized; "
                  "'filled' counts samples taken although they failed, to keep the counts.", "",
                  "| class | candidates | passed | memorized | filled |", "|---|---|---|---|---|"]
        for c, st in sorted(filt.items(), key=lambda kv: int(kv[0])):
            n = max(1, st["candidates"])
            lines.append(f"| {names[int(c)]} | {st['candidates']} | {st['passed'] / n:.0%} | "
                         f"{st['memorized'] / n:.0%} | {st['filled']} |")
    lines += ["", "Plots: per_class_recall.png, ratio_sweep.png, pr_curves.png.", ""]
    return "\n".join(lines)


def _short(label: str, limit: int = 24) -> str:
    """A tick label that fits under its bars; the report's tables carry the full class name."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def write_plots(report: dict, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta, arms = report["meta"], report["arms"]
    names, minority = meta["class_names"], meta["minority_classes"]
    written = []
    fig, ax = plt.subplots(figsize=(max(6, len(names) * 0.9), 4))
    width = 0.8 / max(1, len(arms))
    for i, (arm, a) in enumerate(arms.items()):
        means = [ci["mean"] for ci in a["per_class_recall"]]
        # Recall lives in [0, 1]; a t interval over few seeds can poke outside, so the bars are clipped for display.
        err = [[ci["mean"] - max(0.0, ci["low"]) for ci in a["per_class_recall"]],
               [min(1.0, ci["high"]) - ci["mean"] for ci in a["per_class_recall"]]]
        ax.bar(np.arange(len(names)) + i * width, means, width, yerr=err, label=arm,
               error_kw={"elinewidth": 0.7, "ecolor": "0.3"})
    for c in minority:
        ax.axvspan(c - width / 2 - 0.05, c + 0.8 - width / 2 + 0.05, color="orange", alpha=0.12)
    ticks = [_short(str(n)) + ("*" if i in minority else "") for i, n in enumerate(names)]
    slanted = max(map(len, ticks)) > 6  # long class names would run into each other
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, ticks, rotation=30 if slanted else 0,
                  ha="right" if slanted else "center", rotation_mode="anchor")
    ax.set_ylabel("recall (test)"), ax.set_ylim(0, 1.3), ax.set_title("Per-class recall (* minority, shaded)")
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.legend(fontsize=8, ncol=4, loc="upper center")  # above the bars, which reach 1.0
    fig.tight_layout(), fig.savefig(folder / "per_class_recall.png", dpi=100), plt.close(fig)
    written.append("per_class_recall.png")

    points = report["sweep"]["points"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for key, label in (("balanced_accuracy", "balanced accuracy"), ("minority_recall", "mean minority recall")):
        if points:
            xs = [p["multiplier"] for p in points]
            ys = [p[key]["mean"] for p in points]
            err = [[p[key]["mean"] - p[key]["low"] for p in points], [p[key]["high"] - p[key]["mean"] for p in points]]
            ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=label)
    ax.set_xlabel("synthetic count / gap to majority"), ax.set_ylabel("test score"), ax.set_title("Ratio sweep")
    ax.legend() if points else ax.text(0.5, 0.5, "no sweep (gan arm not run)", ha="center", transform=ax.transAxes)
    fig.tight_layout(), fig.savefig(folder / "ratio_sweep.png", dpi=100), plt.close(fig)
    written.append("ratio_sweep.png")

    curves = report["pr_curves"]
    cols = max(1, len(minority))
    fig, axes = plt.subplots(1, cols, figsize=(3.6 * cols, 3.4), squeeze=False)
    for ax, c in zip(axes[0], minority or [None]):
        for arm in arms:
            if c is not None and str(c) in curves.get(arm, {}):
                pts = np.asarray(curves[arm][str(c)])
                ax.plot(pts[:, 0], pts[:, 1], label=arm, lw=1.2)
        ax.set_title(textwrap.fill(f"class {names[c]}", 30) if c is not None else "no minority class", fontsize=10)
        ax.set_xlabel("recall"), ax.set_ylabel("precision"), ax.set_xlim(0, 1), ax.set_ylim(0, 1.05)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"PR curves, minority classes (seed {meta['seeds'][0]})")
    fig.tight_layout(), fig.savefig(folder / "pr_curves.png", dpi=100), plt.close(fig)
    written.append("pr_curves.png")
    return written


def write_report(report: dict, folder: Path) -> dict[str, str]:
    """Write report.json, report.md and the plots into `folder`; returns file name → sha256."""
    from ganaug_core.imageio import sha256_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=2, sort_keys=False, allow_nan=False) + "\n")
    (folder / "report.md").write_text(to_markdown(report))
    files = ["report.json", "report.md"] + write_plots(report, folder)
    return {name: sha256_file(folder / name) for name in files}
