"""Embeddings: real vs synthetic samples on the dataset's UMAP map, a coverage figure per class, and selection.

The coordinates were computed in the worker (the UMAP model is fitted once on the real training features and
applied to each new batch), so this page only reads numbers from the database: no numba on page load, and the
real layout stays still as batches arrive. The map is an image by default and one WebGL marker per point on
request; box/lasso selection resolves to sample ids either way (see pages/point_map.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from db import views
from db.engine import session_scope
from ganaug_core.imageio import shown_px
from ganaug_core.markdown import chart_text
from ganaug_core.metrics.prdc import coverage as prdc_coverage
from pages.point_map import CLASS_COLOURS, image_figure, legend_groups, selected_ids, webgl_figure
from pages.ui import NO_DATASET, plain, require_user, show_images, theme, tile_name

COLOUR_BY = {"source": "source", "class": "class", "decision": "decision"}
PER_PAGE = 48  # tiles of the selection per page
MAX_REAL_PER_CLASS = 2000
# Up to this many classes the coverage figure has a bar for each; past it, only for the classes with samples (100
# classes made a figure 2,600 px tall, nearly every bar "no samples").
COVERAGE_EVERY_CLASS = 20
# Under this many real points (twice the 5 neighbours) each real point's ball reaches most of its class, so a single
# sample, or a collapsed batch of copies of one, "covers" 100 %: the rare class, the one reviewed, read as covered.
FEW_REAL = 10

require_user()
st.title("Embeddings")


@st.cache_data(show_spinner=False, max_entries=8)
def load_points(dataset: str, version: tuple) -> pd.DataFrame:
    """All map points of a dataset; `version` (see views.points_version) keys the cache."""
    with session_scope() as session:
        cols = views.embedding_points(session, dataset)
        names = views.dataset_summary(session, dataset)["class_names"]
    df = pd.DataFrame(cols)
    df["class"] = [names[c] if 0 <= c < len(names) else str(c) for c in df["class_index"]] if len(df) else []
    return df


@st.cache_data(show_spinner=False, max_entries=16)
def point_map(dataset: str, version: tuple, colour: str, each_point: bool, chosen: tuple | None,
              shown_in: str = "light") -> go.Figure:
    """The map coloured by `colour`: one image of all points, or one WebGL marker per point. `chosen`: the classes
    in colour when there are too many to colour each (the others grey); `shown_in`: the theme, whose colours it
    takes."""
    df = load_points(dataset, version)
    groups = legend_groups(df, COLOUR_BY[colour], None if chosen is None else list(chosen), shown_in)
    fig = webgl_figure(df, groups) if each_point else image_figure(df, groups)
    # A cache hit is an unpickled copy, whose JSON lists the layout's keys in another order. Streamlit derives the
    # chart's id from that JSON: a freshly built figure would be another chart than its copies, and the first
    # selection drawn on it would be dropped. Rebuilding it here gives the copies' order from the start.
    return go.Figure(fig.to_dict())


@st.cache_data(ttl=60, show_spinner=False)
def dataset_list() -> list[str]:
    with session_scope() as session:
        return views.dataset_names(session)


@st.cache_data(show_spinner=False, max_entries=8)
def coverage_per_class(dataset: str, version: tuple, k: int = 5) -> pd.DataFrame:
    """PRDC coverage on the map (`ganaug_core.metrics.prdc.coverage`, the rule the batch scores use): the share of
    real points whose k-NN ball holds a synthetic point of the class."""
    df = load_points(dataset, version)
    rows = []
    for (_, cls), group in df.groupby(["class_index", "class"]):  # classes in their dataset's order, not the map's
        real = group.loc[group["source"] == "real", ["x", "y"]].to_numpy(np.float64)
        synth = group.loc[(group["source"] == "synthetic") & (group["decision"] != "rejected"), ["x", "y"]].to_numpy(np.float64)
        if len(real) > MAX_REAL_PER_CLASS:  # the real×real distance matrix is quadratic; a fixed subsample is enough
            real = real[np.random.default_rng(0).choice(len(real), MAX_REAL_PER_CLASS, replace=False)]
        if len(real) < 2:
            rows.append(dict(**{"class": cls}, coverage=np.nan, real=len(real), synthetic=len(synth)))
            continue
        # No sample at all is not a coverage of 0 %: the bar is left out (NaN) and its label says why.
        measured = prdc_coverage(real, synth, k)
        rows.append(dict(**{"class": cls}, coverage=np.nan if measured is None else measured, real=len(real),
                         synthetic=len(synth)))
    return pd.DataFrame(rows)


def class_choice(df: pd.DataFrame, dataset: str) -> tuple | None:
    """The classes to colour, where there are more than distinct colours: by default the rarest of those with
    samples (of all classes where none has any); None where every class gets its own colour."""
    by_index = df.drop_duplicates("class_index").sort_values("class_index")
    names = by_index["class"].tolist()
    if len(names) <= CLASS_COLOURS:
        return None
    sampled = set(df.loc[df["source"] == "synthetic", "class"])
    real = df.loc[df["source"] == "real", "class"].value_counts()
    # The rarest first (of those with samples, where any): more sampled classes than colours took the first by
    # index, which in a catalogue of 40 left out rare classes that had batches.
    pool = [n for n in names if n in sampled] or names
    default = sorted(sorted(pool, key=lambda n: (real.get(n, 0), names.index(n)))[:CLASS_COLOURS], key=names.index)
    chosen = st.multiselect(f"Classes in colour (at most {CLASS_COLOURS})", names, default=default,
                            max_selections=CLASS_COLOURS, key=f"emb_classes_{dataset}",
                            help="Type to find a class. The other classes are drawn in grey.")
    st.caption(f"{len(chosen)} of {len(names)} classes in colour, the others grey"
               + (": by default the rarest classes with synthetic samples" if sampled else ": by default the rarest"))
    return tuple(chosen)


def unscored_batches(dataset: str) -> dict[str, list[int]]:
    """Each class's pending batches not scored yet: their samples have no point on the map until they are."""
    with session_scope() as session:
        pending = views.batches_table(session, "pending")
    out: dict[str, list[int]] = {}
    for b in sorted(pending, key=lambda b: b["batch"]):
        if b["dataset"] == dataset and not b["scored"]:
            out.setdefault(b["class_name"], []).append(b["batch"])
    return out


def coverage_label(row: dict, unscored: dict[str, list[int]] | None = None) -> str:
    if row["synthetic"] == 0:
        # A class whose batch awaits its scores read "no samples", as if none had been generated.
        if waiting := (unscored or {}).get(row["class"]):
            return "not on the map yet: batch " + ", ".join(map(str, waiting)) + " not scored"
        return "no samples"
    if row["coverage"] != row["coverage"]:
        return "n/a"  # under 2 real points
    if row["real"] < FEW_REAL:  # a handful of real points: one sample among them "covers" them all
        return f"{row['coverage']:.0%}: only {row['real']} real, too few to tell"
    return f"{row['coverage']:.0%}"


def tile_class(names: dict, class_index: int, px: int) -> str:
    """A tile's class name, cut to fit under its `px`-wide tile (a selection mixes classes; the map says which is
    which)."""
    return plain(tile_name(names.get(class_index, class_index), px))


def map_alt(df: pd.DataFrame, colour: str, chosen: tuple | None) -> str:
    """The map in words, for a screen reader (an unnamed image to it before): what it plots and how many points
    each legend entry holds (its colours have names only in the legend)."""
    groups = legend_groups(df, COLOUR_BY[colour], None if chosen is None else list(chosen))
    return (f"Embedding map of real training images (circles) and synthetic samples (diamonds), coloured by {colour}: "
            + "; ".join(f"{g.name}: {len(g.rows):,}" for g in groups))


def turn_to(page: int) -> None:
    st.session_state["emb_page"] = page


datasets = dataset_list()
if not datasets:
    st.info(NO_DATASET, icon=":material/upload_file:")
    st.stop()
# A row that wraps: in columns, 1024 px with the sidebar open split "Colour by" over two lines and cut the toggle
# to "Draw…".
controls = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
dataset = controls.selectbox("Dataset", datasets, key="emb_dataset", width=280)
colour = controls.radio("Colour by", list(COLOUR_BY), horizontal=True, key="emb_colour", width="content")
each_point = controls.toggle("Draw each point", key="emb_each_point",
                       help="One WebGL marker per point: hover shows its id, zoom stays sharp, the legend hides "
                            "groups. Slow where the browser has no GPU to draw with.")
with session_scope() as session:
    version = views.points_version(session, dataset)
df = load_points(dataset, version)
if df.empty or not (df["source"] == "real").any():
    st.info("No embedding yet for this dataset: it is computed in the worker when the first batch is scored.")
    st.stop()

chosen = class_choice(df, dataset) if colour == "class" else None
fig = point_map(dataset, version, colour, each_point, chosen, theme())
event = st.plotly_chart(fig, key="emb_chart", on_select="rerun", selection_mode=("box", "lasso", "points"),
                        alt=map_alt(df, colour, chosen))
n_real, n_synth = int((df["source"] == "real").sum()), int((df["source"] == "synthetic").sum())
st.caption(f"{n_real:,} real training images and {n_synth:,} synthetic samples. Each point is one image, placed so "
           "that images the dataset's feature extractor finds alike lie close together: the axes have no unit, only "
           "nearness means something (a synthetic sample far from every real image of its class looks unlike them). "
           "A batch's samples get their points when it is scored. Draw a box or lasso to see the images.")

# A selection drawn on the chart wins; "emb_selection" lets a test (or a link) hand one in.
drawn = event.selection if event else {}
selection = drawn if any(drawn.get(k) for k in ("points", "box", "lasso")) else st.session_state.get("emb_selection")
synth_ids, real_ids = selected_ids(df, selection)
if synth_ids or real_ids:
    st.header(f"Selected: {len(synth_ids)} synthetic, {len(real_ids)} real")
    n = len(synth_ids) + len(real_ids)
    pages = -(-n // PER_PAGE)
    if st.session_state.get("emb_page_of") != (chosen := hash((tuple(synth_ids), tuple(real_ids)))):
        st.session_state["emb_page_of"], st.session_state["emb_page"] = chosen, 0  # a new selection: its first page
    page = min(st.session_state["emb_page"], pages - 1)
    first, last = page * PER_PAGE, min(n, (page + 1) * PER_PAGE)  # synthetic samples first, then real images
    with session_scope() as session:
        shown = views.samples_by_ids(session, synth_ids[first:last])
        reals = views.real_images_by_ids(session, real_ids[max(0, first - len(synth_ids)):max(0, last - len(synth_ids))])
        side = views.dataset_summary(session, dataset)["resolution"]
    names = dict(zip(df["class_index"], df["class"]))
    px = shown_px(96, side)  # about 96 px, a whole multiple of the side (`shown_px`: a 64² image is drawn at 128)
    tiles = [(s["path"], f"#{s['id']} · {tile_class(names, s['class_index'], px)} · batch {s['batch']} "
                         f"{s['batch_status']}" + (" · sample rejected" if s["rejected"] else "")) for s in shown]
    tiles += [(r["path"], f"real #{r['id']} · {tile_class(names, r['class_index'], px)}") for r in reals]
    show_images([path for path, _ in tiles], [caption for _, caption in tiles], size=px)  # one element, tiles wrap
    if pages > 1:
        nav = st.columns([1, 1, 4], vertical_alignment="center")
        nav[0].button("Previous", key="emb_prev", disabled=page == 0, icon=":material/chevron_left:",
                      on_click=turn_to, args=(page - 1,))
        nav[1].button("Next", key="emb_next", disabled=page + 1 >= pages, icon=":material/chevron_right:",
                      on_click=turn_to, args=(page + 1,))
        nav[2].caption(f"showing {first + 1}–{last} of {n:,} selected · page {page + 1} of {pages}")

st.header("Coverage per class")
cov = coverage_per_class(dataset, version)
if len(cov) > COVERAGE_EVERY_CLASS:
    sampled = set(df.loc[df["source"] == "synthetic", "class"])  # rejected ones too: their bar says "no samples"
    st.caption(f"The {len(sampled)} of {len(cov)} classes with synthetic samples; the others have none to cover with.")
    cov = cov[cov["class"].isin(sampled)]
unscored = unscored_batches(dataset)
labels = [coverage_label(r, unscored) for r in cov.to_dict("records")]
# Horizontal bars, the classes down the side in their order: a long class name has the room a tilted label lacked.
# Plotly reads HTML in an axis's labels: a class folder's name held a link.
bar = go.Figure(go.Bar(y=[chart_text(c) for c in cov["class"]], x=cov["coverage"].fillna(0), orientation="h",
                       text=labels,
                       textposition="outside", cliponaxis=False,  # a 0 % bar has no inside to write its label in
                       customdata=cov[["real", "synthetic"]],
                       hovertemplate="class %{y}<br>coverage %{text}<br>%{customdata[0]} real, %{customdata[1]} synthetic"
                                     "<extra></extra>"))
bar.update_layout(xaxis=dict(range=[0, 1.1], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%",
                             title="real points covered"),
                  yaxis=dict(type="category", autorange="reversed", title="class"), height=60 + 26 * len(cov),
                  # room on the right for a label past a full bar ("100%: only 6 real, too few to tell")
                  margin=dict(l=0, r=6 * max([len(t) - 5 for t in labels] + [0]), t=10, b=0))
if len(cov):  # many classes, none with samples yet: the caption above says so
    st.plotly_chart(bar, key="emb_coverage", alt="Bar chart, coverage of each class's real training points by its "
                    "synthetic samples: " + "; ".join(f"class {c}: {t}" for c, t in zip(cov["class"], labels)))
st.caption("Coverage: the share of each class's real training points whose 5-nearest-neighbour ball on this map "
           "contains at least one synthetic sample that is not rejected (Naeem et al.'s coverage, on the map). "
           "\"no samples\": the class has none left to cover with (none generated, or all rejected); \"not on the "
           "map yet\": its batches await their scores (\"Compute scores\" on the Review page). \"too few to "
           f"tell\": under {FEW_REAL} real images, each one's ball spans most of the class, so a single sample covers "
           "them all; look at the samples on the Review page instead.")
