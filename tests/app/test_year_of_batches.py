"""A home after a year of use holds more batches than a picker lists (1,500 against the Review page's newest 200 and
the Audit page's newest 500) and more events than the log's table shows (60,000 against 200): each says how many it
left out, and a batch left out of a picker is opened by its id. The limits are lowered here to 2 and 10 rows."""

from __future__ import annotations

from sqlalchemy import select

import db.views
import pages.review_queue
from db.audit import count_events
from db.engine import session_scope
from db.models import Sample
from db.review import tag_samples
from db.users import get_user
from tests.app.conftest import app_test, approved_batch, export_from_page, make_batch


def picker(at, label: str = "Batch"):
    [found] = [s for s in at.selectbox if s.label == label]
    return found


def lists(at, batch: int) -> bool:
    return any(o.startswith(f"batch {batch} ") for o in picker(at).options)


def id_box(at):
    [found] = [n for n in at.number_input if n.label == "Open batch by id"]
    return found


def test_the_review_picker_says_what_it_left_out_and_opens_an_older_batch_by_its_id(users, digits, monkeypatch):
    monkeypatch.setattr(pages.review_queue, "QUEUE_ROWS", 2)
    first, *_ = [make_batch(digits, 9, 1, seed=s) for s in range(4)]
    decided = approved_batch(digits, 9, 1, seed=9)
    at = app_test(users["rita"], "review.py")
    assert len(picker(at).options) == 2 and not lists(at, first)
    assert any("newest 2 of 4 pending batches" in c.value for c in at.caption), [c.value for c in at.caption]
    id_box(at).set_value(first).run()  # the oldest pending batch, the longest waiting, was out of the picker's reach
    assert not at.exception and picker(at).value == first, [e.value for e in at.error]
    assert at.query_params["batch"] == str(first)
    id_box(at).set_value(decided).run()
    assert [e.value for e in at.error] == [f"Batch {decided} is approved: switch on “Show decided batches too” to "
                                           "open it."] and picker(at).value == first
    id_box(at).set_value(999).run()
    assert [e.value for e in at.error] == ["There is no batch 999."] and picker(at).value == first


def test_no_batch_pending_counts_every_decided_one_not_the_pickers_newest(users, digits, monkeypatch):
    monkeypatch.setattr(pages.review_queue, "QUEUE_ROWS", 2)
    for s in range(3):
        approved_batch(digits, 9, 1, seed=s)
    at = app_test(users["rita"], "review.py")
    assert any("3 decided (3 approved)" in i.value for i in at.info), [i.value for i in at.info]


def test_the_audit_page_says_how_many_events_match_and_opens_any_batch_by_its_id(users, digits, monkeypatch):
    monkeypatch.setattr(db.views, "PICKER_BATCHES", 2)
    first = make_batch(digits, 9, 12)
    for s in range(1, 4):
        make_batch(digits, 9, 1, seed=s)
    with session_scope(immediate=True) as s:
        ids = list(s.scalars(select(Sample.id).where(Sample.batch_id == first)))
        tag_samples(s, ids, "blur", get_user(s, "rita"))
    at = app_test(users["ada"], "audit.py")
    at.number_input(key="audit_limit").set_value(10).run()
    [caption] = [c.value for c in at.caption if "matching events" in c.value]
    with session_scope() as s:
        assert caption.startswith(f"10 of {count_events(s):,} matching events shown, the newest")
    assert len(picker(at).options) == 2 and not lists(at, first)
    id_box(at).set_value(first).run()
    assert not at.exception and picker(at).value == first
    assert any(f"audit reproduce {first}`" in c.value for c in at.caption)


def test_a_long_log_is_replayed_for_the_exports_withdrawn_counts_only_when_asked(users, digits, monkeypatch):
    import ganaug.export_changes
    import pages.recorded_exports
    from db.review import revoke_batch

    eights = approved_batch(digits, 8, 3, seed=1)
    at = export_from_page(app_test(users["rita"], "audit.py"), "gated-1")
    with session_scope(immediate=True) as s:
        revoke_batch(s, eights, get_user(s, "ada"), "eights that read as threes")
    monkeypatch.setattr(pages.recorded_exports, "COUNT_WITHDRAWN_EVENTS", 3)  # a year's log: 60,000 events
    replays = []
    counts = ganaug.export_changes.withdrawn_counts
    monkeypatch.setattr(ganaug.export_changes, "withdrawn_counts", lambda rows: replays.append(1) or counts(rows))
    at = app_test(users["rita"], "audit.py")
    # Each visit after a decision replayed the whole log first (18 s of the page's first run at 60,000 events).
    assert not replays and list(at.dataframe[-1].value["folder_check"]) == ["matches · withdrawn not counted"]
    at.toggle(key="export_count_withdrawn").set_value(True).run()
    assert replays == [1] and list(at.dataframe[-1].value["folder_check"]) == ["matches · 3 withdrawn"]
