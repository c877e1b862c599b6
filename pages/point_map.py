"""The embedding map's figures and how a box or lasso on them turns into sample ids.

Two ways to draw the same points. By default the page draws them itself into one PNG under empty plotly axes:
a browser without a GPU draws WebGL in software, where 20,000 scattergl markers took chromium about 2 s to draw
(benchmarks/app_speed.py), while an image costs the browser the same few milliseconds at any number of points.
Plotly still reports a box or lasso drawn on the image as its shape in data coordinates (Streamlit passes plotly's
`selections` on), so the points inside are found here. The WebGL figure, one marker per point with hover and sharp
zoom, stays a click away; plotly reports the points selected on it, each with its (id, 1 for real / 0 for
synthetic) custom data, because `point_indices` restart in every trace.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from PIL import Image
from plotly.colors import convert_colors_to_same_type

from ganaug_core.markdown import chart_text
from pages.ui import png_data_uri

# Okabe & Ito's colour-blind-safe qualitative palette: D3's orange, green and red classes were 5–7 ΔE apart for a
# reader with red-green colour blindness (one man in twelve); these stay 15 or more apart, and apart from the grey.
# Its orange, sky blue and yellow were 2.3, 2.3 and 1.3:1 against the white page, where a point needs 3:1 (WCAG
# 1.4.11, tests/app/test_colour_contrast.py): each is darkened to the shade nearest its hue that keeps the ΔE, the
# yellow to an olive (a darker yellow came within 5 ΔE of the orange for a red-green colour-blind reader).
PALETTE = ["#0072B2", "#C68445", "#009E73", "#D55E00", "#2D9CD2", "#CC79A7", "#605700", "#000000"]
# Past this many classes their colours would repeat and the legend, two entries a class, outgrew the map: 100
# classes squeezed it into a strip. The page then colours the classes chosen, at most this many, each in its own
# colour, and draws every other class in one grey.
CLASS_COLOURS = len(PALETTE)
# Light on purpose (1.7:1), the one colour under 3:1: it draws the classes left out of the colours behind those
# chosen (the caption says so); a grey of 3:1 came 7 ΔE from the pink for a deuteranope.
OTHER_COLOUR = "#C7C7C7"
OTHER_CLASSES = "other classes"
SYMBOLS = {"real": "circle", "synthetic": "diamond"}
# One unit across is one unit up, whatever the page's width: the map's distances are its only meaning, and a plot
# that filled the width stretched them (a cluster twice as wide at 1440 px as at 1024, the image's round markers
# drawn as ellipses). The plot keeps the points' aspect and shrinks its axes to fit the width or the height.
LAYOUT = dict(margin=dict(l=0, r=0, t=10, b=0), dragmode="lasso", height=560,
              legend=dict(orientation="h", y=-0.08),
              xaxis=dict(constrain="domain"), yaxis=dict(scaleanchor="x", scaleratio=1, constrain="domain"))
# The image's longer side, drawn at twice a typical plot area (≈ 1,100 CSS px): sharp on high-density screens and
# when zoomed in twice; its other side follows the points' aspect (`image_size`), so a pixel is square on the map.
# Marker sizes below are in image pixels (5 CSS px markers, as the WebGL figure draws them).
IMAGE_LONG = 2200
IMAGE_SHORT_MIN = 200  # a map of points nearly in a line still gets room for its markers
STAMP_RADIUS = 5
MARKER_ALPHA = 200


@dataclass(frozen=True)
class Group:
    """One legend entry: the points of one colour group and one source."""

    name: str
    source: str
    colour: str
    rows: np.ndarray  # positions in the points frame
    muted: bool = False  # the grey group of the classes not chosen, drawn under the chosen ones


# Colour by decision: the colours people read into them (green admitted, amber waiting, red left out), real images
# apart, and told apart by lightness too: D3's green, orange and red were 5–7 ΔE apart for a reader with red-green
# colour blindness (one man in twelve), who saw one colour for approved, pending and rejected. Amber darkened to 3:1
# against the page (it was 2.3:1) is as light as that green was, so the green is darker too (L* 25, 48, 61). Each
# pair stays 20 ΔE or more apart, for a colour-blind reader too (tests/app/test_colour_distance.py).
DECISION_COLOURS = {"approved": "#00815D", "pending": "#C68445", "rejected": "#7F0000", "real": "#1F77B4"}

# Streamlit's dark theme draws the map on its dark grey (#171614): the black class and the dark red of rejected
# points vanished there (1.1 and 1.6:1), the olive read 2.5:1. There Okabe & Ito's own colours stand out 3.5:1 or
# more, white in the black's place, each class keeping its hue; they stay 17 ΔE apart, for a red-green colour-blind
# reader too. The grey of the classes not chosen stays near the page (2.7:1), behind them as in the light theme. The
# decisions keep their hues and their order in lightness (L* 50, 61, 77), lighter, and stay 23 ΔE apart.
DARK_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#FFFFFF"]
DARK_OTHER_COLOUR = "#5C5C5C"
DARK_DECISION_COLOURS = {"approved": "#00A878", "pending": "#F0B43C", "rejected": "#D93A3A", "real": "#4C9BE8"}


@dataclass(frozen=True)
class Colours:
    """The map's colours for one of Streamlit's themes (`pages.ui.theme`): the classes', the grey of the classes
    not chosen, the decisions'."""

    palette: list[str]
    other: str
    decisions: dict[str, str]


THEME_COLOURS = {"light": Colours(PALETTE, OTHER_COLOUR, DECISION_COLOURS),
                 "dark": Colours(DARK_PALETTE, DARK_OTHER_COLOUR, DARK_DECISION_COLOURS)}
# The image's palette: every colour of both themes (a theme's own are found in it by value)
COLOURS = list(dict.fromkeys(c for t in THEME_COLOURS.values() for c in [*t.palette, t.other, *t.decisions.values()]))


def legend_groups(df: pd.DataFrame, key: str, chosen: list[str] | None = None, theme: str = "light") -> list[Group]:
    """Points grouped by the `key` column and by source, in legend order; a colour per `key` value, from
    `theme`'s colours. With `chosen`, only those values get a group and a colour of their own (in that order); the
    rest share one grey group."""
    colours = THEME_COLOURS[theme]
    palette = colours.palette
    values = df[key].astype(str)
    source = df["source"].to_numpy()
    out = []
    for i, value in enumerate(sorted(values.unique()) if chosen is None else chosen):
        colour = palette[i % len(palette)]
        if key == "decision":
            colour = colours.decisions.get(value, colour)
        out += _by_source(value, colour, (values == value).to_numpy(), source, key)
    if chosen is not None:
        out += [dataclasses.replace(g, muted=True) for g in
                _by_source(OTHER_CLASSES, colours.other, ~values.isin(chosen).to_numpy(), source, key)]
    return out


def _by_source(value: str, colour: str, mask: np.ndarray, source: np.ndarray, key: str) -> list[Group]:
    out = []
    for src in SYMBOLS:
        rows = np.flatnonzero(mask & (source == src))
        if len(rows):
            name = value if key == "source" or value == src else f"{value} · {src}"  # not "real · real"
            out.append(Group(name, src, colour, rows))
    return out


def paint_order(groups: list[Group]) -> list[int]:
    """Positions in `groups`, in the order they are drawn: the grey of the classes not chosen under everything,
    then real points, then synthetic ones on top; within each, the larger groups first. Drawn in legend order, the 4
    real images of a factory's rare class 'crack' lay under 2,400 of 'ok' (a later name) and showed nowhere."""
    return sorted(range(len(groups)), key=lambda i: (not groups[i].muted, groups[i].source == "synthetic",
                                                     -len(groups[i].rows)))


def webgl_figure(df: pd.DataFrame, groups: list[Group]) -> go.Figure:
    """One WebGL trace per legend entry (circles real, diamonds synthetic), so the legend toggles groups.

    Numeric numpy columns travel to the browser as compact typed arrays.
    """
    fig = go.Figure()
    # Drawn real first, synthetic on top as in the image; the legend keeps the groups' order (legendrank).
    for rank in paint_order(groups):
        g = groups[rank]
        part = df.iloc[g.rows]
        fig.add_trace(go.Scattergl(
            x=part["x"].to_numpy(np.float32), y=part["y"].to_numpy(np.float32), mode="markers", name=chart_text(g.name),
            legendrank=rank + 1,
            marker=dict(size=5, opacity=0.7, color=g.colour, symbol=SYMBOLS[g.source]),
            customdata=np.stack([part["id"].to_numpy(np.int64), np.full(len(part), g.source == "real", np.int64)], 1),
            hovertemplate="%{customdata[0]}<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(**LAYOUT)
    return fig


def image_figure(df: pd.DataFrame, groups: list[Group]) -> go.Figure:
    """The points drawn into one PNG that fills fixed axes; empty traces give the legend its entries."""
    (x0, x1), (y0, y1) = ranges = _ranges(df)
    fig = go.Figure([go.Scatter(x=[None], y=[None], mode="markers", name=chart_text(g.name), hoverinfo="skip",
                                marker=dict(size=7, color=g.colour, symbol=SYMBOLS[g.source])) for g in groups])
    # "stretch" fills the axes exactly; with the axes' aspect the image's own, it stretches nothing
    fig.add_layout_image(source=_png_uri(df, groups, ranges), xref="x", yref="y", x=x0, y=y1, sizex=x1 - x0,
                         sizey=y1 - y0, sizing="stretch", layer="above")
    fig.update_layout(**LAYOUT)
    fig.update_layout(xaxis=dict(range=[x0, x1], zeroline=False), yaxis=dict(range=[y0, y1], zeroline=False),
                      legend=dict(itemclick=False, itemdoubleclick=False))
    return fig


Ranges = tuple[tuple[float, float], tuple[float, float]]


def image_size(ranges: Ranges) -> tuple[int, int]:
    """(width, height) in pixels of the image of `ranges`: IMAGE_LONG along the longer side, the other in proportion
    (at least IMAGE_SHORT_MIN), so that a pixel covers as much of x as of y."""
    (x0, x1), (y0, y1) = ranges
    wide, high = x1 - x0, y1 - y0
    if wide >= high:
        return IMAGE_LONG, max(IMAGE_SHORT_MIN, round(IMAGE_LONG * high / wide))
    return max(IMAGE_SHORT_MIN, round(IMAGE_LONG * wide / high)), IMAGE_LONG


def _ranges(df: pd.DataFrame) -> Ranges:
    """Axis ranges of the image: the points' extent plus a marker's width on every side, so a lasso drawn along
    the plot's edges takes in every point; a side shorter than IMAGE_SHORT_MIN pixels' worth is widened about its
    middle, so that both sides stay in the image's proportion."""
    margin = 2 * STAMP_RADIUS + 1
    spans = {col: (float(df[col].min()), float(df[col].max())) for col in ("x", "y")}
    longest = max(hi - lo for lo, hi in spans.values()) or 1.0
    unit = longest / (IMAGE_LONG - 2 * margin)  # data units per pixel, the same across and up
    out = []
    for lo, hi in spans.values():
        half = max(hi - lo + 2 * margin * unit, IMAGE_SHORT_MIN * unit) / 2
        middle = (lo + hi) / 2
        out.append((middle - half, middle + half))
    return out[0], out[1]


def _stamp(symbol: str) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets of one marker: a disc for circles, a square on its corner for diamonds."""
    dy, dx = np.mgrid[-STAMP_RADIUS:STAMP_RADIUS + 1, -STAMP_RADIUS:STAMP_RADIUS + 1]
    inside = dx ** 2 + dy ** 2 <= STAMP_RADIUS ** 2 if symbol == "circle" else abs(dx) + abs(dy) <= STAMP_RADIUS
    return dx[inside], dy[inside]


def _png_uri(df: pd.DataFrame, groups: list[Group], ranges: Ranges) -> str:
    """A palette PNG of the points: real under synthetic, each group over the groups before it, later points on top.
    A few dozen samples among thousands of real points were hidden under them.

    Where markers overlap, the point drawn last owns the pixel; `np.maximum.at` picks it whatever order numpy
    visits the pixels in, so the same points give the same bytes.
    """
    (x0, x1), (y0, y1) = ranges
    width, height = image_size(ranges)
    col = np.rint((df["x"].to_numpy(np.float64) - x0) / (x1 - x0) * width - 0.5).astype(np.int64)
    row = np.rint((y1 - df["y"].to_numpy(np.float64)) / (y1 - y0) * height - 0.5).astype(np.int64)
    ordered = paint_order(groups)  # synthetic points on top
    top = np.full(width * height, -1, np.int32)  # per pixel: the paint order of the point that owns it
    colour_of = np.empty(len(df), np.uint8)  # per paint order: the palette index (0 is transparent)
    start = 0
    for k in ordered:
        g = groups[k]
        dx, dy = _stamp(SYMBOLS[g.source])
        c = np.clip(col[g.rows, None] + dx, 0, width - 1)
        r = np.clip(row[g.rows, None] + dy, 0, height - 1)
        order = np.arange(start, start + len(g.rows), dtype=np.int32)
        np.maximum.at(top, (r * width + c).ravel(), np.repeat(order, len(dx)))
        colour_of[order] = 1 + COLOURS.index(g.colour)
        start += len(g.rows)
    pixels = np.where(top >= 0, colour_of[np.maximum(top, 0)], 0).astype(np.uint8).reshape(height, width)
    rgb = convert_colors_to_same_type(list(COLOURS), colortype="tuple")[0]
    palette = [0, 0, 0] + [round(255 * v) for colour in rgb for v in colour]
    im = Image.fromarray(pixels, "P")
    im.putpalette(palette)
    return png_data_uri(im, transparency=bytes([0] + [MARKER_ALPHA] * len(COLOURS)))


def selected_ids(df: pd.DataFrame, selection: dict | None) -> tuple[list[int], list[int]]:
    """(synthetic sample ids, real image ids) of a plotly selection.

    Points that plotly reports (the WebGL figure) are read from their custom data; otherwise the boxes and lassos
    it reports are looked up in the points frame, in its order.
    """
    selection = selection or {}
    if selection.get("points"):
        return _custom_data_ids(selection["points"])
    x, y = df["x"].to_numpy(np.float64), df["y"].to_numpy(np.float64)
    hit = np.zeros(len(df), dtype=bool)
    for box in selection.get("box") or []:
        (bx0, bx1), (by0, by1) = sorted(box["x"]), sorted(box["y"])
        hit |= (x >= bx0) & (x <= bx1) & (y >= by0) & (y <= by1)
    for lasso in selection.get("lasso") or []:
        hit |= inside_polygon(x, y, np.asarray(lasso["x"], np.float64), np.asarray(lasso["y"], np.float64))
    real = (df["source"] == "real").to_numpy()
    ids = df["id"].to_numpy()
    return [int(i) for i in ids[hit & ~real]], [int(i) for i in ids[hit & real]]


def inside_polygon(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Even-odd rule: a point is inside if a ray to its right crosses the polygon's edges an odd number of times."""
    inside = np.zeros(len(x), dtype=bool)
    for ax, ay, bx, by in zip(px, py, np.roll(px, -1), np.roll(py, -1)):
        if ay == by:  # a horizontal edge is never crossed by a horizontal ray
            continue
        spans = (ay > y) != (by > y)
        inside ^= spans & (x < ax + (y - ay) * (bx - ax) / (by - ay))
    return inside


def _custom_data_ids(points: list[dict]) -> tuple[list[int], list[int]]:
    synth, real = [], []
    for point in points:
        data = point.get("customdata") or point.get("custom_data")
        if isinstance(data, dict):  # a typed-array row comes back from the browser as {"0": id, "1": is_real}
            data = [data.get("0"), data.get("1")]
        if not data or len(data) < 2 or None in data[:2]:
            continue
        (real if int(data[1]) else synth).append(int(data[0]))
    return synth, real
