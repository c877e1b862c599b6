"""`ganaug runs show --plot`: a run's training curves (`run_curves`) as one PNG, the same three panels as the Generate
page's charts: the losses of D and G, the augmentation probability p, and each drawn class's diversity against its
real images with the run's threshold. Kept apart from `run_curves` so that reading the stats never imports
matplotlib."""

from __future__ import annotations

from pathlib import Path

from ganaug_core.run_curves import (CLASS_COLOURS, LOSS_COLOURS, THRESHOLD_COLOUR, Curves, classes_to_draw,
                                    latest_diversity)
from ganaug_core.shown_text import one_line


def curves_figure(curves: Curves, class_names: list[str], rare: list[int], title: str):
    """The figure (returned open, so that a test can look at what is drawn)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a server, a CI job
    # Class names are a dataset giver's folder names: matplotlib read "$…$" in them as math, and a class named "$\x$"
    # stopped `runs show --plot` at savefig (as it had the benchmark's report). Each text keeps the setting it was
    # made with, so the figure is drawn as text whatever the process's setting is when it is saved.
    # And they are drawn as the command line prints them (`one_line`): a name 'x\u202egpj.exe' reversed the text after
    # it in the legend ("4.85" read "x58.4 :exe.jpg"), 'a\nb' split its entry over two lines, ESC drew a box.
    with matplotlib.rc_context({"text.parse_math": False}):
        return _figure(curves, [one_line(n) for n in class_names], rare, one_line(title))


def _figure(curves: Curves, class_names: list[str], rare: list[int], title: str):
    import matplotlib.pyplot as plt

    fig, (losses, p, diversity) = plt.subplots(3, 1, figsize=(9, 9), constrained_layout=True)
    fig.suptitle(title, fontsize=12)
    for key, label in (("loss_d", "D loss"), ("loss_g", "G loss")):
        losses.plot(curves.steps, _gaps(getattr(curves, key)), color=LOSS_COLOURS[key], label=label, linewidth=1.2)
    losses.set(title="Losses", xlabel="step")
    losses.legend(loc="upper right", fontsize=9)
    p.plot(curves.steps, _gaps(curves.p), color=LOSS_COLOURS["p"], linewidth=1.2)
    p.set(title="Augmentation probability p", xlabel="step")
    p.set_ylim(bottom=0)  # not up to 1: a p of 0.02 would be a flat line on the axis
    drawn = classes_to_draw(curves, rare)
    latest = latest_diversity(curves)
    for i, c in enumerate(drawn):
        name = class_names[c] if c < len(class_names) else str(c)
        diversity.plot(curves.diversity_steps, _gaps(curves.diversity[c]), color=CLASS_COLOURS[i % len(CLASS_COLOURS)],
                       linewidth=2.2 if c in rare else 1.2, linestyle="-" if c in rare else "--", marker="o",
                       markersize=3, label=f"{name}{' (rare)' if c in rare else ''}: {latest.get(c, float('nan')):.2f}")
    if curves.threshold > 0:
        diversity.axhline(curves.threshold, color=THRESHOLD_COLOUR, linestyle=":", linewidth=1.5,
                          label=f"threshold {curves.threshold:g}")
    flagged = [class_names[c] if c < len(class_names) else str(c) for c in curves.flagged()]
    said = f"; flagged: {', '.join(flagged)}" if flagged else ""
    diversity.set(title=f"Diversity against real images{said}", xlabel="step", ylabel="generated / real")
    if drawn:
        diversity.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)  # beside it: not over the lines
    else:
        diversity.text(0.5, 0.5, "no diversity reading yet", ha="center", va="center", transform=diversity.transAxes)
    return fig


def _gaps(values: list) -> list[float]:
    """None (a key an older run's line lacks) as a gap in the line."""
    return [float("nan") if v is None else v for v in values]


def write_curves_png(curves: Curves, class_names: list[str], rare: list[int], title: str, path: Path) -> None:
    """The figure saved at `path` (PNG), written whole or not at all."""
    import io

    import matplotlib.pyplot as plt

    from ganaug_core.paths import write_atomically

    fig = curves_figure(curves, class_names, rare, title)
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
    finally:
        plt.close(fig)
    write_atomically(Path(path), buffer.getvalue())
