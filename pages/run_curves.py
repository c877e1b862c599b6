"""A run's training curves on the Generate page: the losses of D and G and the augmentation probability p side by side,
and below them each class's diversity against its real images with the run's threshold, the flagged classes named.
Drawn under a running job (redrawn with its panel every 2 s) and for the run chosen under "Start from run". Not a
page itself (app.py never lists it).

The stats file is read through `ganaug_core.run_curves` (a torn last line skipped, a long run thinned), cached by its
size and modification time: a panel that redraws every 2 s reads it again only when the trainer appended a line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import plotly.graph_objects as go
import streamlit as st

from ganaug_core.imbalance import minority_classes
from ganaug_core.markdown import chart_text
from ganaug_core.run_curves import (CLASS_COLOURS, DARK_CLASS_COLOURS, LOSS_COLOURS, THRESHOLD_COLOUR, Curves,
                                    classes_to_draw, latest_diversity, read_curves)
from ganaug_core.runstats import STATS_FILE, too_young_to_tell
from ganaug_core.shown_text import one_line
from pages.ui import home, plain, theme, train_counts

DRAWN_AT_MOST = len(CLASS_COLOURS)  # lines on the diversity chart: past 8 colours two classes would look alike
SMALL_PX, DIVERSITY_PX = 230, 300  # the charts' heights: compact under a job's bar, yet readable
LEGEND_ROW_PX = 20  # the diversity chart grows by a row of its legend per class drawn
TITLE_NAMES_AT_MOST = 40  # characters of flagged names the diversity chart's title holds; past them it counts them


def load_curves(home_dir: str, run_dir: str) -> Curves:
    """The run's curves, read again only when its stats file changed (or after a few seconds)."""
    folder = Path(home_dir) / run_dir
    try:
        stat = (folder / STATS_FILE).stat()
        version: Optional[tuple[int, int]] = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = None
    return _curves(str(folder), version)


@st.cache_data(ttl=10, show_spinner=False, max_entries=32)
def _curves(folder: str, version: Optional[tuple[int, int]]) -> Curves:
    return read_curves(Path(folder))


def _layout(fig: go.Figure, title: str, height: int, y_title: str) -> go.Figure:
    # The legend on the title's line, as on Overview: below the plot it took a share of a small chart's height.
    fig.update_layout(title=title, height=height, margin=dict(l=0, r=0, t=40, b=0),
                      legend=dict(orientation="h", x=1, xanchor="right", y=1, yanchor="bottom"),
                      xaxis=dict(title="step"), yaxis=dict(title=y_title))
    return fig


def _steps_said(steps: list[int]) -> str:
    return f"steps {steps[0]:,} to {steps[-1]:,}" if len(steps) > 1 else f"step {steps[0]:,}"


def _last(values: list) -> Optional[float]:
    return next((v for v in reversed(values) if v is not None), None)


# Under the losses and p: a team's lead who had never met a GAN saw "D loss", "G loss" and "p" and nothing saying
# what they are or what to look for.
HOW_TO_READ = ("How to read these: G, the generator, makes the samples; D, the discriminator, learns to tell them from "
               "the real images. Their losses rise and fall as each catches up with the other: that is normal. D's "
               "loss sinking towards 0 and staying there means D tells every sample apart, and G has stopped "
               "learning. p is how often the images D sees are altered (recoloured, shifted, a patch blanked out): "
               "ADA, the default, raises it when D starts to memorise the real images, and keeps it higher for the rare "
               "classes, whose few images D learns by heart first.")


def loss_figure(curves: Curves) -> tuple[go.Figure, str]:
    fig = go.Figure()
    for key, name in (("loss_d", "D"), ("loss_g", "G")):
        fig.add_scatter(x=curves.steps, y=getattr(curves, key), mode="lines", name=f"{name} loss",
                        line=dict(color=LOSS_COLOURS[key], width=1.5))
    said = ", ".join(f"{name} {v:.3f}" for name, key in (("D", "loss_d"), ("G", "loss_g"))
                     if (v := _last(getattr(curves, key))) is not None)
    alt = (f"Line chart: the losses of D and G over {_steps_said(curves.steps)}"
           + (f"; latest {said}" if said else "; no losses recorded"))
    return _layout(fig, "Losses", SMALL_PX, "loss"), alt


def p_figure(curves: Curves) -> tuple[go.Figure, str]:
    fig = go.Figure()
    fig.add_scatter(x=curves.steps, y=curves.p, mode="lines", name="p", showlegend=False,
                    line=dict(color=LOSS_COLOURS["p"], width=1.5))
    fig.update_yaxes(rangemode="tozero")  # not up to 1: a p of 0.02 would be a flat line on the axis
    latest = _last(curves.p)
    alt = (f"Line chart: the augmentation probability p over {_steps_said(curves.steps)}"
           + (f"; latest {latest:.2f}" if latest is not None else "; not recorded"))
    return _layout(fig, "Augmentation probability p", SMALL_PX, "p"), alt


def class_name(c: int, class_names: list[str]) -> str:
    """A class's name as `runs show --plot` draws it (`one_line`): a bidi override reversed the legend's text after
    it, a line break split its entry."""
    return one_line(class_names[c]) if c < len(class_names) else str(c)


def diversity_figure(curves: Curves, drawn: list[int], class_names: list[str],
                     rare: list[int], shown_in: str = "light") -> tuple[go.Figure, str]:
    """Each drawn class's diversity per reading (rare classes solid and thicker, the others dashed) and the threshold
    as a dotted line, in the colours of the theme it is `shown_in`; the title names the flagged classes."""
    fig = go.Figure()
    latest = latest_diversity(curves)
    colours = DARK_CLASS_COLOURS if shown_in == "dark" else CLASS_COLOURS
    for i, c in enumerate(drawn):
        label = chart_text(class_name(c, class_names)) + (" (rare)" if c in rare else "")
        fig.add_scatter(x=curves.diversity_steps, y=curves.diversity[c], mode="lines+markers", name=label,
                        line=dict(color=colours[i % len(colours)], width=3 if c in rare else 1.5,
                                  dash="solid" if c in rare else "dash"), marker=dict(size=5))
    if curves.threshold > 0:
        fig.add_hline(y=curves.threshold, line=dict(color=THRESHOLD_COLOUR, dash="dot", width=2),
                      annotation_text=f"threshold {curves.threshold:g}", annotation_position="bottom right")
    flagged = ", ".join(class_name(c, class_names) for c in curves.flagged())
    # Six flagged plant diseases ran the title off the chart's right edge, cut mid-name; the caption under the chart
    # names them all, with their ratios.
    if len(flagged) > TITLE_NAMES_AT_MOST:
        flagged = f"{len(curves.flagged())} classes (named below)"
    title = "Diversity against real images" + (f" · flagged: {chart_text(flagged)}" if flagged else "")
    fig.update_yaxes(rangemode="tozero")
    # Its legend below the plot (up to 8 names wrapped onto the title's line and covered it at 1024 px) takes a row a
    # class: in a chart of fixed height, 8 of them squeezed the plot to a strip 60 px high and scrolled.
    _layout(fig, title, DIVERSITY_PX + LEGEND_ROW_PX * len(drawn), "generated / real")
    fig.update_layout(legend=dict(x=0, xanchor="left", y=-0.25, yanchor="top"), margin=dict(b=10))
    alt = (f"Line chart: each class's diversity against its real images over {_steps_said(curves.diversity_steps)}, "
           f"threshold {curves.threshold:g}; latest: "
           + "; ".join(f"class {class_name(c, class_names)}{' (rare)' if c in rare else ''} "
                       f"{latest[c]:.2f}{', flagged' if c in curves.flagged() else ''}" for c in drawn if c in latest))
    return fig, alt


def flagged_said(curves: Curves, class_names: list[str]) -> str:
    """The last reading's verdict in a line: the classes below the threshold with their ratios, or none."""
    step, latest = curves.reading.get("step"), latest_diversity(curves)
    at = f" at step {step:,}" if isinstance(step, int) else ""
    flagged = curves.flagged()
    if curves.threshold <= 0:
        return f"No class is flagged: this run's threshold is 0 (never flag){at}."
    if not flagged:
        return f"No class below the threshold {curves.threshold:g}{at}."
    named = ", ".join(f"{plain(class_name(c, class_names))} ({latest[c]:.2f})" if c in latest
                      else plain(class_name(c, class_names)) for c in flagged)
    said = f"Below the threshold {curves.threshold:g}{at}: {named}."
    if too_young_to_tell(step):
        said += f" After only {step} steps every class still looks alike: train further before reading it as collapse."
    return said


def class_picker(options: list[int], default: list[int], class_names: list[str], key: str) -> list[int]:
    """The classes the diversity chart draws: until the user picks some, the default of the latest reading, so that
    a class the monitor flags while the job runs joins the chart. Given as the widget's `default`, it was read once:
    the chart kept the first reading's classes for good."""
    if not st.session_state.get(f"{key}_picked"):
        st.session_state[key] = default
    return st.multiselect(
        "Classes on the diversity chart", options, max_selections=DRAWN_AT_MOST, key=key,
        format_func=lambda c: class_name(c, class_names),
        on_change=lambda: st.session_state.__setitem__(f"{key}_picked", True),
        help=f"At most {DRAWN_AT_MOST}; by default the flagged classes, then the rare ones, then the lowest.")


def show_curves(run_dir: str, dataset: str, class_names: list[str], key: str) -> None:
    """The run's curves (see the module's docstring), or a line that says why there are none yet."""
    curves = load_curves(home(), run_dir)
    if curves.state == "missing":
        st.caption("No training curves yet: the run has written no stats file (stats.jsonl).")
        return
    if curves.state == "empty" or not curves.steps:
        st.caption("No training curves yet: the run has not logged a complete stats line.")
        return
    left, right = st.columns(2)
    for column, (fig, alt), name in ((left, loss_figure(curves), "losses"), (right, p_figure(curves), "p")):
        with column:
            st.plotly_chart(fig, key=f"{key}_{name}", alt=alt, config={"displayModeBar": False})
    st.caption(HOW_TO_READ)
    if not curves.diversity:
        st.caption("Diversity: no reading yet (the collapse monitor measures every 250 steps and at the end).")
    else:
        rare = minority_classes(train_counts(home(), dataset))
        drawn = classes_to_draw(curves, rare, DRAWN_AT_MOST)
        if len(curves.diversity) > DRAWN_AT_MOST:  # many classes: the flagged, rare and lowest ones, or those chosen
            drawn = class_picker(sorted(curves.diversity), drawn, class_names, f"{key}_classes")
        fig, alt = diversity_figure(curves, drawn, class_names, rare, theme())
        st.plotly_chart(fig, key=f"{key}_diversity", alt=alt, config={"displayModeBar": False})
        st.caption(flagged_said(curves, class_names))
    if curves.thinned:
        st.caption(f"A long run: {curves.lines:,} stats lines, thinned to {len(curves.steps):,} points per curve.")


def folded_curves(run_id: int, run_dir: str, dataset: str, class_names: list[str], key: str) -> None:
    """The run's curves in an expander, closed: under a chosen run or a job that ended, what comes first is above."""
    with st.expander(f"Training curves of run {run_id}"):
        show_curves(run_dir, dataset, class_names, key)
