"""A home with more batches than a list shows: the Review page's class filter finds a rare class's batches among all of
them (it looked only among the newest its picker lists, where older pending batches of a rare class were not), and
the Overview says of how many its lists show the newest. The Review picker's limit is lowered to 2 rows here; the
Overview's are its own (50 batches, 20 runs, 15 events), reached with batches of no samples."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import select

import pages.review_queue
from db.audit import count_events
from db.engine import session_scope
from db.models import Sample
from db.review import tag_samples
from db.users import get_user
from tests.app.conftest import app_test, make_batch


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_the_class_filter_finds_a_rare_class_older_than_the_newest_batches(users, digits, monkeypatch):
    monkeypatch.setattr(pages.review_queue, "QUEUE_ROWS", 2)
    sevens = [make_batch(digits, 7, 1, seed=s) for s in range(3)]  # the longest waiting, of the rare class
    for s in range(3, 6):
        make_batch(digits, 9, 1, seed=s)
    at = app_test(users["rita"], "review.py")
    # Offered though none of its batches is among the newest two the picker lists.
    assert at.selectbox(key="review_class").options == ["all", f"{digits} · class 7", f"{digits} · class 9"]
    at.selectbox(key="review_class").set_value((digits, "7")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="review_batch").value == sevens[2]
    assert [o.split(" · ")[0] for o in at.selectbox(key="review_batch").options] == [f"batch {sevens[2]}",
                                                                                      f"batch {sevens[1]}"]
    assert any(c.startswith(f"The picker lists the newest 2 of 3 pending batches of {digits} · class 7: ")
               for c in captions(at)), captions(at)
    assert not [t.value for t in at.toast]  # the batch shown before is hidden by the filter, not decided


def test_the_overview_says_of_how_many_its_lists_show_the_newest(users, digits):
    at = app_test(users["rita"])
    assert not [c for c in captions(at) if c.startswith("The newest ")]  # nothing cut: nothing said
    tagged = make_batch(digits, 9, 15)
    for s in range(1, 51):
        make_batch(digits, 9, 0, seed=s)  # a run each: 51 runs too
    with session_scope(immediate=True) as s:  # an event per sample tagged: 15 more events
        tag_samples(s, list(s.scalars(select(Sample.id).where(Sample.batch_id == tagged))), "blur",
                    get_user(s, "rita"))
        events = count_events(s)
    st.cache_data.clear()  # the page's 5-second cache, run out
    at = app_test(users["rita"])
    assert [c for c in captions(at) if c.startswith("The newest ")] == [
        "The newest 50 of 51 batches pending review: the Review page opens any of them, by its class or its id.",
        "The newest 20 of 51 runs: `ganaug runs list --limit N` lists more.",
        f"The newest 15 of {events} decisions logged: the Audit page's decision log filters them all."]
