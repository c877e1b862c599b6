"""A reviewer's second pass at a 1366-px laptop: the batch Review opens first, an unscored batch's controls, tables
whose important columns are in sight, the benchmark arms in words and what an export would hold before the click
(the class colours a reader with red-green colour blindness tells apart: tests/app/test_colour_distance.py)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from db.engine import session_scope
from tests.app.conftest import ROOT, TIMEOUT, app_test, make_batch
from tests.app.test_review import review


def test_review_opens_the_newest_scored_pending_batch_first(users, digits):
    # The newest batch opened on "Compute scores" while an older, scored batch waited for its review.
    scored = make_batch(digits, 7, 2)
    unscored = make_batch(digits, 8, 2, scored=False)
    at = app_test(users["rita"], "review.py")
    assert at.selectbox(key="review_batch").value == scored
    assert at.query_params["batch"] == str(scored)
    assert not [b for b in at.button if b.label == "Compute scores"]

    reloaded = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)  # the address still wins
    reloaded.session_state["user"] = users["rita"]
    reloaded.query_params["batch"] = str(unscored)
    reloaded.switch_page("pages/review.py")
    reloaded.run()
    assert reloaded.selectbox(key="review_batch").value == unscored


def test_review_opens_the_newest_pending_batch_when_none_is_scored(users, digits):
    # With decided batches listed too, the newest (an approved one) opened rather than the one waiting for review.
    from db.review import approve_batch
    from db.users import get_user

    older, newer = make_batch(digits, 8, 2, scored=False), make_batch(digits, 9, 2, scored=False)
    approved = make_batch(digits, 7, 2)
    with session_scope(immediate=True) as session:
        approve_batch(session, approved, get_user(session, "ada"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["user"] = users["rita"]
    at.session_state["review_show_all"] = True
    at.switch_page("pages/review.py")
    at.run()
    assert not at.exception
    assert len(at.selectbox(key="review_batch").options) == 3
    assert at.selectbox(key="review_batch").value == newer != older


def test_an_unscored_batch_offers_no_score_sorts_and_its_tiles_no_dash(users, digits):
    scored, batch = make_batch(digits, 9, 3), make_batch(digits, 8, 3, scored=False)
    at = review(users["rita"], batch)
    sort = at.selectbox(key="review_sort_unscored")
    assert sort.options == ["sample id"] and "not computed for this batch yet" in sort.help
    assert not [s for s in at.selectbox if s.key in ("review_sort", "review_memorized")]
    assert not [s for s in at.slider if s.key == "review_min_conf"]
    captions = [img.caption for img in at.get("image")[0].proto.imgs]
    assert len(captions) == 3 and not [c for c in captions if "conf" in c], captions

    at.selectbox(key="review_batch").set_value(scored).run()
    assert "realism" in at.selectbox(key="review_sort").options
    assert all(" · conf 0." in img.caption for img in at.get("image")[0].proto.imgs)


def test_overview_tables_are_not_side_by_side(users, digits):
    # Side by side, half the width of a 1366-px laptop cut off the pending batches' Created column.
    make_batch(digits, 8, 2)
    at = app_test(users["rita"], "overview.py")
    assert len(at.dataframe) == 3  # pending batches, runs, recent decisions
    assert not [c for c in at.columns if len(c.dataframe)]
    assert "created" in at.dataframe[0].value.columns


def test_the_log_shows_the_hash_before_the_long_meaning(users, digits):
    at = app_test(users["rita"], "audit.py")
    columns = list(at.dataframe[0].value.columns)
    assert columns[-1] == "meaning" and columns.index("hash") < columns.index("meaning")


def test_export_tab_says_what_the_ratio_would_admit_before_the_click(users, digits, home):
    from db.review import approve_batch, reject_sample
    from db.users import get_user
    from db.models import Sample
    from sqlalchemy import select

    batch = make_batch(digits, 9, 6)
    with session_scope(immediate=True) as session:
        rita = get_user(session, "rita")
        first = session.scalars(select(Sample.id).where(Sample.batch_id == batch).order_by(Sample.id)).first()
        reject_sample(session, first, rita, "smudge")
        approve_batch(session, batch, rita)
    at = app_test(users["rita"], "audit.py")
    assert not [d for d in at.dataframe if "over_ratio" in d.value.columns]  # on request: the gate reads every file
    at.toggle(key="export_preview_on").set_value(True).run()
    [preview] = [d.value for d in at.dataframe if "over_ratio" in d.value.columns]
    nine = preview[preview["class_name"] == "9"].iloc[0]
    assert nine["synthetic_images"] + nine["over_ratio"] == 5  # the rejected sample is out whatever the ratio
    assert nine["synthetic_images"] == min(5, nine["real_images"])
    assert preview["synthetic_images"].sum() == nine["synthetic_images"]
    assert any("What this export would hold" in m.value for m in at.markdown)
    assert not (home / "exports").exists()  # nothing written before the click


def test_batch_quality_keeps_the_main_measures_in_sight_and_the_rest_in_an_expander(users, digits):
    from ganaug import evaluation

    batch_id = make_batch(digits, 9, 6, scored=False)
    evaluation.ensure_feature_extractor(digits, steps=10)
    evaluation.batch_metrics(batch_id)
    at = app_test(users["rita"], "evaluate.py")
    main, everything = (d.value for d in at.dataframe)
    assert len(main.columns) <= 9 and {"batch", "class_name", "fid", "fid_held_out", "recall"} <= set(main.columns)
    assert set(main.columns) < set(everything.columns)  # nothing dropped: the whole table is one click away
    assert {"samples", "coverage", "kid_held_out", "precision_held_out", "closer_to_train"} <= set(everything.columns)


def test_batch_quality_fits_beside_the_sidebar_at_1024_px(users, digits, home):
    """With Samples, Coverage and a 300-px Class column the main table was 927 px wide: it scrolled sideways in the
    562 px a 1024-px screen leaves beside the sidebar (chromium). Seven columns, Class as wide as its names, are
    534 px there; samples and coverage are in the expander's whole table."""
    import json

    from tests.app.test_evaluate_many_classes import one_held_out_image_metrics, record

    record(home, "batch_metrics", "reports/batches/1", {"metrics.json": one_held_out_image_metrics(1)})
    at = app_test(users["rita"], "evaluate.py")
    main, everything = at.dataframe[0], at.dataframe[1]
    assert list(main.value.columns) == ["batch", "class_name", "fid", "fid_held_out", "recall", "class_consistency",
                                        "copies"]
    assert json.loads(main.proto.columns)["class_name"]["width"] == 64  # class "9", not 300 px
    assert {"samples", "coverage"} <= set(everything.value.columns)


def test_benchmark_arms_are_offered_in_words(users, digits):
    at = app_test(users["rita"], "evaluate.py")
    arms = at.multiselect(key="eval_arms")
    assert "GAN samples, filtered by score" in arms.options and "gan_filtered" not in arms.options
    assert "dropping samples the automatic scores flag" in arms.help


def test_overview_runs_say_the_side_each_trained_at(users, digits):
    # A dataset's 64² and 128² runs looked alike in the Runs table.
    from db.models import Run

    make_batch(digits, 8, 2)
    with session_scope(immediate=True) as session:  # as a run's config.json records it
        session.get(Run, 1).config = {"arch": "dcgan", "resolution": 16}
    at = app_test(users["rita"], "overview.py")
    runs = at.dataframe[1].value
    assert "resolution" in runs.columns and list(runs["resolution"]) == [16]
