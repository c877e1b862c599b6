"""Overview: datasets with their imbalance bars, runs and their status, batches pending review, recent decisions."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from db import run_views, views
from db.engine import session_scope
from ganaug_core.markdown import chart_text
from pages.ingest_form import ADMIN_NO_DATASET, add_dataset
from pages.tables import MISSING, class_sized, event_table, table_columns, text_cells
from pages.ui import NO_DATASET, plain, require_user

PENDING_ROWS, RUN_ROWS, EVENT_ROWS = 50, 20, 15  # the newest of each the page lists; "N of M" says where it cut
EVERY_CLASS_IN_ORDER = 30  # up to this many classes the chart keeps the dataset's order at its full height
CHART_BOX_PX = 560  # the height of the scrolling box of a chart of more classes (≈ 20 classes at a time)
# Plotly keeps a plot at least this tall (its layout's `minreducedheight`) and takes what it lacks from the margins:
# with 2 classes the chart was 124 px (80 + 2 × 22), the title's line and the x axis took 82 of them (30 + 52,
# measured in chromium), and the top margin shrank to 21 px: the legend, 29 px tall on that line, covered the
# right end of the longest bar.
PLOTLY_MIN_PLOT_PX = 64
TITLE_LINE_PX = 30  # the top margin: the title, and the legend beside it
FRAME_PX = TITLE_LINE_PX + 58  # and the x axis below the bars (52–55 px measured, with its title "images")
# Vega's orange was 2.5:1 against the page, where a bar needs 3:1 (WCAG 1.4.11): darkened as the memorized tiles'
# frame (pages/ui.py), it still reads as the orange the caption names.
APPROVED_BAR = "#E76C00"

user = require_user()
st.title("Overview")


@st.cache_data(ttl=5, show_spinner=False)
def load_overview() -> dict:
    with session_scope() as session:
        return dict(
            counts=views.counts(session),
            names={n: views.dataset_summary(session, n)["class_names"] for n in views.dataset_names(session)},
            train=views.train_class_counts(session),
            approved=views.approved_class_counts(session),
            versions=views.dataset_versions(session),
            runs=run_views.runs_table(session, limit=RUN_ROWS),
            pending=views.batches_table(session, "pending", limit=PENDING_ROWS),
            events=views.recent_events(session, limit=EVENT_ROWS),
        )


@st.cache_data(show_spinner=False, max_entries=4)
def load_findings(versions: tuple) -> dict:
    """What each dataset's ingest warned of (`views.ingest_findings`), once per set of ingested datasets (`versions`):
    a dataset's images never change once ingested, and its two grouping queries read every image row (0.14 s for
    60,000 images, ten times the rest of the page's queries), which the page's 5-second cache repeated."""
    with session_scope() as session:
        return views.ingest_findings(session)


def chart_height(classes: int) -> int:
    """The imbalance chart's height: its title's line and x axis, and 22 px a class, or the least Plotly keeps."""
    return FRAME_PX + max(22 * classes, PLOTLY_MIN_PLOT_PX)


def imbalance_alt(name: str, class_names: list, real: list[int], approved: list[int]) -> str:
    """The imbalance chart in words, for a screen reader (which read its axis ticks as "0 20 40 … 0 1 2 …"): every
    class's real and approved counts, in the chart's order."""
    return (f"Bar chart, {name}: training images per class, real (train) plus approved synthetic samples: "
            + "; ".join(f"class {n}: {r:,} real, {a:,} approved" for n, r, a in zip(class_names, real, approved)))


def bar_counts(real: list[int], approved: list[int]) -> list[str]:
    """The numbers beside each class's bar: its real training images, plus its approved samples where it has any
    (the legend's colours say which is which)."""
    return [f"{r:,}" + (f" + {a:,}" if a else "") for r, a in zip(real, approved)]


def ingest_caption(name: str, found) -> str:
    """What the dataset's ingest warned of, said where the whole team looks: the warnings went to one terminal; and
    the --bit-depth it was given, which whoever ingests its source again must give too."""
    if not found:
        return ""
    parts = []
    if found["identical"]:
        parts.append(f"{found['identical']:,} images are identical to another one ({found['across_classes']:,} of them "
                     f"under two classes or more, {found['across_splits']:,} on both sides of the train/test split)")
    if found["near"]:  # not identical: a JPEG saved again, a resized copy, a thumbnail
        parts.append(f"{found['near']:,} images are near-copies of another one (saved again with loss, resized or a "
                     f"thumbnail; {found['near_across_splits']:,} of them on both sides of the train/test split)")
    if found["skipped"]:
        many = found["skipped"] > 1
        parts.append(f"{found['skipped']:,} file{'s' * many} or folder{'s' * many} {'were' if many else 'was'} left "
                     "out at ingest")
    said = "; ".join(parts) + (". `ganaug data report` lists them (`--json`: by source path)." if parts else "")
    if found.get("bit_depth") is not None:
        bits = found["bit_depth"]
        said = (f"ingested with --bit-depth {bits} (a 16-bit image's values scaled {2**bits - 1:,} → 255)"
                + (f"; {said}" if said else "."))
    return f"{plain(name)}: {said}" if said else ""


data = load_overview()
findings = load_findings(data["versions"])
c = data["counts"]
# Spread over the page, each as wide as its label, wrapping where the row is narrow: in five equal columns, 1024 px
# with the sidebar open cut "Batches to review" to "Batches to revi…".
with st.container(horizontal=True, horizontal_alignment="distribute"):
    for label, key in [("Datasets", "datasets"), ("Runs", "runs"), ("Batches to review", "pending_batches"),
                       ("Synthetic samples", "samples"), ("Decisions logged", "decisions")]:
        st.metric(label, f"{c[key]:,}", width="content")

# Each page's sections are headings of level 2 (st.header) under its title: st.subheader (level 3) skipped one, a gap
# in the list of headings a screen reader moves through (axe: heading-order).
st.header("Datasets")
admin = user["role"] == "admin"  # only an admin adds a dataset (pages/ingest_form.py)
if not data["names"]:
    st.info(ADMIN_NO_DATASET if admin else NO_DATASET, icon=":material/upload_file:")
for name, class_names in data["names"].items():
    real, approved = data["train"][name], data["approved"][name]
    many = len(class_names) > EVERY_CLASS_IN_ORDER
    if many:  # rarest first: the classes a generator is for, at the top where the chart starts
        order = sorted(range(len(class_names)), key=lambda c: (real[c], c))
        class_names, real, approved = ([seq[c] for c in order] for seq in (class_names, real, approved))
    fig = go.Figure()
    labels = [chart_text(n) for n in class_names]  # Plotly reads HTML in a label: a class folder's name held a link
    fig.add_bar(y=labels, x=real, orientation="h", name="real (train)", marker_color="#4c78a8")
    fig.add_bar(y=labels, x=approved, orientation="h", name="approved synthetic", marker_color=APPROVED_BAR)
    # Each class's counts at the end of its bar: 4 'crack' images beside 2,400 'ok' drew a bar under a pixel wide,
    # and the rare class a generator is for looked empty.
    fig.add_scatter(y=labels, x=[r + a for r, a in zip(real, approved)], text=bar_counts(real, approved),
                    mode="text", textposition="middle right", cliponaxis=False, showlegend=False, hoverinfo="skip")
    # The legend sits on the title's line: below the plot (a share of its height) it covered the axis of a chart
    # with few classes.
    fig.update_layout(barmode="stack", height=chart_height(len(class_names)),
                      margin=dict(l=0, r=0, t=TITLE_LINE_PX, b=0),
                      title=f"{chart_text(name)}: training images per class" + (", rarest first" if many else ""),
                      legend=dict(orientation="h", x=1, xanchor="right", y=1, yanchor="bottom"),
                      # Class names as categories: names like "7" would otherwise make a numeric axis that labels
                      # every other class.
                      yaxis=dict(type="category", dtick=1, title="class", autorange="reversed" if many else True),
                      # room on the right for the longest bar's counts
                      xaxis=dict(title="images", side="top" if many else "bottom",
                                 range=[0, 1.2 * max([r + a for r, a in zip(real, approved)] + [1])]))
    if many:
        fig.update_layout(margin=dict(t=70), title=dict(y=1, yanchor="top", yref="container"),
                          legend=dict(y=1, yanchor="top", yref="container"))
        st.caption(f"{plain(name)}: {len(class_names)} classes, the rarest first; scroll the chart for the rest")
    # Past a few dozen classes the chart (22 px a class) scrolls in a box of its own and the page goes on below it.
    with st.container(height=CHART_BOX_PX) if many else st.container():
        st.plotly_chart(fig, key=f"imbalance_{name}", alt=imbalance_alt(name, class_names, real, approved))
    found = ingest_caption(name, findings.get(name))
    if found:
        st.caption(found)
    # A rare class's bar grown to the majority's by approved samples read as balanced; an export adds at most one
    # approved sample per real image of the class unless its ratio says more.
    capped = [f"{plain(n)}: {a:,} approved, {r:,} added" for n, r, a in zip(class_names, real, approved) if a > r]
    if capped:
        st.caption("An export adds at most one approved sample per real training image of its class (the ratio on the "
                   "Audit page, 1 by default), so an orange bar longer than its blue one is not all admitted: "
                   + "; ".join(capped) + ".")


if admin:
    add_dataset(expanded=not data["names"], on_end=load_overview.clear)


def cut_caption(shown: int, total: int, what: str, rest: str) -> None:
    """"The newest 50 of 73 batches pending review": a table cut at its limit said nothing of the rows it left out,
    and a long queue read as one of 50."""
    if total > shown:
        st.caption(f"The newest {shown:,} of {total:,} {what}: {rest}")


def pending_columns(pending: pd.DataFrame) -> dict:
    """The pending batches' columns, Class as wide as the longest name shown (`class_sized`): at 1024 px the table
    beside the sidebar is 564 px wide (chromium), and Class at 300 px for a one-digit name pushed Scored and Created
    out of view. A name of ~40 characters still shows whole (README), the table then scrolling sideways at 1024 px."""
    return class_sized(table_columns(pending), pending["class_name"])


# One table under the other, each the page's width: side by side, half a 1366-px laptop's width cut off their
# Created column.
st.header("Batches pending review")
if data["pending"]:
    pending = pd.DataFrame(data["pending"])[["batch", "dataset", "class_name", "count", "memorized", "scored",
                                             "created"]]
    st.dataframe(text_cells(pending), hide_index=True, column_config=pending_columns(pending), placeholder=MISSING,
                 key="overview_pending")
    cut_caption(len(pending), c["pending_batches"], "batches pending review",
                "the Review page opens any of them, by its class or its id.")
    st.page_link("pages/review.py", label="Open the review queue", icon=":material/fact_check:")
else:
    st.write("Nothing waiting for review.")
st.header("Runs")
if data["runs"]:
    # The side each run trained at: a dataset's 64² and 128² runs looked alike here.
    runs = pd.DataFrame(data["runs"])[["run", "dataset", "status", "step", "budget", "resolution", "arch", "created"]]
    st.dataframe(text_cells(runs), hide_index=True,
                 column_config=table_columns(runs), placeholder=MISSING, key="overview_runs")
    cut_caption(len(runs), c["runs"], "runs", "`ganaug runs list --limit N` lists more.")
else:
    st.write("No runs yet — launch one on the Generate page.")

st.header("Recent decisions")
if data["events"]:
    events = event_table(data["events"], ["id", "ts", "actor", "action", "target", "reason"])
    st.dataframe(text_cells(events), hide_index=True, column_config=table_columns(events), placeholder=MISSING)
    cut_caption(len(events), c["decisions"], "decisions logged", "the Audit page's decision log filters them all.")
else:
    st.write("No decisions recorded yet.")
