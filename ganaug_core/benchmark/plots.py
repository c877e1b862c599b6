"""The benchmark report's PNG plots: the two target metrics per arm, per-class recall, the ratio sweep, PR curves.

Every arm keeps one colour in every plot and every report (baselines in blues and black, GAN arms in reds, purple and
khaki), so "the red bars" mean the same arm on each figure; the colours stay apart for colour-blind readers, and the
arms' figure and PR curves mark baselines by shape or dashes too. Each figure is built by a function that returns it,
so a test can look at what is drawn; `write_plots` saves and closes them.
"""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import numpy as np

from ganaug_core.benchmark.answer import arm_label
from ganaug_core.benchmark.arms import BASELINE_ARMS
from ganaug_core.contrast import text_on
from ganaug_core.shown_text import one_line

# Colour-blind-safe (Okabe & Ito's and Paul Tol's palettes): matplotlib's tab10 gave SMOTE and classic augmentation
# two blues, GAN samples and GAN + classic an orange and a red, that readers mixed up, and a deuteranope saw classic
# augmentation and the filtered GAN arm alike (CIE76 ΔE 7.6 in a simulation). Every pair of these 8 page arms is
# ΔE ≥ 24 apart with normal vision and with simulated deuteranopia and protanopia (Machado et al. 2009), gan_mix
# (command line only) ≥ 17; tests/core/test_benchmark_palette.py checks it. Each is also 3:1 or more against the
# white figure (WCAG 1.4.11, tests/app/test_colour_contrast.py): the palettes' grey, sky blue, orange and sand were
# 1.6–2.9:1, so each is darkened to the shade nearest its hue that keeps both.
ARM_COLOURS = {
    "real": "#949494",  # grey: the reference every arm is measured against
    "oversample": "#0099EA",  # sky blue
    "smote": "#332288",  # indigo
    "classic": "#000000",
    "gan": "#D55E00",  # vermillion
    "gan_classic": "#882255",  # wine
    "gan_mix": "#814B00",  # brown: an orange dark enough was too near the vermillion for a protanope
    "gan_filtered": "#9F935D",  # sand, darkened to khaki
    "gan_approved": "#AA4499",  # purple
}
TARGETS = (("minority_recall", "rare-class recall"), ("balanced_accuracy", "balanced accuracy"))
# A dataset of 100 classes, 95 of them rare, drew figures ~10,000 px wide (a row of bars per class; every rare
# class named in a title) and 32,000 px wide (a PR panel per rare class). Past these sizes they are drawn otherwise:
NAMED_IN_TITLE = 4  # rare classes named in a title; more are counted
MANY_CLASSES = 20  # per-class recall: a row of bars up to this many classes, a table of colours past it
PR_PANELS = 8  # PR curves of at most this many rare classes, the rarest (fewest training images), 4 to a row
PR_COLUMNS = 4
# The figures are read on the Evaluate page at 100 dpi: a wide or tall one gets the page's width there, ~900 px on a
# 1366-px screen, so up to about 9 inches a point of text is 1.4 px. A 40-class table of 6-pt cells, drawn 10 inches
# wide and shown in half the page, read at 4 px; its cells and rows are sized for 9-pt text instead.
TABLE_FONT = 9  # pt: the per-class recall table's values and class names
TABLE_ROW_IN = 0.25  # inches per class
TABLE_ARM_IN = 0.7  # inches per arm: a value of TABLE_FONT with room on either side
BAR_IN = 0.07  # per-class recall bars: inches per bar, plus CLASS_GAP_IN per class
CLASS_GAP_IN = 0.25
BARS_MAX_IN = 9.0  # per-class recall bars: the widest row, ~900 px (10 classes of 9 arms); more classes wrap
BAR_ROW_IN = 3.8  # inches per further row of bars
# The Evaluate page shows each figure one to a row, at its own width or the page's, whichever is less: ~560 px at a
# 1024-px screen (sidebar open), ~980 px at 1440. Matplotlib's 10-pt default, on the 9-inch arms figure shrunk to
# half of a 1024-px page, read at 4 px; at READABLE's 12 pt a 7.5-inch figure reads at ~10 px there, ~17 px at 1440.
READABLE = {"font.size": 12, "axes.titlesize": 12, "axes.labelsize": 12, "xtick.labelsize": 11,
            "ytick.labelsize": 11, "legend.fontsize": 11}
ARMS_FIGURE_IN = 7.5
PR_PANEL_IN = 2.6
PR_LEGEND_COLUMNS = 4  # a PR panel's side: four to a row at 3.4 inches drew a 15-inch figure, shrunk to 6 px text
# Arms to a line of the PR curves' legend: four of their names (up to ARM_NAME_CHARS wide) drew it 857 px wide, wider
# than three panels, and its text 9.1 px at a 1024-px screen; three keep it within the panels.
PR_LEGEND_ARMS = 3


def _readable(build):
    """`build` drawing its text at READABLE's sizes: a text's size is fixed as it is made, and tight_layout makes
    room for it, so a figure built so keeps them wherever it is saved (a test, `write_plots`)."""
    @functools.wraps(build)
    def built(*args, **kwargs):
        with _pyplot().rc_context(READABLE):
            return build(*args, **kwargs)
    return built


def arm_colour(arm: str) -> str:
    return ARM_COLOURS.get(arm, "black")


# An arm's name in a figure, as the Evaluate page's tables and the answer give it ("GAN samples + classic
# augmentation", not `gan_classic`), on lines of at most this many characters: whole on one line, the longest
# widened the arms' panels' labels and the legends so far that the figure, shrunk to a 1024-px page, read under 9 px.
ARM_NAME_CHARS = 22  # two lines at most: "GAN samples + classic" / "augmentation"
NAME_LINE_IN = 0.15  # inches a further line of an arm's name adds to its row (11-pt text)


def arm_name(arm: str) -> str:
    return textwrap.fill(arm_label(arm), ARM_NAME_CHARS, break_long_words=False)


def _name_lines(arms) -> int:
    """The most lines an arm's name takes in a legend."""
    return max((arm_name(a).count("\n") + 1 for a in arms), default=1)


def _short(label: str, limit: int = 24) -> str:
    """A class's name as a tick label that fits under its bars, shown as the command line prints it (`one_line`: a
    bidi override reversed the text after it, a line break split the tick); the report's tables carry the full name."""
    label = one_line(label)
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _error(cis: list[dict]) -> list[list[float]]:
    # Scores live in [0, 1]; a t interval over few seeds can poke outside, so the bars are clipped for display.
    return [[ci["mean"] - max(0.0, ci["low"]) for ci in cis], [min(1.0, ci["high"]) - ci["mean"] for ci in cis]]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    # Class names are a dataset giver's folder names, drawn as text: matplotlib read "$…$" in them as math, so "$5 or
    # $10" came out in italics and "$\x$" stopped the benchmark's report (ParseFatalException at savefig). No
    # figure here writes math.
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt


BAND_GREY = "0.85"  # the best baseline's interval behind every arm's points
# The band is 1.4:1 against the white figure and four arms' points 2.1–2.7:1 against the band, under the 3:1 a mark
# needs (WCAG 1.4.11): the band gets edges and every point an outline that stand out from both.
BAND_EDGE = "0.35"
POINT_EDGE = "black"


@_readable
def arms_figure(report: dict):
    """The answer at a glance: each arm's mean and 95 % interval on the two target metrics, the best baseline's
    interval shaded, so a GAN arm whose interval clears the band beats it."""
    plt = _pyplot()
    meta, arms, best = report["meta"], report["arms"], report["comparison"]["best_baseline"]
    names = [a for a in arms if arms[a]["clean"]["minority_recall"]["mean"] is not None]
    minority = _rare_classes(meta)
    row_in = 0.45 + NAME_LINE_IN * (_name_lines(names) - 1)  # a name on two lines ran into the next one's
    # 1.4 inches for the titles and labels: the best baseline's name has a line of its own in each panel's title
    fig, axes = plt.subplots(1, 2, figsize=(ARMS_FIGURE_IN, 1.4 + row_in * max(1, len(names))), sharey=True,
                             squeeze=False)
    ys = np.arange(len(names))[::-1]
    for ax, (key, label) in zip(axes[0], TARGETS):
        cis = [arms[a]["clean"][key] for a in names]
        base = best.get(key)
        if base in arms:
            b = arms[base]["clean"][key]
            # Grey, not the baseline's colour: its own point, drawn in that colour, vanished inside a band of it.
            ax.axvspan(max(0.0, b["low"]), min(1.0, b["high"]), facecolor=BAND_GREY, edgecolor=BAND_EDGE, lw=1,
                       zorder=0)
        for y, a, ci, (lo, hi) in zip(ys, names, cis, zip(*_error(cis))):
            # Baselines square, GAN arms round: a second cue where colours are hard to tell apart
            ax.errorbar(ci["mean"], y, xerr=[[lo], [hi]], fmt="s" if a in BASELINE_ARMS else "o",
                        color=arm_colour(a), mec=POINT_EDGE, capsize=4, ms=6)
        ax.set_xlim(-0.02, 1.02), ax.grid(axis="x", alpha=0.3)  # a point at 0 or 1 stays whole
        ax.set_xlabel(f"{label}, test split\n(higher is better)")  # on one line the two panels' labels ran together
        # Named in the title: a legend inside the panel covered the points of the last arms.
        title = label + (f" ({minority})" if key == "minority_recall" and minority else "")
        ax.set_title(title + (f"\nshaded: best baseline,\n{arm_label(base)}" if base in arms else ""))
    axes[0][0].set_yticks(ys, [arm_name(a) for a in names])
    seeds = len(meta["seeds"])
    fig.suptitle(f"Mean and 95 % interval over {seeds} seed{'s' * (seeds != 1)}; an arm beats the baseline\nwhen its "
                 "interval clears the shaded band", fontsize="medium")
    fig.tight_layout()
    return fig


def _rare_classes(meta: dict) -> str:
    minority = meta["minority_classes"]
    if len(minority) > NAMED_IN_TITLE:
        return f"{len(minority)} rare classes"
    return ", ".join(_short(str(meta["class_names"][c]), 12) for c in minority)


@_readable
def per_class_recall_figure(report: dict):
    plt = _pyplot()
    meta, arms = report["meta"], report["arms"]
    names = meta["class_names"]
    if len(names) > MANY_CLASSES:
        return _per_class_recall_table(report)
    # As wide as its bars need, up to BARS_MAX_IN; more classes wrap onto rows of panels one under the other: 20
    # classes of 8 arms in one row drew 16 inches, shown at 1,611 px (or shrunk to 6 px text on a 1366-px screen).
    class_in = CLASS_GAP_IN + BAR_IN * len(arms)
    rows = max(1, -(-len(names) // max(1, int(BARS_MAX_IN // class_in))))
    per_row = -(-len(names) // rows)  # balanced: 20 classes are two rows of 10, not 11 and 9
    fig, axes = plt.subplots(rows, 1, figsize=(max(6.0, per_row * class_in), 4.4 + BAR_ROW_IN * (rows - 1)),
                             squeeze=False)
    for row, ax in enumerate(axes[:, 0]):
        _recall_bars(ax, report, range(row * per_row, min(len(names), (row + 1) * per_row)), per_row)
        ax.set_ylabel("recall on the test split")
    axes[0, 0].set_title("Per-class recall: mean and 95 % interval over seeds")
    axes[-1, 0].set_xlabel("class (* rare, shaded)")
    # Beside the bars, which reach 1.0; inside the axes it hid them.
    axes[0, 0].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    return fig


def _recall_bars(ax, report: dict, classes: range, slots: int) -> None:
    """One panel of per-class recall bars: a group of bars per class of `classes`, the panel `slots` groups wide (so
    that a last, shorter row's bars are as wide as the others')."""
    arms, names, minority = report["arms"], report["meta"]["class_names"], report["meta"]["minority_classes"]
    width = 0.8 / max(1, len(arms))
    xs = np.arange(len(classes))
    for i, (arm, a) in enumerate(arms.items()):
        cis = [a["per_class_recall"][c] for c in classes]
        ax.bar(xs + i * width, [ci["mean"] for ci in cis], width, yerr=_error(cis), label=arm_name(arm),
               color=arm_colour(arm),
               error_kw={"elinewidth": 0.7, "ecolor": "0.3"})
    for x, c in enumerate(classes):
        if c in minority:
            ax.axvspan(x - width / 2 - 0.05, x + 0.8 - width / 2 + 0.05, color="orange", alpha=0.12)
    ticks = [_short(str(names[c])) + ("*" if c in minority else "") for c in classes]
    slanted = max(map(len, ticks)) > 6  # long class names would run into each other
    ax.set_xticks(xs + 0.4 - width / 2, ticks, rotation=30 if slanted else 0, ha="right" if slanted else "center",
                  rotation_mode="anchor")
    ax.set_xlim(-0.5, slots - 0.5 + 0.8 - width), ax.set_ylim(0, 1.0)


@_readable
def _per_class_recall_table(report: dict):
    """Per-class recall of many classes: a row per class, a column per arm, each cell coloured and written."""
    plt = _pyplot()
    meta, arms = report["meta"], report["arms"]
    names, minority = meta["class_names"], set(meta["minority_classes"])
    means = np.array([[np.nan if ci["mean"] is None else ci["mean"] for ci in a["per_class_recall"]]
                      for a in arms.values()], dtype=np.float64).T  # (classes, arms)
    labels = [_short(str(n), 32) + (" *" if i in minority else "") for i, n in enumerate(names)]
    # Class names to the left (~0.6 em a character), a column per arm, the colour bar and margins to the right.
    names_in = 0.6 * TABLE_FONT / 72 * max(map(len, labels))
    fig, ax = plt.subplots(figsize=(names_in + 1.2 + TABLE_ARM_IN * len(arms), 1.6 + TABLE_ROW_IN * len(names)))
    image = ax.imshow(means, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    for (row, col), value in np.ndenumerate(means):
        if np.isfinite(value):
            # Black or white, whichever reads better on the cell: white below 0.6 read at 3.0:1 on viridis' green
            # (0.55–0.6), where 9-pt text needs 4.5:1 (WCAG 1.4.3).
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=TABLE_FONT,
                    color=text_on(image.cmap(image.norm(value))))
    ax.xaxis.tick_top()
    ax.set_xticks(np.arange(len(arms)), [arm_name(a) for a in arms], rotation=30, ha="left", rotation_mode="anchor",
                  fontsize=TABLE_FONT + 1)
    ax.set_yticks(np.arange(len(names)), labels, fontsize=TABLE_FONT)
    bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02, shrink=min(1.0, 40 / len(names)))
    bar.ax.tick_params(labelsize=TABLE_FONT)
    ax.set_title("Per-class recall on the test split, mean over seeds (* rare)", fontsize=TABLE_FONT + 2)
    fig.tight_layout()
    return fig


@_readable
def ratio_sweep_figure(report: dict):
    plt = _pyplot()
    sweep = report["sweep"]
    points = sweep["points"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    colour = arm_colour(sweep.get("arm", "gan"))
    for (key, label), style, dx in zip(TARGETS, ("-", "--"), (-0.02, 0.02)):
        if points:
            # The two series share x; a small offset keeps their interval bars apart.
            xs = [p["multiplier"] + dx for p in points]
            ys = [p[key]["mean"] for p in points]
            ax.errorbar(xs, ys, yerr=_error([p[key] for p in points]), marker="o" if style == "-" else "s",
                        ls=style, capsize=3, color=colour, label=label)
    ax.set_xlabel("synthetic images per class ÷ its gap to the largest class"), ax.set_ylabel("test score")
    ax.set_ylim(-0.02, 1.05)
    seeds = len(report["meta"]["seeds"])
    # The error bars say what they are, as on the other figures: a reader cannot guess seeds from a bar.
    fig.suptitle(f"Ratio sweep ({arm_label(sweep.get('arm', 'gan'))}; 0 = real only)\nmean and 95 % interval over "
                 f"{seeds} seed{'s' * (seeds != 1)}", fontsize="medium")
    if points:
        ax.set_xticks([p["multiplier"] for p in points])
        # Above the axes: inside, it covered the last points.
        ax.legend(fontsize="small", ncol=2, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    else:
        ax.text(0.5, 0.5, f"no sweep ({arm_label('gan')} not run)", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    return fig


@_readable
def pr_curves_figure(report: dict):
    plt = _pyplot()
    meta, arms, curves = report["meta"], report["arms"], report["pr_curves"]
    names, minority = meta["class_names"], meta["minority_classes"]
    shown = minority
    if len(minority) > PR_PANELS:
        counts = meta.get("train_counts") or [0] * len(names)
        shown = sorted(sorted(minority, key=lambda c: (counts[c], c))[:PR_PANELS])
    cols = max(1, min(len(shown), PR_COLUMNS))
    rows = -(-max(1, len(shown)) // cols)
    # The legend below the panels, PR_LEGEND_ARMS arms to a line: to their right it took 1.8 inches, and three
    # panels drew 9.6 inches, shrunk to 7-px text at a 1024-px screen's 562 px.
    legend_in = (0.3 + NAME_LINE_IN * (_name_lines(arms) - 1)) * -(-len(arms) // PR_LEGEND_ARMS) + 0.1
    width, height = PR_PANEL_IN * cols + 0.3, PR_PANEL_IN * rows + 0.6 + legend_in
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False)
    for ax in axes.flat[max(1, len(shown)):]:
        ax.set_visible(False)
    for ax, c in zip(axes.flat, shown or [None]):
        for arm in arms:
            if c is not None and str(c) in curves.get(arm, {}):
                pts = np.asarray(curves[arm][str(c)])
                # Steps, as scikit-learn draws them and as average precision sums them: straight lines between the
                # points would credit precision between thresholds that no classifier reaches.
                ax.plot(pts[:, 0], pts[:, 1], label=arm_name(arm), lw=1.2, color=arm_colour(arm),
                        drawstyle="steps-post",
                        ls="-" if arm == "real" or arm not in BASELINE_ARMS else "--")
        ax.set_title(textwrap.fill(f"class {one_line(names[c])}", 26) if c is not None else "no minority class",
                     fontsize="medium")
        ax.set_xlabel("recall"), ax.set_ylabel("precision"), ax.set_xlim(0, 1), ax.set_ylim(0, 1.05)
        ax.set_xticks([0, 0.5, 1]), ax.set_yticks([0, 0.5, 1])  # five ticks a side crowded a smaller panel
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:  # one legend for all panels, below them: inside a panel it covered the curves
        fig.legend(handles, labels, fontsize="small", loc="lower center", ncol=PR_LEGEND_ARMS, frameon=False)
    which = (f"the {len(shown)} rarest of {len(minority)} rare classes" if len(shown) < len(minority) else
             "rare class" if len(minority) == 1 else "rare classes")
    fig.suptitle(f"PR curves, {which} (seed {meta['seeds'][0]})", fontsize="medium")
    fig.tight_layout(rect=(0, legend_in / height, 1, 1))
    return fig


FIGURES = {"arms.png": arms_figure, "per_class_recall.png": per_class_recall_figure,
           "ratio_sweep.png": ratio_sweep_figure, "pr_curves.png": pr_curves_figure}


def write_plots(report: dict, folder: Path) -> list[str]:
    plt = _pyplot()
    for name, build in FIGURES.items():
        fig = build(report)
        fig.savefig(folder / name, dpi=100, bbox_inches="tight")
        plt.close(fig)
    return list(FIGURES)
