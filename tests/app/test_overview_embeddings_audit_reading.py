"""What a domain expert reads on the Overview, Embeddings and Audit pages: charts whose labels show, tiles that say
what they are, and a batch's record with every decision that decided which of its samples a gated set admits."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from db.engine import session_scope
from db.models import Dataset, Sample
from tests.app.conftest import app_test, approved_batch, embed_reals, image_captions, make_batch


def _chart(at, key: str) -> dict:
    [chart] = [c for c in at.get("plotly_chart") if key in c.proto.id]
    return json.loads(chart.proto.spec)


def test_overview_legend_sits_above_the_bars_and_each_bar_gives_its_counts(users, digits, tmp_path):
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions
    from tests.cli.test_ingest_progress import tiny_folder

    approved_batch(digits, 9, 3, seed=0)
    ingest_dataset(str(tiny_folder(tmp_path / "parts", 5)), "parts", IngestOptions(resolution=8, workers=1))
    at = app_test(users["rita"])
    chart = _chart(at, "imbalance_digits")
    legend = chart["layout"]["legend"]
    # Below the plot, at a share of its height, it covered the axis of a chart with few classes.
    assert legend["y"] >= 1 and legend["yanchor"] == "bottom"
    # On the title's line, it covered the longest bar's end with 2 classes: Plotly keeps a plot 64 px tall at least
    # and took them from the margins of a 124 px chart, whose title's line and x axis took 82 (in chromium).
    for key, classes in (("imbalance_parts", 2), ("imbalance_digits", 10)):
        layout = _chart(at, key)["layout"]
        assert layout["height"] - layout["margin"]["t"] - 55 >= max(64, 22 * classes) and layout["margin"]["t"] >= 30
    # A factory's 4 'crack' images beside 2,400 'ok' drew a bar under a pixel wide: the rare class looked empty.
    [counts] = [t for t in chart["data"] if t.get("mode") == "text"]
    said = dict(zip(counts["y"], counts["text"]))
    assert said["9"] == "4 + 3" and said["0"] == f"{chart['data'][0]['x'][0]:,}"


def test_coverage_tells_a_class_without_samples_from_an_uncovered_one(users, digits):
    embed_reals(digits)
    make_batch(digits, 9, 4)
    at = app_test(users["rita"], "embeddings.py")
    bar = _chart(at, "emb_coverage")["data"][0]
    labels = dict(zip(bar["y"], bar["text"]))
    assert labels["0"] == "no samples"  # it read "0%", as if samples of class 0 covered none of its images
    assert labels["9"].split(":")[0].endswith("%")  # then, for its few real images, that the figure tells little
    assert bar["textposition"] == "outside"  # a 0 % bar had no inside to show its label: the chart looked empty
    # Class names down the side: tilted under the bars, long ones took the chart's height and were cut off.
    assert bar["orientation"] == "h"


def test_coverage_names_a_batch_that_awaits_its_scores(users, digits):
    embed_reals(digits)
    make_batch(digits, 9, 4)
    unscored = make_batch(digits, 8, 4, scored=False, seed=2)
    with session_scope() as session:  # no points on the map until it is scored, as the worker leaves it
        for sample in session.scalars(select(Sample).where(Sample.batch_id == unscored)):
            sample.emb_x = sample.emb_y = None
    at = app_test(users["rita"], "embeddings.py")
    bar = _chart(at, "emb_coverage")["data"][0]
    labels = dict(zip(bar["y"], bar["text"]))
    # It read "no samples", with 4 samples of class 8 waiting on the Review page.
    assert labels["8"] == f"not on the map yet: batch {unscored} not scored"
    assert labels["0"] == "no samples"
    # What the map's axes mean, for a reader who has never met UMAP: nothing but nearness.
    assert any("the axes have no unit, only nearness means something" in c.value for c in at.caption)


def test_selected_tiles_name_their_class_and_batch(users, digits):
    embed_reals(digits)
    batch = make_batch(digits, 7, 2, seed=1)
    with session_scope() as session:
        ds = session.scalars(select(Dataset).where(Dataset.name == digits)).one()
        ds.class_names = [*ds.class_names[:7], "*LCNEC* large cell neuroendocrine carcinoma", *ds.class_names[8:]]
        sid, x, y = session.execute(select(Sample.id, Sample.emb_x, Sample.emb_y).where(Sample.batch_id == batch)
                                    .order_by(Sample.id)).first()
    at = app_test(users["rita"], "embeddings.py")
    e = 1e-6
    at.session_state["emb_selection"] = {"points": [], "lasso": [], "box": [{"x": [x - e, x + e], "y": [y - e, y + e]}]}
    at.run()
    assert not at.exception
    # It read "#… · batch pending": neither the class the sample was made for nor which batch. A long name is cut
    # to fit under the tile, and shown as its characters (not Markdown).
    assert [c for c in image_captions(at) if c.startswith("#")] == [
        f"#{sid} · \\*LCNEC\\* large c… · batch {batch} pending"]


def test_batch_provenance_lists_the_decisions_on_its_samples(users, digits):
    from db.review import approve_batch, reject_sample
    from db.users import get_user

    batch = make_batch(digits, 8, 3)
    other = make_batch(digits, 9, 2, seed=1)
    with session_scope() as session:
        first = session.scalar(select(Sample.id).where(Sample.batch_id == batch).order_by(Sample.id))
        elsewhere = session.scalar(select(Sample.id).where(Sample.batch_id == other))
    for sample, reason in ((first, "smudged stroke"), (elsewhere, "another batch")):
        with session_scope(immediate=True) as session:
            reject_sample(session, sample, get_user(session, "rita"), reason)
    with session_scope(immediate=True) as session:
        approve_batch(session, batch, get_user(session, "rita"), "plausible eights")
    at = app_test(users["rita"], "audit.py")
    at.selectbox(key="audit_batch").set_value(batch).run()
    assert not at.exception
    fields = dict(zip(at.dataframe[1].value["field"], at.dataframe[1].value["value"].fillna("–")))  # as shown
    assert (fields["Dataset"], fields["Class"], fields["Run resumed from"]) == ("digits", "8", "–")  # not "None"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", fields["Created (UTC)"])  # it showed microseconds
    assert any(f"`ganaug audit reproduce {batch}` regenerates the samples" in c.value for c in at.caption)
    history = at.dataframe[2].value
    # It listed the approval alone: which samples the approval left out, and why, was not on the batch's record.
    assert list(zip(history["action"], history["target"], history["reason"])) == [
        ("approve", f"batch {batch}", "plausible eights"), ("reject sample", f"sample {first}", "smudged stroke")]


def test_the_log_shows_the_reason_before_the_long_meaning(users, digits):
    at = app_test(users["rita"], "audit.py")
    columns = list(at.dataframe[0].value.columns)
    assert columns.index("reason") < columns.index("meaning")  # the meaning's sentence pushed it off screen


def _many_classes(tmp_path, n: int = 60) -> list[str]:
    """A 60-class dataset 'many' of 8×8 images beside the digits, names as long as a clinic's: class c has
    3 + (59 - c) % 10 images, so classes 9, 19, ..., 59 are the rarest; its real training images on the map."""
    import numpy as np
    from PIL import Image

    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    rng = np.random.default_rng(0)
    names = [f"naevus atypique — sous-type {c:03d}" for c in range(n)]
    for c, name in enumerate(names):
        (tmp_path / "many" / name).mkdir(parents=True)
        for i in range(3 + (n - 1 - c) % 10):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / "many" / name / f"{i}.png")
    # One process: a pool of decoders and writers costs ~1 s to start, more than these 450 tiny images take.
    ingest_dataset(str(tmp_path / "many"), "many", IngestOptions(resolution=8, workers=1))
    embed_reals("many")
    return names


def test_overview_of_many_classes_puts_the_rarest_first_in_a_scrolling_box(users, digits, tmp_path):
    names = _many_classes(tmp_path)
    at = app_test(users["rita"])
    bars = _chart(at, "imbalance_many")
    # the rarest first (then by class order): in the dataset's order, 60 classes hid them among the others
    assert bars["data"][0]["y"][:7] == [names[c] for c in (9, 19, 29, 39, 49, 59, 8)]
    assert bars["layout"]["yaxis"]["autorange"] == "reversed" and bars["layout"]["xaxis"]["side"] == "top"
    assert "many: 60 classes, the rarest first; scroll the chart for the rest" in [c.value for c in at.caption]
    digits_bars = _chart(at, "imbalance_digits")  # 10 classes: in their order, as before
    assert digits_bars["data"][0]["y"] == [str(c) for c in range(10)]


def test_embeddings_of_many_classes_colour_the_chosen_ones_and_grey_the_rest(users, digits, tmp_path):
    names = _many_classes(tmp_path)
    make_batch("many", 7, 4)
    make_batch("many", 42, 4, seed=1)
    at = app_test(users["rita"], "embeddings.py")
    at.selectbox(key="emb_dataset").set_value("many").run()
    at.radio(key="emb_colour").set_value("class").run()
    assert not at.exception
    chosen = at.multiselect(key="emb_classes_many")
    assert chosen.value == [names[7], names[42]]  # by default the classes with samples
    legend = [t["name"] for t in _chart(at, "emb_chart")["data"]]
    # It had 120 legend entries in 21 colours, which squeezed the map into a strip.
    assert legend == [f"{names[7]} · real", f"{names[7]} · synthetic", f"{names[42]} · real",
                      f"{names[42]} · synthetic", "other classes · real"]
    chosen.set_value([names[0]]).run()
    assert [t["name"] for t in _chart(at, "emb_chart")["data"]] == [f"{names[0]} · real", "other classes · real",
                                                                   "other classes · synthetic"]
    coverage = _chart(at, "emb_coverage")["data"][0]
    assert coverage["y"] == [names[7], names[42]]  # 58 bars of "no samples" are left out


def test_embeddings_colour_the_rarest_classes_with_samples_by_default(users, digits, tmp_path):
    # More classes with samples than colours: the first eight by index were chosen, leaving rarer ones grey.
    names = _many_classes(tmp_path)
    for c in range(10):  # real images: class 0 the most (12), class 9 the fewest (3)
        make_batch("many", c, 2, seed=c)
    at = app_test(users["rita"], "embeddings.py")
    at.selectbox(key="emb_dataset").set_value("many").run()
    at.radio(key="emb_colour").set_value("class").run()
    assert not at.exception
    assert at.multiselect(key="emb_classes_many").value == [names[c] for c in range(2, 10)]


def test_the_audit_filters_give_since_room_for_its_whole_date(users):
    # In five equal columns, at 1024 px (a 564-px row beside the sidebar, 4 gaps of 16 px: chromium), "Since" showed
    # "yyyy / mr"; at 137 px its "yyyy / mm / dd" shows whole (chromium), and "Show at most" stays on one line.
    at = app_test(users["rita"], "audit.py")
    row = at.columns[:5]  # actor, action, target, since, how many
    assert [d.label for d in row[3].date_input] == ["Since"]
    weights = [c.weight for c in row]
    assert weights[3] / sum(weights) * (564 - 4 * 16) >= 135


def test_the_pending_batches_class_column_leaves_scored_and_created_in_view(users, digits):
    # At 1024 px the table is 564 px wide beside the sidebar (chromium) and its other columns take ≈ 490 px: Class at
    # 300 px pushed Scored and Created out of view. It is as wide as the names shown now, at most the other tables'
    # class width, which a name of ~40 characters needs (pages/tables.py's class_sized).
    import streamlit as st

    from pages.tables import TABLE_COLUMNS
    from tests.app.test_table_headers import headers

    make_batch(digits, 8, 2)
    width = lambda at: headers(at.dataframe[0])["class_name"]["width"]  # noqa: E731
    assert width(app_test(users["rita"])) <= 564 - 490
    with session_scope(immediate=True) as session:
        ds = session.scalars(select(Dataset).where(Dataset.name == digits)).one()
        ds.class_names = [*ds.class_names[:8], long := "pitting corrosion — sous-type 005, bord", *ds.class_names[9:]]
    st.cache_data.clear()  # the page keeps what it read for 5 s
    assert 7 * len(long) <= width(app_test(users["rita"])) <= TABLE_COLUMNS["class_name"]["width"]  # whole
