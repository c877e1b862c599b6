"""The report's figures as a reader sees them: every arm's colour apart from every other's, for colour-blind readers
too, and text that stays legible at the width the Evaluate page shows a figure."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from ganaug_core.benchmark import plots

PAGE_ARMS = ["real", "oversample", "smote", "classic", "gan", "gan_classic", "gan_filtered", "gan_approved"]
# Machado, Oliveira & Fernandes (2009), severity 1, on linear RGB: what a dichromat sees of a colour.
SIMULATIONS = {
    "normal vision": np.eye(3),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}
# The Evaluate page's width for a figure at a 1024-px screen with the sidebar open (measured in chromium)
PAGE_PX_1024 = 562


def lab(hex_colour: str, simulation: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour as `simulation` sees it."""
    srgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ np.clip(
        simulation @ linear, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("vision", list(SIMULATIONS))
def test_every_pair_of_arms_is_told_apart_for_colour_blind_readers_too(vision):
    # tab10's two blues (SMOTE, classic augmentation) and orange and red (GAN samples, + classic) were mixed up by
    # readers; a simulated deuteranope saw classic augmentation and the filtered GAN arm 7.6 ΔE apart.
    colours = {arm: lab(plots.arm_colour(arm), SIMULATIONS[vision]) for arm in PAGE_ARMS + ["gan_mix"]}
    closest = {(a, b): float(np.linalg.norm(colours[a] - colours[b]))
               for a, b in itertools.combinations(colours, 2)}
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
