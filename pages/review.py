"""Review: the queue of pending batches, a paged grid of one batch's samples, per-sample tag/reject, batch decisions
(approve or reject a pending batch, revoke an approved one, reject its memorized samples at once), and for a pending
batch not scored yet (its job was cancelled or failed while scoring), a button that queues its scoring in the worker.

The opened sample (a box above the grid: the sample, its tag and reject controls, its nearest real images) is drawn
by pages/review_sample.py, the grid and its buttons by pages/review_grid.py, what a batch's scores say of it as a
whole (above its grid) by pages/review_verdict.py; the queue the batch picker lists (of one class where the class
filter chooses one) is read by pages/review_queue.py. Every click is one call into db/review.py in its own write
transaction (the callbacks are in pages/review_decisions.py), so a refresh or a second reviewer loses nothing.
Before acting on a batch the page re-reads its status in that same transaction: if another reviewer decided it
meanwhile, the action is refused with a message saying who did what.
"""

from __future__ import annotations

import re
from typing import Optional

import streamlit as st

from db import views
from db.engine import session_scope
from db.jobs import ACTIVE
from db.review_queue import review_page
from ganaug_core.imageio import shown_px
from ganaug_core.scoring import older_scoring
from ganaug_core.shown_text import utc_time
from pages.jobs import cancel_or_wait, failure, load_job, progress_bar, who_and_when
from pages.reveal import refocus
from pages.review_decisions import SCORE_JOB, batch_actions, load_tags, queue_scoring, set_state
from pages.review_grid import sample_grid, sample_picker
from pages.review_queue import (QUEUE_ROWS, load_batch, load_batch_counts, load_classes, load_first_to_review,
                                load_queue, open_by_id)
from pages.review_sample import sample_detail
from pages.review_verdict import batch_said
from pages.ui import NO_DATASET, RETRIED, TILE_PX, database_checked, plain, require_user

PER_PAGE_CHOICES = (24, 36, 48)
SORTS = {"sample id": "id", "class confidence": "class_confidence", "realism": "realism", "novelty": "novelty",
         "distance to nearest real": "nn_distance"}
MEMORIZED = {"any": None, "only memorized": True, "not memorized": False}
SORT_PX, FILTER_PX = 230, 170  # "distance to nearest real" whole; "only memorized" and a tag name of ~14 characters

require_user()
st.title("Review")


def load_page(batch_id: int, page: int, per_page: int, sort: str, descending: bool, tag, memorized,
              min_confidence) -> tuple[list[dict], int]:
    with session_scope() as session:
        rows, total = review_page(session, batch_id, page=page, per_page=per_page, sort=sort, descending=descending,
                                  tag=tag, memorized=memorized, min_confidence=min_confidence)
        return [views.sample_dict(r.sample, "", r.tags) for r in rows], total


def relabel_picked(key: str, labels: dict) -> None:
    """The browser shows a selectbox's chosen option with the text it had when chosen, and keeps it when a rerun
    formats that option anew (a count, a status). Choosing it again from here sends the new text. Call before the
    selectbox is drawn."""
    picked = st.session_state.get(key)
    if picked in labels and st.session_state.get(f"{key}_label") not in (None, labels[picked]):
        st.session_state[key] = picked
    # What it shows after this run: a choice no longer offered (or none yet) falls back to the first option.
    st.session_state[f"{key}_label"] = labels.get(picked, next(iter(labels.values()), None))


@st.fragment(run_every=2)
@database_checked(RETRIED)
def scoring_progress(job_id: int, batch_id: int) -> None:
    job, ahead = load_job(job_id)
    if job is not None and job["status"] in ACTIVE:
        st.caption(who_and_when(job))
        progress_bar(job, prefix=f"Scoring job {job_id}: ", pace=True)
        cancel_or_wait(job, ahead, f"score_cancel_{job_id}",
                       stops="the worker stops before its next stage; the batch's scores are stored whole or not at all")
        return
    if job is not None and job["status"] == "done":
        st.session_state["review_toast"] = (f"Batch {batch_id} scored (job {job_id}): sort by class confidence, "
                                            "realism or novelty to look at the weakest samples first",
                                            ":material/analytics:")
    st.rerun(scope="app")  # it ended: the page now shows the scores, or the failure and the button again


def scoring_controls(batch_id: int, older: Optional[str] = None) -> None:
    """For an unscored batch, or one scored by an older check (`older`: which, from `older_scoring`): its scoring
    job's progress, or a button that queues one (the worker runs it; for `older`, over the stored scores)."""
    with session_scope() as session:
        found = views.latest_batch_job(session, SCORE_JOB, batch_id)
    job = load_job(found)[0] if found is not None else None
    if job is not None and job["status"] in ACTIVE:
        scoring_progress(job["job"], batch_id)
        return
    if older and job is not None and not job["params"].get("rescore"):
        job = None  # the job that first scored it: its end says nothing of a rescore
    if older:  # its memorization flags may come from a weaker copy check: a reviewer approving on them must know
        st.caption(f"Scored by an older check ({older}): Compute scores again for today's scores and memorization "
                   "flags.")
    if job is not None and job["status"] == "failed":
        failure(job, f"Scoring job {job['job']} failed")
    elif job is not None and job["status"] == "cancelled":
        st.caption(f"Scoring job {job['job']} was cancelled. {who_and_when(job)}")
        if job["message"].startswith("cancelled on request:"):  # stopped while it ran: what it finished and not
            st.caption(plain(job["message"]))
    st.button("Compute scores again" if older else "Compute scores", key=f"score_batch_{batch_id}",
              icon=":material/analytics:", on_click=queue_scoring,
              args=(batch_id, job["job"] if job is not None else found or 0, bool(older)))
    st.caption("The worker that `ganaug app` starts scores the batch: class confidence, realism, novelty and the "
               "memorization check approval waits for. A job still running ahead of it (such as the run that "
               "generated this batch) goes first.")


def show_feedback() -> None:
    """The last decision's message and toast, set by a callback (which may not draw them itself).

    The message sits above the grid, out of sight of a reviewer who clicked a button below it or beside a sample:
    a refusal is also a toast, which shows wherever the page is scrolled."""
    flash = st.session_state.pop("review_flash", None)
    if flash:
        getattr(st, flash[0])(plain(flash[1]))  # messages name tags, accounts and reasons others typed
        if flash[0] == "error":
            st.toast(plain(flash[1]), icon=":material/error:")
    toast = st.session_state.pop("review_toast", None)
    if toast:
        text, icon = toast if isinstance(toast, tuple) else (toast, ":material/check:")
        st.toast(plain(text), icon=icon)
    if moved_on := st.session_state.pop("review_moved_on", None):
        st.toast(plain(moved_on), icon=":material/swap_horiz:")


def unseen_refusal(slot) -> None:
    """A refused action of a sample no longer open (the batch moved on meanwhile): said in `slot`, above the grid,
    and as a toast, as a batch's refusal is. The opened sample's box says its own (pages/review_sample.py)."""
    flash = st.session_state.pop("review_sample_flash", None)
    if flash:
        slot.error(plain(flash[2]))
        st.toast(plain(flash[2]), icon=":material/error:")


top_row = st.container(horizontal=True, vertical_alignment="bottom")  # in columns: "Show decided batche…"
show_all = top_row.toggle("Show decided batches too", key="review_show_all")
counts = load_batch_counts()
every = sum(counts.values()) if show_all else counts.get("pending", 0)
# Every class with batches in the queue, not only those among the newest QUEUE_ROWS: a rare class's pending batches,
# older than QUEUE_ROWS newer ones of other classes, were neither offered nor found.
classes = {(c["dataset"], c["class_name"]): c for c in load_classes(show_all)}
class_filter = top_row.selectbox("Dataset and class", [None] + sorted(classes), key="review_class",
                                 format_func=lambda c: "all" if c is None else f"{c[0]} · class {c[1]}")
chosen = classes.get(class_filter)
of_class = None if chosen is None else (chosen["dataset"], chosen["class_index"])
queue = load_queue(show_all, of_class)
listed = len(queue)
total = every if chosen is None else chosen["batches"]
if every > QUEUE_ROWS:
    top_row.number_input("Open batch by id", min_value=1, value=None, step=1, key="review_open_id",
                         on_change=open_by_id, width=170, placeholder="batch id")
# A batch asked for (by the id box, by the address, by the Generate page) that the picker's newest QUEUE_ROWS leave
# out: in a year's home the oldest pending batches, the longest waiting, could not be opened at all.
asked = st.session_state.get("review_batch")
if asked is None and re.fullmatch(r"[0-9]{1,18}", st.query_params.get("batch", "")):
    asked = int(st.query_params["batch"])
if asked is not None and listed == QUEUE_ROWS and asked not in {b["batch"] for b in queue}:
    queue = queue + load_batch(asked, show_all, of_class)
if not queue:
    show_feedback()
    unseen_refusal(st.empty())
    with session_scope() as session:
        no_dataset = not views.dataset_names(session)
    if no_dataset:  # nothing to launch a run on yet
        st.info(NO_DATASET, icon=":material/upload_file:")
    elif not show_all and (decided := {s: n for s, n in counts.items() if s != "pending" and n}):  # behind the toggle
        st.info(f"No batches waiting for review; {sum(decided.values()):,} decided ("
                + ", ".join(f"{n:,} {status}" for status, n in sorted(decided.items()))
                + ") are hidden. Turn on “Show decided batches too” to open them, or launch a run on the Generate "
                "page for new ones.")
    else:
        st.info("No batches waiting for review. Launch a run on the Generate page; its batches appear here.")
    st.stop()

# Only ASCII digits, and few: str.isdigit() also takes '²', which int() refuses, and int() refuses over 4,300
# digits; a link with either (?batch=²) broke the Review page of whoever opened it.
if "review_batch" not in st.session_state and re.fullmatch(r"[0-9]{1,18}", asked := st.query_params.get("batch", "")):
    if int(asked) in {b["batch"] for b in queue}:  # a reload (a new session) opens the batch the address names
        st.session_state["review_batch"] = int(asked)
if (shown := st.session_state.get("review_batch")) not in (ids := {b["batch"] for b in queue}):  # a first visit,
    # or the batch shown left the queue. The newest scored pending batch over the whole queue: chosen among the
    # picker's newest QUEUE_ROWS, a home whose newest batches were not scored yet opened on "Compute scores" while
    # older scored ones waited.
    opening = load_first_to_review(show_all, of_class)
    if opening is not None and opening not in ids:
        queue = queue + load_batch(opening, show_all, of_class)  # none where it was decided meanwhile
    st.session_state["review_batch"] = opening if any(b["batch"] == opening for b in queue) else queue[0]["batch"]
    if shown is not None and not load_batch(shown, show_all):  # it left the queue; one the class filter hides has not
        # Decided (here, by the buttons below the grid where the reviewer still looks, or by a colleague): the
        # samples are now another batch's, which only the picker at the top of the page said, out of sight. Shown
        # by show_feedback: a decision's run is followed by another of the whole page, which drops a toast drawn here.
        now = next(b for b in queue if b["batch"] == st.session_state["review_batch"])
        st.session_state["review_moved_on"] = (f"Now showing batch {now['batch']} ({now['dataset']}, class "
                                               f"{now['class_name']}): batch {shown} is no longer pending.")

labels = {b["batch"]: f"batch {b['batch']} · {b['dataset']} · class {b['class_name']} · {b['count']} samples"
                      + (f" · {b['rejected']} rejected" if b["rejected"] else "") + f" · {b['status']}"
                      + (f" · {b['memorized']} memorized" if b["memorized"] else "")
          for b in queue}
relabel_picked("review_batch", labels)
batch_id = st.selectbox("Batch", list(labels), format_func=labels.get, key="review_batch")
if total > listed:
    of_what = "batches" if show_all else "pending batches"
    if chosen is not None:  # "the newest 200 of 1,234 pending batches of digits · class 7"
        of_what += f" of {plain(class_filter[0])} · class {plain(class_filter[1])}"
    # The batch opened from further back (by its id, the address or a visit) is listed too: "the newest 200" alone
    # miscounted a picker of 201.
    further = [str(b["batch"]) for b in queue[listed:]]
    also = f" and batch{'es' * (len(further) > 1)} {' and '.join(further)}, opened from further back" if further else ""
    st.caption(f"The picker lists the newest {listed:,} of {total:,} {of_what}{also}: open an older one by its id "
               "(`ganaug review pending --limit N` lists the pending ones, oldest first).")
st.query_params["batch"] = str(batch_id)


@st.fragment
@database_checked()
def batch_panel(batch_id: int) -> None:
    require_user()  # a click inside the fragment runs it alone: an account disabled meanwhile opens no more samples
    if st.session_state.pop("review_refresh_queue", False):
        st.rerun(scope="app")  # a decision changed the queue above this fragment (a status, a count)
    show_feedback()
    refused = st.empty()  # filled by `unseen_refusal`, once the opened sample's box is drawn
    with session_scope() as session:
        state = views.batch_state(session, batch_id)
        if state is not None:
            state["side"] = views.dataset_summary(session, state["dataset"])["resolution"]
    if state is None:
        st.error(f"batch {batch_id} no longer exists")
        return
    if state["status"] != "pending" and state["last_event"]:
        last = state["last_event"]
        st.info(f"This batch is **{state['status']}** (by {plain(last['actor'])} at {utc_time(last['ts'])}"
                + (f": {plain(last['reason'])}" if last["reason"] else "") + ").")
    if not state["scored"]:
        st.warning("Scores and embeddings for this batch are not computed yet; sorting by score is unavailable.")
        if state["status"] == "pending":
            scoring_controls(batch_id)
    elif (older := older_scoring(state["scoring_version"])) and state["status"] == "pending":
        scoring_controls(batch_id, older)
    elif older:  # decided: no button here (the page scores pending batches only), but what scored it still counts
        st.caption(f"Scored by an older check ({older}): `ganaug evaluate batch {batch_id} --rescore` computes "
                   "scores again.")
    batch_said(state)  # its verdict above the grid, before its samples are looked at one by one

    # A row that wraps, each widget as wide as its longest choice: in five columns, 1024 px with the sidebar open
    # (a 564-px page) cut "Descending" to "Descen…" and "48" to "4".
    tag_names = [t["name"] for t in load_tags()]
    with st.container(horizontal=True, vertical_alignment="bottom", key="review_filter_row"):
        sort_label = sort_choice(state["scored"])
        descending = st.toggle("Descending", key="review_desc")
        tag_filter = st.selectbox("Tag", ["any"] + tag_names, key="review_tag", width=FILTER_PX)
        memo_label = (st.selectbox("Memorization", list(MEMORIZED), key="review_memorized", width=FILTER_PX)
                      if state["scored"] else "any")  # no memorization check without scores: nothing to filter by
        per_page = st.selectbox("Per page", PER_PAGE_CHOICES, index=2, key="review_per_page", width=110)
    min_conf = (st.slider("Minimum class confidence", 0.0, 1.0, 0.0, 0.05, key="review_min_conf")
                if state["scored"] else 0.0)

    filters = (batch_id, sort_label, descending, tag_filter, memo_label, per_page, min_conf)
    if st.session_state.get("review_filters") != filters:
        st.session_state["review_filters"] = filters
        st.session_state["review_page_no"] = 0
        if st.session_state.get("review_filters_batch") != batch_id:
            st.session_state.pop("review_open", None)  # an open sample belongs to the batch it was opened in
            st.session_state.pop("review_confirm_approve", None)  # and so does an approval waiting for its confirm
            st.session_state.pop("review_confirm_memorized", None)  # or a rejection of its memorized samples
            st.session_state["review_filters_batch"] = batch_id
    page = st.session_state.get("review_page_no", 0)
    samples, total = load_page(batch_id, page, per_page, SORTS[sort_label], descending,
                               None if tag_filter == "any" else tag_filter, MEMORIZED[memo_label],
                               min_conf or None)
    pages = max(1, -(-total // per_page))

    with st.container(horizontal=True, vertical_alignment="center", key="review_nav_row"):  # "Previ…" in columns
        st.button("Previous", key="review_prev", disabled=page == 0, shortcut="left", icon=":material/chevron_left:",
                  on_click=set_state, args=("review_page_no", page - 1))
        st.button("Next", key="review_next", disabled=page + 1 >= pages, shortcut="right",
                  icon=":material/chevron_right:", on_click=set_state, args=("review_page_no", page + 1))
        # Shift+A only where "Approve batch" is: a decided batch's page named a key that did nothing.
        st.caption(f"page {page + 1} of {pages} · {total} samples match · keys: ← → pages"
                   + (", Shift+A approve (then Enter confirms, Esc cancels)" if state["status"] == "pending" else ""))
    if total == 0:
        st.info("No sample of this batch matches the filters above: change the tag, memorization or confidence filter.")

    # The opened sample between its picker and the grid, across the page's width: in a third of it beside the grid
    # it had 180 px at 1024 px with the sidebar open (pages/review_sample.py says what that hid).
    page_key = f"{batch_id}_{page}_{per_page}"
    sample_picker(samples, page_key)
    sample_detail(st.session_state.get("review_open"), state)
    unseen_refusal(refused)
    sample_grid(samples, state, page_key, shown_px(TILE_PX, state["side"]))
    st.divider()
    batch_actions(batch_id, state)
    refocus()  # after a click that took away the control pressed (pages/reveal.py)


def sort_choice(scored: bool) -> str:
    """The sort. An unscored batch is offered the sample-id order alone (in a widget of its own: a choice of
    "realism" has no place among its options), and no memorization or confidence filter: sorting or filtering by a
    score nobody computed sorted nothing."""
    if not scored:
        return st.selectbox("Sort by", ["sample id"], key="review_sort_unscored", width=SORT_PX,
                            help="Scores are not computed for this batch yet, so its samples come in the order they "
                                 "were generated; \"Compute scores\" above adds the sorts by confidence, realism, "
                                 "novelty and distance.")
    return st.selectbox("Sort by", list(SORTS), key="review_sort", width=SORT_PX)


batch_panel(batch_id)
