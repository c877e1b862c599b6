"""The embedding map as an image (pixels where the points are, the same bytes twice) and shapes turned into ids."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
from PIL import Image

from pages.point_map import IMAGE_LONG, MARKER_ALPHA, PALETTE, image_figure, image_size, inside_polygon, \
    legend_groups, selected_ids, webgl_figure


def points() -> pd.DataFrame:
    """Two real images and three synthetic samples; synthetic 12 sits exactly on real 2."""
    return pd.DataFrame(dict(source=["real", "real", "synthetic", "synthetic", "synthetic"], id=[1, 2, 10, 11, 12],
                             class_index=[0, 1, 1, 1, 1], x=[0.0, 1.0, 0.5, 0.9, 1.0], y=[0.0, 1.0, 0.5, 0.1, 1.0],
                             decision=["real", "real", "pending", "approved", "pending"]))


def rgba(fig) -> np.ndarray:
    uri = fig.layout.images[0].source
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGBA"))


def pixel(fig, x: float, y: float) -> tuple[int, ...]:
    xa, ya = fig.layout.xaxis.range, fig.layout.yaxis.range
    width, height = image_size((xa, ya))
    col = int((x - xa[0]) / (xa[1] - xa[0]) * width)
    row = int((ya[1] - y) / (ya[1] - ya[0]) * height)
    return tuple(int(v) for v in rgba(fig)[row, col])


def colour(i: int) -> tuple[int, ...]:
    hexa = PALETTE[i].lstrip("#")
    return tuple(int(hexa[k:k + 2], 16) for k in (0, 2, 4)) + (MARKER_ALPHA,)


def test_image_has_each_point_where_its_axes_put_it_and_synthetic_points_on_top():
    df = points()
    fig = image_figure(df, legend_groups(df, "source"))
    assert rgba(fig).shape == (IMAGE_LONG, IMAGE_LONG, 4)  # the points span as much of x as of y
    assert [t.name for t in fig.data] == ["real", "synthetic"]
    assert pixel(fig, 0.0, 0.0) == colour(0)  # real: the first colour
    assert pixel(fig, 0.5, 0.5) == colour(1)
    assert pixel(fig, 1.0, 1.0) == colour(1)  # synthetic 12 over real 2: a few samples hid under thousands of reals
    assert pixel(fig, 0.25, 0.75) == (0, 0, 0, 0)


def test_the_map_keeps_its_aspect_whatever_the_pages_width():
    """The image of a map twice as wide as tall was 2,200 × 1,000 px, stretched over axes as wide as the page: at
    1024 px (a plot 564 × 520) its round markers were drawn as ellipses, a cluster's shape changed with the width.
    One unit across is now one up, on the axes and in the image."""
    df = points().assign(x=lambda d: d["x"] * 2)  # 2 units wide, 1 high
    for fig in (image_figure(df, legend_groups(df, "source")), webgl_figure(df, legend_groups(df, "source"))):
        assert (fig.layout.yaxis.scaleanchor, fig.layout.yaxis.scaleratio) == ("x", 1)
        assert fig.layout.xaxis.constrain == fig.layout.yaxis.constrain == "domain"  # the axes shrink, not the range
    fig = image_figure(df, legend_groups(df, "source"))
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    height, width = rgba(fig).shape[:2]
    assert width == IMAGE_LONG and abs(width / height - (x1 - x0) / (y1 - y0)) < 0.01  # square pixels
    assert pixel(fig, 2.0, 1.0) == colour(1) and pixel(fig, 0.0, 0.0) == colour(0)

    line = points().assign(y=0.0)  # points in a row still get room for a marker above and below
    fig = image_figure(line, legend_groups(line, "source"))
    assert rgba(fig).shape[:2] == (200, IMAGE_LONG) and fig.layout.yaxis.range[0] < 0 < fig.layout.yaxis.range[1]


def test_webgl_draws_synthetic_points_last_and_keeps_the_legend_order():
    # Coloured by class, class 0's samples were drawn under class 1's real points (traces in legend order).
    df = points().assign(class_index=[0, 1, 0, 1, 1])
    groups = legend_groups(df, "class_index")
    fig = webgl_figure(df, groups)
    # class 1's two samples under class 0's one (the larger groups first, `paint_order`)
    assert [t.name for t in fig.data] == ["0 · real", "1 · real", "1 · synthetic", "0 · synthetic"]
    by_rank = sorted(fig.data, key=lambda t: t.legendrank)
    assert [t.name for t in by_rank] == [g.name for g in groups] == ["0 · real", "0 · synthetic", "1 · real",
                                                                    "1 · synthetic"]


def test_image_is_the_same_bytes_for_the_same_points():
    df = points()
    first = image_figure(df, legend_groups(df, "decision")).layout.images[0].source
    assert image_figure(df, legend_groups(df, "decision")).layout.images[0].source == first
    assert image_figure(df, legend_groups(df, "source")).layout.images[0].source != first


def test_box_and_lasso_select_points_inside_a_concave_lasso_leaves_its_notch_out():
    df = points()
    u_shape = {"x": [-0.1, 1.1, 1.1, 0.95, 0.95, 0.2, 0.2, -0.1], "y": [-0.1, -0.1, 1.1, 1.1, 0.3, 0.3, 1.1, 1.1]}
    assert selected_ids(df, {"points": [], "box": [], "lasso": [u_shape]}) == ([11, 12], [1, 2])
    box = {"x": [0.6, 0.4], "y": [0.4, 0.6]}
    assert selected_ids(df, {"box": [box], "lasso": []}) == ([10], [])
    assert selected_ids(df, {"box": [box], "lasso": [u_shape]}) == ([10, 11, 12], [1, 2])
    assert selected_ids(df, None) == ([], [])


def test_inside_polygon_agrees_with_the_even_odd_rule_on_random_polygons():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, 2000), rng.uniform(-1, 1, 2000)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 12))
    radius = rng.uniform(0.3, 1.0, 12)
    px, py = radius * np.cos(angles), radius * np.sin(angles)  # star-shaped around the origin
    inside = inside_polygon(x, y, px, py)
    # A point of a star-shaped polygon is inside when it is nearer the origin than the edge in its direction.
    theta = np.arctan2(y, x) % (2 * np.pi)
    k = np.searchsorted(angles, theta) % 12
    a = (k - 1) % 12
    ax, ay, bx, by = px[a], py[a], px[k], py[k]
    cross = ax * by - ay * bx
    edge_t = cross / (np.cos(theta) * (by - ay) - np.sin(theta) * (bx - ax))  # distance to the edge along theta
    expected = np.hypot(x, y) < edge_t
    assert (inside != expected).sum() == 0


def test_classes_not_chosen_are_one_grey_group_drawn_under_the_chosen_ones():
    from pages.point_map import OTHER_COLOUR

    df = points().assign(class_index=["0", "1", "0", "2", "1"], x=[0.0, 1.0, 0.5, 0.5, 0.0],
                         y=[0.0, 1.0, 0.5, 0.5, 0.0])  # class 1's sample sits on class 0's real point
    groups = legend_groups(df, "class_index", chosen=["1"])
    assert [(g.name, g.muted) for g in groups] == [("1 · real", False), ("1 · synthetic", False),
                                                   ("other classes · real", True), ("other classes · synthetic", True)]
    fig = image_figure(df, groups)
    grey = tuple(int(OTHER_COLOUR[k:k + 2], 16) for k in (1, 3, 5)) + (MARKER_ALPHA,)
    assert pixel(fig, 0.0, 0.0) == colour(0)  # the chosen class over a grey point, though that one is synthetic
    assert pixel(fig, 0.5, 0.5) == grey
    assert pixel(fig, 1.0, 1.0) == colour(0)
    assert [t.name for t in webgl_figure(df, groups).data][:2] == ["other classes · real", "other classes · synthetic"]


def test_a_rare_classs_few_real_points_are_drawn_over_a_common_classs():
    # A factory's 4 'crack' images lay under 2,400 'ok' ones: drawn in legend order (by name), the rare class showed
    # nowhere on the map coloured by class.
    n = 30
    df = pd.DataFrame(dict(source=["real"] * (n + 1), id=range(n + 1), class_index=["crack"] + ["ok"] * n,
                           x=[0.0] * (n + 1), y=[0.0] * (n + 1), decision=["real"] * (n + 1)))
    df.loc[n, ["x", "y"]] = 1.0  # one 'ok' point apart, so the map has a size
    groups = legend_groups(df, "class_index")
    assert [g.name for g in groups] == ["crack · real", "ok · real"]  # the legend keeps its order
    assert pixel(image_figure(df, groups), 0.0, 0.0) == colour(0)
    assert [t.name for t in webgl_figure(df, groups).data] == ["ok · real", "crack · real"]  # later ones on top
