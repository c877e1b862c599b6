"""The review page's queue: the batches its picker lists (the newest QUEUE_ROWS, of one class where its class filter
chooses one), the batch a visit opens, the classes that filter offers, the batches per status, and the id box that
opens a batch the picker left out. Cached for a few seconds; a decision clears them (pages/review_decisions.py). Not a
page itself (app.py never lists it).
"""

from __future__ import annotations

from typing import Optional

import streamlit as st

from db import views
from db.engine import session_scope
from db.review_queue import batch_classes, first_to_review

QUEUE_ROWS = 200  # batches the picker lists, the newest; the rest are opened by their id (a year's home: 1,500)


@st.cache_data(ttl=3, show_spinner=False)
def load_queue(show_all: bool, of_class: Optional[tuple[str, int]] = None) -> list[dict]:
    """The picker's batches, the newest first; `of_class` (dataset name, class index): that class's alone, found by
    the query among all batches. Filtered here, among the newest QUEUE_ROWS, a rare class's older pending batches
    were not found behind QUEUE_ROWS newer ones of other classes."""
    with session_scope() as session:
        return views.batches_table(session, None if show_all else "pending", limit=QUEUE_ROWS, of_class=of_class)


@st.cache_data(ttl=3, show_spinner=False)
def load_classes(show_all: bool) -> list[dict]:
    """Each dataset and class with batches in the queue, and how many: the class filter's choices."""
    with session_scope() as session:
        return batch_classes(session, None if show_all else "pending")


@st.cache_data(ttl=3, show_spinner=False)
def load_batch_counts() -> dict[str, int]:
    """Batches per status: of how many the picker lists the newest, and what the toggle hides."""
    with session_scope() as session:
        return views.batch_counts(session)


@st.cache_data(ttl=3, show_spinner=False)
def load_first_to_review(show_all: bool, of_class: Optional[tuple[str, int]] = None) -> Optional[int]:
    """The batch a visit opens, over the whole queue (of one class where the filter chooses one), not among the
    picker's newest QUEUE_ROWS alone (`db.review_queue.first_to_review` says which)."""
    with session_scope() as session:
        return first_to_review(session, None if show_all else "pending", of_class)


def load_batch(batch_id: int, show_all: bool, of_class: Optional[tuple[str, int]] = None) -> list[dict]:
    """The picker's row of one batch its list left out (asked for by id or by the address), if it may be shown."""
    with session_scope() as session:
        return views.batches_table(session, None if show_all else "pending", ids=[batch_id], of_class=of_class)


def open_by_id() -> None:
    """The id box's callback: the batch it names is shown, if it exists and the toggle lets it be (pending)."""
    asked = st.session_state.get("review_open_id")
    if asked is None:
        return
    show_all = bool(st.session_state.get("review_show_all"))
    if load_batch(int(asked), show_all):
        st.session_state["review_batch"] = int(asked)
        st.session_state["review_class"] = None  # a class filter would hide it again
    else:
        status = {b["batch"]: b["status"] for b in load_batch(int(asked), True)}.get(int(asked))
        st.session_state["review_flash"] = ("error", f"There is no batch {int(asked)}." if status is None else
                                            f"Batch {int(asked)} is {status}: switch on “Show decided batches too” "
                                            "to open it.")
