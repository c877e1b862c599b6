"""The batch a visit to the Review page opens: the newest scored pending batch over the whole queue (it can be sorted
by its scores and approved), not among the picker's newest rows alone. In a home whose newest batches were not scored
yet (their jobs cancelled), the page opened on "Compute scores" while scored batches waited behind them. The picker's
limit is lowered here to 2 rows."""

from __future__ import annotations

import pages.review_queue
from tests.app.conftest import app_test, make_batch


def test_a_visit_opens_the_newest_scored_batch_behind_newer_unscored_ones(users, digits, monkeypatch):
    monkeypatch.setattr(pages.review_queue, "QUEUE_ROWS", 2)
    nines = make_batch(digits, 9, 1, seed=1)  # scored, the oldest
    eights = make_batch(digits, 8, 1, seed=2)  # scored
    for s in range(3, 6):
        make_batch(digits, 9, 1, scored=False, seed=s)
    at = app_test(users["rita"], "review.py")
    assert at.selectbox(key="review_batch").value == eights
    assert not any("not computed yet" in w.value for w in at.warning), [w.value for w in at.warning]

    at.selectbox(key="review_class").set_value((digits, "9")).run()  # the class filter: its own newest scored
    assert not at.exception and at.selectbox(key="review_batch").value == nines
    assert any(o.startswith(f"batch {nines} ") for o in at.selectbox(key="review_batch").options)


def test_the_caption_counts_the_older_batch_the_picker_added(users, digits, monkeypatch):
    # It said "lists the newest 2 of 5" while the picker listed 3: the opened batch from further back as well.
    monkeypatch.setattr(pages.review_queue, "QUEUE_ROWS", 2)
    nines = make_batch(digits, 9, 1, seed=1)
    eights = make_batch(digits, 8, 1, seed=2)  # the newest scored: a visit opens it
    for s in range(3, 6):
        make_batch(digits, 9, 1, scored=False, seed=s)
    at = app_test(users["rita"], "review.py")
    assert len(at.selectbox(key="review_batch").options) == 3
    assert [c.value for c in at.caption if "picker lists" in c.value] == [
        f"The picker lists the newest 2 of 5 pending batches and batch {eights}, opened from further back: open an "
        "older one by its id (`ganaug review pending --limit N` lists the pending ones, oldest first)."]
    at.number_input(key="review_open_id").set_value(nines).run()  # opened by its id: listed, and said, instead
    assert not at.exception and at.selectbox(key="review_batch").value == nines
    assert any(f"newest 2 of 5 pending batches and batch {nines}, opened" in c.value for c in at.caption), [
        c.value for c in at.caption]
