"""Evaluate's Results: a benchmark report drawn for a reader who is no statistician, at 1024 px as at 1440 px.

The answer first, each comparison in words before its figures; the arms' table with the two target metrics only (its
every measure in an expander below, as the batch-quality table does); the figures one to a row.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import pandas as pd
import streamlit as st
from PIL import Image

from db import views
from db.engine import session_scope
from ganaug_core.benchmark.answer import IN_FIGURES, METRIC_LABELS, answer, arm_label, generator_used
from ganaug_core.benchmark.report import BEST_BASELINE, test_split_said
from ganaug_core.benchmark.seeds import DEFAULT_SEEDS
from pages.tables import MISSING, table_columns, text_cells
from pages.ui import home, plain

# The arms' table as shown first: the two metrics the answer is decided on. With every measure it was 1,242 px wide,
# scrolled sideways inside the 562 px of a 1024-px screen (sidebar open) and the 978 px of a 1440-px one.
ARMS_COLUMNS = ["arm", "minority_recall", "balanced_accuracy"]
# What each figure of a report shows, in words: its file's name ("per class recall") told a reviewer nothing.
FIGURE_CAPTIONS = {
    "arms": "Each arm's rare-class recall and balanced accuracy: the dot is the mean over seeds, the line its 95 % "
            "interval. An arm beats the best baseline where its line lies wholly right of the grey band.",
    "per_class_recall": "Recall per class and arm: the share of the class's test images the classifier names "
                        "right (rare classes starred and shaded).",
    "ratio_sweep": "The GAN arm with more synthetic images: 0 is the real images alone, 1 fills each rare class's "
                   "gap to the largest class, 2 twice that.",
    "pr_curves": "Precision against recall for each rare class: the nearer a curve keeps to the top right, the "
                 "better that arm picks the class out.",
}

# Where a figure's numbers are in words, for a reader who cannot see it (its alt text, after its caption): a screen
# reader said "image" of each, and nothing more.
FIGURE_NUMBERS = {
    "arms": "Its numbers are in the table of arms above.",
    "per_class_recall": "Its numbers, the mean over seeds, are in the full report below, under “Per-class recall”.",
    "ratio_sweep": "Its numbers are in the ratio sweep's table above.",
    "pr_curves": "The area under each arm's curves (rare-class PR-AUC) is in the table of every measure above.",
}


def measured(value) -> bool:
    """A number to show: not None and not NaN (a metrics file may hold a NaN, which the table printed as "nan")."""
    return value is not None and not math.isnan(value)


def ci_text(ci: dict) -> str:
    if not isinstance(ci, dict) or not measured(ci.get("mean")):
        return MISSING
    if (ci.get("n") or 0) < 2 or not (measured(ci.get("low")) and measured(ci.get("high"))):
        return f"{ci['mean']:.3f}"
    return f"{ci['mean']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]"


def benchmark_answer(data: dict):
    """The report's answer in words, worked out from its recorded comparison (so that a report recorded when the
    answer named arms by id, `gan_classic`, names them as the tables do); the recorded answer where the report lacks
    the parts it needs, or None."""
    try:
        return answer(data)
    except (KeyError, TypeError, IndexError, StopIteration):
        return (data.get("comparison") or {}).get("answer") or None


def answer_markdown(lines: list[str]) -> str:
    """The question and its answer in bold, then a point per target metric: its words, and its figures on a line of
    their own beneath them, for whoever wants the intervals."""
    points = [plain(line).replace(" " + plain(IN_FIGURES), "  \n" + plain(IN_FIGURES), 1) for line in lines[1:]]
    return "**" + plain(lines[0]) + "**" + "".join(f"\n- {point}" for point in points)


def drawn_width(plot: Path) -> Optional[int]:
    """A figure's width in pixels as drawn, or None where it cannot be read (st.image then says what is wrong)."""
    try:
        with Image.open(plot) as image:
            return image.width
    except (OSError, Image.DecompressionBombError):
        return None


def figure_caption(plot: Path) -> str:
    return FIGURE_CAPTIONS.get(plot.stem, plot.stem.replace("_", " "))


def figure_alt(plot: Path) -> str:
    """A figure in words, for a screen reader: what it shows and where its numbers are."""
    return " ".join(["Chart:", figure_caption(plot), *([FIGURE_NUMBERS[plot.stem]] if plot.stem in FIGURE_NUMBERS
                                                         else [])])


def show_plots(plots: list[Path], arms: list[str], named: bool) -> None:
    """Each figure one to a row, at its own width or the page's, whichever is less: two to a row, half of a 1024-px
    page (~270 px) shrank the arms' figure to a third of its size and its text to 4 px. The figures are drawn for
    this (`plots.READABLE`). `named`: the figures name the arms as the tables do (`plots.arm_name`); an older
    report's name them by id, which a caption spells out."""
    for plot in plots:
        st.image(str(plot), caption=figure_caption(plot), alt=figure_alt(plot))
    if plots and arms and not named:
        st.caption("In the figures: " + "; ".join(f"`{arm}` = {arm_label(arm)}" for arm in arms) + ".")


def in_app_words(caution: str) -> str:
    """A report's caution names the command line's options (report.md is read beside `ganaug benchmark`); on this
    page the form's own switch and field do the same."""
    return (caution.replace(f"run without --quick ({DEFAULT_SEEDS} seeds)",
                            f"run it again with “Quick” off ({DEFAULT_SEEDS} seeds)")
            .replace(f"run with --seeds {DEFAULT_SEEDS}", f"run it again with {DEFAULT_SEEDS} seeds"))


def arms_table(arms_data: dict, meta: dict) -> None:
    """The two target metrics per arm; every measure, with the training-set sizes, in an expander below."""
    table = pd.DataFrame([{"arm": arm_label(arm), "n_train": a.get("n_train"), "n_synthetic": a.get("n_synthetic"),
                           **{m: ci_text(ci) for m, ci in a.get("clean", {}).items()}} for arm, a in arms_data.items()])
    # Which images, how many of them rare, and that they decided nothing: in report.md's and the CLI's words.
    split = plain(test_split_said(meta))
    st.markdown(f"Each arm's score on {split}: the mean over seeds, and in brackets the range it would likely fall "
                "in with other seeds (95 % interval). From 0 to 1, higher is better.")
    main = table[[c for c in ARMS_COLUMNS if c in table.columns]]
    st.dataframe(text_cells(main), hide_index=True, column_config=table_columns(main), placeholder=MISSING,
                 key="eval_arms_table")
    with st.expander("Every measure (training images, macro F1, G-mean, PR-AUC, calibration error)"):
        st.dataframe(text_cells(table), hide_index=True, column_config=table_columns(table), placeholder=MISSING,
                     key="eval_arms_all")


def benchmark_results(dataset: str) -> None:
    st.header("Results")
    with session_scope() as session:
        reports = views.reports_for(session, dataset, "benchmark")
    if not reports:
        st.caption("No benchmark report for this dataset yet.")
        return
    report = st.selectbox("Report", reports, key="eval_report",
                          format_func=lambda r: f"report {r['id']} · {str(r['created'])[:19]}"
                          + (f" · gated set {r['manifest_sha256'][:12]}" if r["manifest_sha256"] else ""))
    folder = Path(home()) / report["path"]
    data = {}
    for candidate in sorted(folder.glob("*.json")):
        try:
            data = json.loads(candidate.read_text())
            break
        except (OSError, json.JSONDecodeError):
            continue
    arms_data = data.get("arms") or {}
    said = benchmark_answer(data)
    if said:  # the question the page asks, answered before any table
        show = {"yes": st.success, "no": st.error}.get(said["verdict"], st.info)
        show(answer_markdown(said["lines"]))
    caution = (data.get("meta") or {}).get("caution")
    if caution:
        st.warning(f"Caution: {plain(in_app_words(caution))}.", icon=":material/warning:")
    used = generator_used(data.get("meta") or {})
    if used:  # the newest finished run by default, which need not be the one whose batches were reviewed
        st.caption(f"Generator: {plain(used)}; “{arm_label('gan_approved')}” takes the approved samples, whatever "
                   "run made them.")
    if arms_data:
        arms_table(arms_data, data.get("meta") or {})
    else:
        st.json(report["summary"])
    skipped = (data.get("meta") or {}).get("skipped_arms") or {}
    if skipped:  # `ganaug benchmark` names them under its table; here the reviewers' arm vanished without a word
        st.caption("Not run: " + "; ".join(f"“{arm_label(a)}”: {plain(why)}" for a, why in skipped.items()) + ".")
    best = {m: b for m, b in ((data.get("comparison") or {}).get("best_baseline") or {}).items() if b is not None}
    if best:
        st.caption(f"Best baseline ({BEST_BASELINE}): "
                   + ", ".join(f"{METRIC_LABELS.get(m, m)}: {arm_label(b)}" for m, b in best.items()))
    elif arms_data:
        st.caption("No baseline arm (oversampling, SMOTE, classic augmentation) ran, so the GAN arms were not compared "
                   "with one.")
    points = (data.get("sweep") or {}).get("points") or []
    if points:
        st.markdown(f"**Synthetic : real ratio sweep** ({arm_label(data['sweep'].get('arm', ''))})")
        table = pd.DataFrame([{k: ci_text(v) if isinstance(v, dict) else v for k, v in p.items()} for p in points])
        st.dataframe(text_cells(table), hide_index=True, column_config=table_columns(table), placeholder=MISSING)
    show_plots(sorted(folder.glob("*.png"), key=lambda p: (p.name != "arms.png", p.name)),  # the answer's plot first
               list(arms_data), bool((data.get("meta") or {}).get("arms_named_in_figures")))
    markdown = sorted(folder.glob("*.md"))
    if markdown:
        with st.expander("Full report"):
            st.markdown(markdown[0].read_text())
    st.caption(f"Report {report['id']} · sha256 {report['sha256'][:16]}… · folder {report['path']}")
