"""The report's figures as a reader sees them: every arm's colour apart from every other's, for colour-blind readers
too, and text that stays legible at the width the Evaluate page shows a figure."""

from __future__ import annotations

import pytest
from PIL import Image

from ganaug_core.benchmark import plots
from tests.colour_vision import SIMULATIONS, distances

PAGE_ARMS = ["real", "oversample", "smote", "classic", "gan", "gan_classic", "gan_filtered", "gan_approved"]
# The Evaluate page's width for a figure at a 1024-px screen with the sidebar open (measured in chromium)
PAGE_PX_1024 = 562


@pytest.mark.parametrize("vision", list(SIMULATIONS))
def test_every_pair_of_arms_is_told_apart_for_colour_blind_readers_too(vision):
    # tab10's two blues (SMOTE, classic augmentation) and orange and red (GAN samples, + classic) were mixed up by
    # readers; a simulated deuteranope saw classic augmentation and the filtered GAN arm 7.6 ΔE apart.
    closest = distances({arm: plots.arm_colour(arm) for arm in PAGE_ARMS + ["gan_mix"]}, vision)
    page = {pair: d for pair, d in closest.items() if "gan_mix" not in pair}
    assert min(page.values()) >= 24, min(page, key=page.get)
    assert min(closest.values()) >= 17, min(closest, key=closest.get)  # gan_mix: the command line's only


def test_the_figures_text_is_legible_at_the_width_a_1024_px_screen_shows_them(report, tmp_path, monkeypatch):
    # The arms' figure, 9 inches of 10-pt text shown in half of a 1024-px page, read at 4 px, the PR curves' 9.6
    # inches at 7 px; one to a row now, at most 562 px wide there.
    _, rep = report
    sizes = {}

    def recorded(build):
        def build_and_record(r):
            fig = build(r)
            sizes[build.__name__] = min(t.get_fontsize() for t in fig.findobj(plots._pyplot().Text)
                                        if t.get_visible() and t.get_text().strip())
            return fig
        return build_and_record

    for name, build in list(plots.FIGURES.items()):
        monkeypatch.setitem(plots.FIGURES, name, recorded(build))
    plots.write_plots(rep, tmp_path)
    for name, build in (("arms.png", "arms_figure"), ("per_class_recall.png", "per_class_recall_figure"),
                        ("pr_curves.png", "pr_curves_figure"), ("ratio_sweep.png", "ratio_sweep_figure")):
        with Image.open(tmp_path / name) as image:
            shown = min(1.0, PAGE_PX_1024 / image.width)
        smallest_px = sizes[build] * 100 / 72 * shown  # points at 100 dpi, scaled to the width shown
        assert smallest_px >= 9, (name, sizes[build], shown)


def test_the_figures_name_the_arms_as_the_tables_do(report):
    """The figures labelled arms by id (`gan`, `oversample`) where the Evaluate page's tables and the answer say
    "GAN samples", "Oversampling": a caption below them mapped one to the other."""
    from ganaug_core.benchmark.answer import arm_label

    _, rep = report
    assert rep["meta"]["arms_named_in_figures"] is True  # the page then shows no key to the ids
    plt = plots._pyplot()
    for build in (plots.arms_figure, plots.per_class_recall_figure, plots.pr_curves_figure, plots.ratio_sweep_figure):
        fig = build(rep)
        texts = [t.get_text().replace("\n", " ") for t in fig.findobj(plt.Text) if t.get_visible()]
        plt.close(fig)
        assert not set(rep["arms"]) & set(texts), (build.__name__, texts)  # no tick or legend entry by id
        if build is not plots.ratio_sweep_figure:  # it draws one arm, named in its title
            assert {arm_label(arm) for arm in rep["arms"]} <= set(texts), (build.__name__, texts)
    assert any(t.startswith("Ratio sweep (GAN samples; ") for t in texts), texts  # not "(gan arm; …"
