"""The app's colours of meaning apart from each other as its comments say, for a reader with normal vision and for
one with red-green colour blindness (one man in twelve): the Embeddings map's classes and decisions, and the
training curves' classes (the Generate page and `runs show --plot`). Darkening them for contrast against the page
(tests/app/test_colour_contrast.py) must not bring two of them together."""

from __future__ import annotations

import pytest

from ganaug_core.run_curves import CLASS_COLOURS, DARK_CLASS_COLOURS
from pages.point_map import DECISION_COLOURS, OTHER_COLOUR, PALETTE, THEME_COLOURS
from tests.colour_vision import SIMULATIONS, distances, lab

CLASSES_APART = 15  # ΔE: pages/point_map.py's PALETTE, "15 or more apart, and apart from the grey"
DECISIONS_APART = 20  # ΔE: pages/point_map.py's DECISION_COLOURS, "20 ΔE or more apart" (D3's were 5–7)


def _closest(colours: dict[str, str], vision: str) -> tuple[tuple[str, str], float]:
    gaps = distances(colours, vision)
    pair = min(gaps, key=gaps.get)
    return pair, round(gaps[pair], 1)


@pytest.mark.parametrize("vision", list(SIMULATIONS))
def test_the_maps_and_the_curves_class_colours_stay_15_apart(vision):
    # D3's orange and green classes were 4.6 ΔE apart for a deuteranope, its orange and olive 7.2; the darkened
    # Okabe-Ito colours' closest pairs are 15.5 (protanopia: vermillion, olive) and 15.6 (deuteranopia: the blues).
    the_map = {colour: colour for colour in PALETTE} | {"other classes": OTHER_COLOUR}
    pair, gap = _closest(the_map, vision)
    assert gap >= CLASSES_APART, (pair, gap)
    pair, gap = _closest({colour: colour for colour in CLASS_COLOURS}, vision)
    assert gap >= CLASSES_APART, (pair, gap)


@pytest.mark.parametrize("vision", list(SIMULATIONS))
def test_the_dark_themes_class_colours_stay_15_apart(vision):
    # In Streamlit's dark theme (pages/point_map.py, ganaug_core/run_curves.py): today 17.0 (deuteranopia: the
    # orange and the yellow).
    dark = THEME_COLOURS["dark"]
    pair, gap = _closest({colour: colour for colour in dark.palette} | {"other classes": dark.other}, vision)
    assert gap >= CLASSES_APART, (pair, gap)
    pair, gap = _closest({colour: colour for colour in DARK_CLASS_COLOURS}, vision)
    assert gap >= CLASSES_APART, (pair, gap)


@pytest.mark.parametrize("theme", list(THEME_COLOURS))
@pytest.mark.parametrize("vision", list(SIMULATIONS))
def test_the_decision_colours_stay_apart_and_apart_in_lightness(vision, theme):
    decisions = THEME_COLOURS[theme].decisions
    pair, gap = _closest(decisions, vision)
    assert gap >= DECISIONS_APART, (pair, gap)  # today 26.2 (protanopia: approved, pending); dark 23.4
    # Lightness survives colour blindness and a grey print: rejected darkest, then approved, then pending.
    lightness = {d: lab(decisions[d], SIMULATIONS[vision])[0] for d in ("rejected", "approved", "pending")}
    assert lightness["rejected"] < lightness["approved"] < lightness["pending"], lightness


def test_the_decision_colours_lightness_is_as_the_comment_says():
    # pages/point_map.py: "(L* 25, 48, 61)" for rejected, approved and pending
    normal = SIMULATIONS["normal vision"]
    assert [round(float(lab(DECISION_COLOURS[d], normal)[0])) for d in ("rejected", "approved", "pending")] == \
        [25, 48, 61]
