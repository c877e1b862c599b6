"""The Review page says what a scored batch's scores mean as a whole, above its grid, as `ganaug evaluate batch`'s
verdict does (ganaug_core/batch_verdict.py), with the app's way to act: a reviewer opening a batch of 64 samples the
classifier recognised 3 of was shown their scores one by one, and nothing said the batch did not show the class.

The batches are tests/db/helpers.py's rows with their scores stored; the class consistency is the batch's report as
its scoring records it (`ganaug.evaluation._record_report`: the report's summary)."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from db.engine import session_scope
from db.models import Dataset, Report, Sample
from tests.app.conftest import app_test, button
from tests.app.test_review import review
from tests.db.helpers import make_batch

AS_A_WHOLE = "**This batch as a whole**, worst first:"


def scored_batch(home, class_index: int, n: int, consistency: float, memorized=(), realism=None) -> int:
    """A scored batch of run 1 (folder runs/1) whose metrics recorded `consistency`; `realism`: every sample's."""
    with session_scope() as session:
        dataset = session.scalars(select(Dataset).where(Dataset.name == "digits")).one()
        batch = make_batch(session, home, dataset, class_index, n, memorized=memorized).id
        if realism is not None:
            session.execute(update(Sample).where(Sample.batch_id == batch).values(realism=realism))
        session.add(Report(dataset_id=dataset.id, kind="batch_metrics", path=f"reports/batches/{batch}",
                           sha256="m" * 64, summary={"batch": batch, "class_consistency": consistency}))
    return batch


def test_a_poor_batch_is_told_worst_first_with_the_apps_way_to_act(users, digits, home):
    from db.review import reject_memorized
    from db.users import get_user

    batch = scored_batch(home, 9, 64, 3 / 64, memorized=(0, 5), realism=0.5)
    run_dir = home / "runs" / "1"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps({"diversity_threshold": 0.5}))
    (run_dir / "stats.jsonl").write_text(json.dumps({"step": 2000, "diversity": {"9": 0.2}, "collapsed": [9]}) + "\n")

    at = review(users["rita"], batch)
    [said] = [w.value for w in at.warning if w.value.startswith(AS_A_WHOLE)]
    assert said.splitlines()[1:] == [
        "- The classifier recognises only 3 of 64 samples as class 9 (class consistency 0.047): they do not look like "
        "the class yet; train longer (“Start from run” 1 on the Generate page) before reviewing.",
        "- 2 of 64 samples copy a training image (flagged as memorized): approval refuses the batch until they are "
        "rejected (“Reject the 2 memorized sample(s)…” below the grid).",
        "- Little diversity: run 1's monitor flagged class 9, whose samples' spread is 0.20 of real, below the "
        "monitor's 0.5 (possible mode collapse): look for repeats among the samples and, where they repeat, train the "
        "run further (“Start from run” 1 on the Generate page).",
        "- Far from the real images (mean realism 0.500, below 1, is outside the real images of class 9): train "
        "longer (“Start from run” 1 on the Generate page) before reviewing."]
    assert button(at, "Reject the 2 memorized sample(s)…")  # the button it names
    assert not [w for w in at.warning if "diversity monitor" in w.value]  # said once, among the findings

    with session_scope(immediate=True) as session:  # rejected: approval no longer waits for them
        reject_memorized(session, batch, get_user(session, "rita"), "memorized")
    at.run()
    [said] = [w.value for w in at.warning if w.value.startswith(AS_A_WHOLE)]
    assert "memorized" not in said and len(said.splitlines()) == 4


def test_a_fine_batch_is_told_nothing_stands_out_in_a_caption(users, digits, home):
    batch = scored_batch(home, 7, 8, 1.0, memorized=(3,))  # realism 0, 1, …, 6, 0: a mean of 2.625
    with session_scope(immediate=True) as session:
        session.execute(update(Sample).where(Sample.batch_id == batch, Sample.memorized).values(rejected=True))
    at = review(users["rita"], batch)
    assert not [w for w in at.warning if w.value.startswith(AS_A_WHOLE)]
    assert [c.value for c in at.caption if c.value.startswith("This batch as a whole")] == [
        "This batch as a whole: Nothing stands out (8 of 8 recognised as class 7 (1.000), 1 memorized, all rejected, "
        "mean realism 2.625 (among the real images)): look at the samples below before approving."]


def test_a_decided_batchs_verdict_is_a_record_without_advice(users, digits, home):
    # An approved batch's verdict said "train longer (…) before reviewing" in a warning, as if it still waited; a
    # rejected batch not scored said "Check the grid for repeats before approving".
    from db.review import approve_batch, reject_batch
    from db.users import get_user

    batch = scored_batch(home, 9, 8, 3 / 8, realism=0.5)
    with session_scope(immediate=True) as session:
        unscored = make_batch(session, home, session.get(Dataset, 1), 9, 2, scored=False).id
        approve_batch(session, batch, get_user(session, "ada"), "reviewed one by one")
        reject_batch(session, unscored, get_user(session, "ada"), "repeats")
    (home / "runs" / "1").mkdir(parents=True, exist_ok=True)
    (home / "runs" / "1" / "stats.jsonl").write_text(json.dumps({"step": 2000, "diversity": {"9": 0.2},
                                                                 "collapsed": [9]}) + "\n")
    at = app_test(users["rita"], "review.py")
    at.toggle(key="review_show_all").set_value(True).run()
    at.selectbox(key="review_batch").set_value(batch).run()
    assert not [w.value for w in at.warning if "as a whole" in w.value]
    [said] = [c.value for c in at.caption if "as a whole" in c.value]
    assert said.splitlines() == [
        "What this approved batch's scores say as a whole, worst first:",
        "- The classifier recognises only 3 of 8 samples as class 9 (class consistency 0.375).",
        "- Little diversity: run 1's monitor flagged class 9, whose samples' spread is 0.20 of real, below the "
        "monitor's 0.5 (possible mode collapse).",
        "- Far from the real images (mean realism 0.500, below 1, is outside the real images of class 9)."]

    at.selectbox(key="review_batch").set_value(unscored).run()
    assert not [w.value for w in at.warning if "diversity monitor" in w.value]
    assert [c.value for c in at.caption if "diversity monitor" in c.value] == [
        "The run behind this batch ended with class 9 flagged by its diversity monitor: its samples' spread is 0.20 "
        "of real (possible mode collapse)."]
