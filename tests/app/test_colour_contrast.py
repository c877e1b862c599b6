"""Every colour the app and its figures draw meaning with, against what it is drawn on: 3:1 for a frame, a bar, a line
or a point (WCAG 2.1, 1.4.11 non-text contrast), 4.5:1 for text (1.4.3). The memorized tiles' orange frame and the
Overview's orange bars were 2.5:1 on the white page, the Okabe-Ito yellow 1.3:1. In Streamlit's dark theme (the
system's preference, or the app's menu) the charts are drawn on its dark grey: the map's and the curves' black and the
rejected points' dark red were 1.1 and 1.6:1 there."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from ganaug_core.benchmark import plots
from ganaug_core.contrast import GRAPHIC, TEXT, contrast_ratio
from ganaug_core.grid_labels import TEXT_GREY
from ganaug_core.run_curves import CLASS_COLOURS, DARK_CLASS_COLOURS, LOSS_COLOURS, THRESHOLD_COLOUR
from pages.point_map import DECISION_COLOURS, OTHER_COLOUR, PALETTE, THEME_COLOURS
from pages.ui import TILE_MARKS
from tests.app.conftest import ROOT, app_test, embed_reals, make_batch

PAGE = "#ffffff"  # Streamlit's light theme: the page, under every tile and chart (theirs are transparent)
DARK_PAGE = "#171614"  # Streamlit's dark theme (1.67's bgColor): the page
DARK_FIELD = "#2D2B27"  # … and its widgets' ground, under a multiselect's chips
FIGURE = "#ffffff"  # matplotlib's facecolor, which the benchmark and `runs show --plot` figures keep
THEMES = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
PRIMARY, DARK_PRIMARY = THEMES["light"]["primaryColor"], THEMES["dark"]["primaryColor"]
DARK_MAP = THEME_COLOURS["dark"]

DRAWN = {
    **{f"tile frame, {mark}": (colour, PAGE) for mark, (colour, _, _) in TILE_MARKS.items()},
    **{f"map, class colour {c}": (c, PAGE) for c in PALETTE},
    **{f"map, {decision}": (c, PAGE) for decision, c in DECISION_COLOURS.items()},
    **{f"run curves, class colour {c}": (c, PAGE) for c in CLASS_COLOURS},
    **{f"run curves, {key}": (c, PAGE) for key, c in LOSS_COLOURS.items()},
    "run curves, collapse threshold": (THRESHOLD_COLOUR, PAGE),
    **{f"benchmark, {arm}": (c, FIGURE) for arm, c in plots.ARM_COLOURS.items()},
    # The arms' figure: the best baseline's band, and the points drawn over it
    "benchmark, band edge": (to_rgb(plots.BAND_EDGE), to_rgb(FIGURE)),
    "benchmark, point outline on the figure": (to_rgb(plots.POINT_EDGE), to_rgb(FIGURE)),
    "benchmark, point outline on the band": (to_rgb(plots.POINT_EDGE), to_rgb(plots.BAND_GREY)),
}
DARK_DRAWN = {
    **{f"tile frame, {mark}": (colour, DARK_PAGE) for mark, (colour, _, _) in TILE_MARKS.items()},
    **{f"map, class colour {c}": (c, DARK_PAGE) for c in DARK_MAP.palette},
    **{f"map, {decision}": (c, DARK_PAGE) for decision, c in DARK_MAP.decisions.items()},
    **{f"run curves, class colour {c}": (c, DARK_PAGE) for c in DARK_CLASS_COLOURS},
    **{f"run curves, {key}": (c, DARK_PAGE) for key, c in LOSS_COLOURS.items()},
    "run curves, collapse threshold": (THRESHOLD_COLOUR, DARK_PAGE),
    # the selected radio, checkbox and tab's underline on the page; the chosen classes' chips on their field
    "primary colour on the page": (DARK_PRIMARY, DARK_PAGE),
    "primary colour on a field": (DARK_PRIMARY, DARK_FIELD),
}
TEXT_DRAWN = {
    "grid row labels on the grid's black": ((TEXT_GREY,) * 3, (0, 0, 0)),
    # white on a primary button, and the primary colour on the page (the selected radio, a link)
    "primary colour (.streamlit/config.toml)": (PRIMARY, PAGE),
    # a primary button's label, white in the dark theme too ("Approve batch", "Confirm approval")
    "white on the dark theme's primary colour": ("#ffffff", DARK_PRIMARY),
}


def test_contrast_ratio_is_wcags():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the lightest grey text passing AA
    assert contrast_ratio((255, 255, 255), (1.0, 1.0, 1.0)) == pytest.approx(1)  # Pillow's 0..255, matplotlib's 0..1


def test_a_pixel_read_from_an_image_array_is_taken_in_0_to_255():
    # numpy's uint8 is no Python int: a pixel of a drawn map or tile (np.asarray(im)[y, x]) was read as 0..1 floats,
    # white as 255 times white, and any colour checked against it passed.
    white, black = np.asarray([255, 255, 255], np.uint8), np.zeros(3, np.uint8)
    assert contrast_ratio(white, "#ffffff") == pytest.approx(1)
    assert contrast_ratio(black, "#ffffff") == pytest.approx(21)


@pytest.mark.parametrize("name", list(DRAWN))
def test_each_colour_that_carries_meaning_stands_out_3_to_1_from_what_it_is_drawn_on(name):
    colour, background = DRAWN[name]
    assert contrast_ratio(colour, background) >= GRAPHIC, (name, colour, round(contrast_ratio(colour, background), 2))


@pytest.mark.parametrize("name", list(DARK_DRAWN))
def test_each_colour_that_carries_meaning_stands_out_3_to_1_from_the_dark_themes_page(name):
    colour, background = DARK_DRAWN[name]
    assert contrast_ratio(colour, background) >= GRAPHIC, (name, colour, round(contrast_ratio(colour, background), 2))


@pytest.mark.parametrize("name", list(TEXT_DRAWN))
def test_each_text_colour_reads_4_5_to_1_on_its_background(name):
    colour, background = TEXT_DRAWN[name]
    assert contrast_ratio(colour, background) >= TEXT, (name, colour, round(contrast_ratio(colour, background), 2))


def test_only_the_other_classes_grey_is_left_light_on_purpose():
    # It draws the classes not chosen behind those in colour (pages/point_map.py says why it stays light).
    assert contrast_ratio(OTHER_COLOUR, PAGE) < GRAPHIC and OTHER_COLOUR not in PALETTE
    assert contrast_ratio(DARK_MAP.other, DARK_PAGE) < GRAPHIC and DARK_MAP.other not in DARK_MAP.palette


@pytest.mark.parametrize("theme, page", [("light", PAGE), ("dark", DARK_PAGE)])
def test_the_overview_bars_stand_out_from_the_page(users, digits, theme, page):
    make_batch(digits, 9, 2)
    at = app_test(users["rita"], "overview.py", theme=theme)
    [chart] = at.get("plotly_chart")
    bars = [trace for trace in json.loads(chart.proto.spec)["data"] if trace["type"] == "bar"]
    assert [b["name"] for b in bars] == ["real (train)", "approved synthetic"]
    for b in bars:
        assert contrast_ratio(b["marker"]["color"], page) >= GRAPHIC, (b["name"], b["marker"]["color"])


def _marker_colours(at, key: str) -> dict[str, str]:
    [chart] = [c for c in at.get("plotly_chart") if key in c.proto.id]
    return {t["name"]: t["marker"]["color"] for t in json.loads(chart.proto.spec)["data"]}


def test_the_embeddings_map_takes_the_dark_themes_colours_in_it(users, digits):
    # digits' 10 classes, 8 of them in colour: the eighth was black on the dark page, a rejected point dark red
    embed_reals(digits)
    make_batch(digits, 9, 2)
    at = app_test(users["rita"], "embeddings.py", theme="dark")
    at.radio(key="emb_colour").set_value("decision").run()
    assert _marker_colours(at, "emb_chart") == {"real": DARK_MAP.decisions["real"],
                                                "pending · synthetic": DARK_MAP.decisions["pending"]}
    at.radio(key="emb_colour").set_value("class").run()
    at.multiselect(key=f"emb_classes_{digits}").set_value([str(c) for c in range(8)]).run()
    assert not at.exception
    drawn = _marker_colours(at, "emb_chart")
    assert drawn["7 · real"] == DARK_MAP.palette[7] and drawn["other classes · real"] == DARK_MAP.other
    for name, colour in drawn.items():
        assert name.startswith("other classes") or contrast_ratio(colour, DARK_PAGE) >= GRAPHIC, (name, colour)


def test_the_training_curves_take_the_dark_themes_colours_in_it(users, digits, home):
    from tests.app.test_generate_curves import a_job, a_run

    job = a_job(users, digits, a_run(home, digits, "done", 500), finished=True)
    at = app_test(users["rita"], "generate.py", theme="dark")
    [chart] = [c for c in at.get("plotly_chart") if f"gen_curves_{job}_diversity" in c.proto.id]
    lines = [t["line"]["color"] for t in json.loads(chart.proto.spec)["data"]]
    assert lines and set(lines) <= set(DARK_CLASS_COLOURS)
    assert all(contrast_ratio(c, DARK_PAGE) >= GRAPHIC for c in lines), lines


def test_the_per_class_recall_tables_values_read_4_5_to_1_on_their_cells():
    # White text on viridis below 0.6 read at 3.0:1 on its green (0.55–0.6).
    classes = plots.MANY_CLASSES + 1
    values = np.linspace(0.0, 1.0, classes)
    report = {"meta": {"class_names": [f"c{i}" for i in range(classes)], "minority_classes": [0]},
              "arms": {arm: {"per_class_recall": [{"mean": float(v)} for v in values]} for arm in ("gan", "smote")}}
    fig = plots.per_class_recall_figure(report)
    try:
        [ax] = [a for a in fig.axes if a.images]
        image = ax.images[0]
        texts = [t for t in ax.texts if t.get_text()]
        assert len(texts) == 2 * classes
        for t in texts:
            col, row = t.get_position()
            cell = image.cmap(image.norm(image.get_array()[int(row), int(col)]))
            assert contrast_ratio(to_rgb(t.get_color()), cell) >= TEXT, (t.get_text(), t.get_color())
    finally:
        plots._pyplot().close(fig)
