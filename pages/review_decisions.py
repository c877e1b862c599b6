"""The review page's decisions: the callbacks of its buttons (approve with its confirm step, reject or revoke a batch;
reject or tag a sample, or a batch's memorized samples at once; queue a batch's scoring) and the batch's decision
controls. The queue they make stale is pages/review_queue.py.

Every callback is one call into db/review.py (or db/jobs.py) in its own write transaction, signed by the account
`acting_user` re-checks. Callbacks draw nothing (a callback of a fragment's widget must not): they leave a flash
and a toast in session state for the page to show. Not a page itself (app.py never lists it).
"""

from __future__ import annotations

import streamlit as st

from db import views
from db.audit import list_events
from db.engine import session_scope
from db.jobs import submit_job
from db.review import (SamplesChanged, approve_batch, open_memorized, reject_batch, reject_memorized, reject_sample,
                       restore_sample, revoke_batch, tag_sample)
from ganaug_core.shown_text import utc_time
from pages.reveal import close_box, focus_next, reveal
from pages.review_queue import load_batch_counts, load_classes, load_first_to_review, load_queue
from pages.ui import acting_user, decision_errors, plain

SCORE_JOB = "evaluate"  # the worker's job kind that scores one batch (ganaug/job_handlers.py)
# Where the focus goes after a click that took away the control pressed (pages/reveal.py, `focus_next`).
OPENED_PICK = '[class*="st-key-open_pick_"] [role="radio"][aria-checked="true"]'  # the opened sample's button
BATCH_PICKER = ".st-key-review_batch input"


@st.cache_data(ttl=30, show_spinner=False)
def load_tags() -> list[dict]:
    with session_scope() as session:
        return views.active_tags(session)


class BatchChanged(ValueError):
    """Another reviewer decided the batch since this page showed it."""


def check_unchanged(session, batch_id: int, seen_status: str) -> None:
    """BatchChanged saying who did what if the batch's status is no longer the one this page showed."""
    state = views.batch_state(session, batch_id)
    if state is None:
        raise ValueError(f"batch {batch_id} no longer exists")
    if state["status"] != seen_status:
        last = state["last_event"] or {}
        who = f" by {last.get('actor')} at {utc_time(last['ts'])}" if last else ""
        why = f" (reason: {last['reason']})" if last.get("reason") else ""
        raise BatchChanged(f"batch {batch_id} was {state['status']}{who}{why} while you were looking at it; "
                           "nothing was recorded.")


def batch_changed(e: BatchChanged) -> None:
    """The page showed a status another reviewer has since changed: the batch picker above the batch's fragment
    still says so, so the whole page runs again (the queue re-read), and the message says where the batch went."""
    decision_recorded()
    st.session_state["review_refresh_queue"] = True
    where = (" The page now shows its current state." if st.session_state.get("review_show_all") else
             " It has left the queue of pending batches; switch on “Show decided batches too” to see it.")
    st.session_state["review_flash"] = ("error", f"{e}{where}")


def act_on_batch(batch_id: int, seen_status: str, action, *args, **kwargs) -> bool:
    """Run a decision on a batch unless its status changed since this page showed it."""
    try:
        with acting_user() as (session, me):
            check_unchanged(session, batch_id, seen_status)
            action(session, batch_id, me, *args, **kwargs)
    except BatchChanged as e:
        batch_changed(e)
        return False
    except SamplesChanged as e:  # the confirmation is drawn again with what approving admits now
        decision_recorded()
        st.session_state["review_refresh_queue"] = True
        st.session_state["review_confirm_approve"] = batch_id
        st.session_state["review_flash"] = ("error", f"{e}. The box below says what approving admits now.")
        return False
    except decision_errors() as e:
        st.session_state["review_flash"] = ("error", str(e))
        return False
    decision_recorded()
    return True


def decision_recorded() -> None:
    """After a committed decision, or one refused because a colleague's came first: the queue's statuses and
    counts, and the tags offered (an admin may have retired one), are stale."""
    load_queue.clear()
    load_classes.clear()
    load_first_to_review.clear()
    load_batch_counts.clear()
    load_tags.clear()



def decide_open_sample(action: str, sample_id: int) -> None:
    """"Reject sample" / "Restore sample" callback: the reason typed beside the button goes with the decision."""
    decide, done = SAMPLE_DECISIONS[action]
    reason = st.session_state.get(f"{action}_reason_{sample_id}", "").strip()
    if not reason:
        sample_refused(sample_id, action, f"A reason is required to {action} a sample.")
        return
    if act_on_sample(lambda session, me: decide(session, sample_id, me, reason), f"Sample #{sample_id} {done}",
                     sample_id, action):
        st.session_state.pop(f"{action}_reason_{sample_id}", None)
        # The batch picker above counts rejected (and memorized) samples, and a click in the batch's fragment
        # redraws the fragment alone: ask it for one run of the whole page.
        st.session_state["review_refresh_queue"] = True


def rejection_note(sample_id: int) -> str:
    """What the log recorded for a rejected sample: who rejected it, when and why. A bare "rejected" left the
    reviewer (or the colleague who opens it next) unsure the click had recorded the reason they typed."""
    with session_scope() as session:
        last = list_events(session, action="reject_sample", target_type="sample", target_id=sample_id, limit=1)
        if not last:
            return "This sample is rejected."
        e = last[0]
        return (f"This sample is rejected. {plain(e.actor)} rejected it on {e.ts[:16].replace('T', ' ')} UTC"
                + (f": “{plain(e.reason)}”" if e.reason else "") + ". It stays out of training.")


SAMPLE_DECISIONS = {  # action → (decision, what the toast says)
    "reject": (reject_sample, "rejected"),
    "restore": (restore_sample, "restored: its rejection is withdrawn"),
}


BATCH_DECISIONS = {  # action → (decision, whether a reason is required, what the flash says)
    "approve": (approve_batch, False, "approved"),
    "reject": (reject_batch, True, "rejected"),
    "revoke": (revoke_batch, True, "approval revoked"),
}


def reason_key(action: str, batch_id: int) -> str:
    """One reason field per batch and action: a reason typed for one batch never carries over to the next."""
    return f"batch_{action}_reason_{batch_id}"


def decide_batch(action: str, batch_id: int, seen_status: str, **kwargs) -> None:
    """Approve/reject/revoke button callback: runs before the page is drawn again, so the page shows the new state.

    It draws nothing itself (a callback of a fragment's widget must not): the fragment shows the flash and toast.
    """
    decide, required, done = BATCH_DECISIONS[action]
    reason = st.session_state.get(reason_key(action, batch_id), "").strip() or None
    if required and not reason:
        st.session_state["review_flash"] = ("error", f"A reason is required to {action} a batch.")
        return
    if act_on_batch(batch_id, seen_status, decide, reason, **kwargs):
        st.session_state.pop(reason_key(action, batch_id), None)
        focus_next(BATCH_PICKER)  # which names the batch the page shows now
        moved_on = "" if st.session_state.get("review_show_all") else (
            " The queue now shows the next pending batch; switch on “Show decided batches too” to see this one.")
        st.session_state["review_flash"] = ("success", f"Batch {batch_id} {done} by {st.session_state['user']['name']}.{moved_on}")
        st.session_state["review_refresh_queue"] = True
        st.session_state["review_toast"] = f"Batch {batch_id} {done}"


def ask_to_approve(batch_id: int, seen_status: str) -> None:
    """"Approve batch" callback (Shift+A): opens the confirm step, which says what the approval admits into
    training. Nothing is recorded yet; a batch decided meanwhile is reported as a decision would be."""
    try:
        with session_scope() as session:
            check_unchanged(session, batch_id, seen_status)
    except BatchChanged as e:
        batch_changed(e)
        return
    except ValueError as e:
        st.session_state["review_flash"] = ("error", str(e))
        return
    st.session_state["review_confirm_approve"] = batch_id
    # The confirm box sits below the grid; the page scrolls to it (pages/reveal.py), from a Shift+A pressed above too.
    st.session_state["review_toast"] = (f"Approve batch {batch_id}? Enter confirms, Esc cancels.", ":material/help:")


def confirm_approval(batch_id: int, seen_status: str, seen_event: int) -> None:
    """"Confirm approval": refused if a sample of the batch was decided on after the box was drawn (event
    `seen_event`), since the approval would no longer admit what the box said."""
    st.session_state.pop("review_confirm_approve", None)
    decide_batch("approve", batch_id, seen_status, unchanged_since=seen_event)


def sample_refused(sample_id: int, control: str, message: str) -> None:
    """A refused action of the opened sample, said in its box just above the button clicked ("tag", "reject" or
    "restore"; pages/review_sample.py draws it). Above the grid it was out of sight, and the toast that repeated it
    covered the box's top for 4 s at 1024 px."""
    st.session_state["review_sample_flash"] = (sample_id, control, message)


def act_on_sample(decide, done: str, sample_id: int, control: str) -> bool:
    """`decide(session, me)` records one per-sample decision; a toast acknowledges it once it is committed, and a
    refusal is said beside the sample's `control` (`sample_refused`)."""
    # The tag picker after a tag added or removed; after a rejection or a restore, the sample's own button above the
    # grid, which now says so ("#12 · rejected").
    focus_next(f".st-key-tag_pick_{sample_id} input" if control == "tag" else OPENED_PICK)
    try:
        with acting_user() as (session, me):
            decide(session, me)
    except decision_errors() as e:
        # Most often a colleague decided first (the message says who and when): the whole page runs again on the
        # database's state, the sample, its batch's counts in the picker and the tags offered.
        decision_recorded()
        st.session_state["review_refresh_queue"] = True
        sample_refused(sample_id, control, str(e))
        return False
    decision_recorded()
    st.session_state["review_toast"] = done
    return True


def tag_open_sample(sample_id: int, tag: str) -> None:
    """"Add tag" callback: the reason typed (required for the free-form tag) goes with the tag, then is cleared."""
    reason = st.session_state.get(f"tag_reason_{sample_id}")
    if act_on_sample(lambda session, me: tag_sample(session, sample_id, tag, me, reason), f"#{sample_id} tagged {tag}",
                     sample_id, "tag"):
        st.session_state.pop(f"tag_reason_{sample_id}", None)


def queue_scoring(batch_id: int, after_job: int, rescore: bool = False) -> None:
    """"Compute scores" (`rescore`: "Compute scores again") callback. The submit key names the batch and its newest
    scoring job, so a double click (or two reviewers at once) queues one job, and a retry after a failed job queues a
    new one."""
    try:
        with acting_user(outcome="no scoring job was queued") as (session, me):
            job = submit_job(session, SCORE_JOB, {"batch_id": batch_id, **({"rescore": True} if rescore else {})},
                             submit_key=f"{'re' * rescore}score-batch-{batch_id}-after-{after_job}",
                             requested_by=me.id)
            job_id = job.id
    except decision_errors() as e:
        st.session_state["review_flash"] = ("error", str(e))
        return
    st.session_state["review_toast"] = f"Scoring of batch {batch_id} queued (job {job_id})"



def batch_actions(batch_id: int, state: dict) -> None:
    if state["status"] == "approved":
        st.text_input("Reason to revoke the approval (required)", key=reason_key("revoke", batch_id),
                      help="Its samples leave the gated training set; the approval stays in the decision log.")
        st.button("Revoke approval", key="revoke_batch", icon=":material/undo:", on_click=decide_batch,
                  args=("revoke", batch_id, state["status"]))
        return
    if state["status"] == "revoked":
        st.info("Its approval was revoked: its samples are out of the gated training set, and a revoked batch is "
                "not reviewed again. Generate a new batch of this class on the Generate page to review fresh samples.")
    if state["status"] != "pending":
        return
    blocked = state["open_memorized"] > 0 or not state["scored"]
    confirming = st.session_state.get("review_confirm_approve") == batch_id and not blocked
    rejecting_memorized = (state["scored"] and state["open_memorized"] > 0
                           and st.session_state.get("review_confirm_memorized") == batch_id)
    left, right = st.columns(2)
    with left:
        st.text_input("Approval note (optional)", key=reason_key("approve", batch_id))
        if not state["scored"]:
            st.warning("This batch cannot be approved until its memorization check has run (scores pending): "
                       "\"Compute scores\" above queues it.")
        elif blocked:
            st.warning(f"{state['open_memorized']} memorized sample(s) must be rejected before this batch can be approved.")
            if not rejecting_memorized:
                st.button(f"Reject the {state['open_memorized']} memorized sample(s)…", key="reject_memorized",
                          icon=":material/block:", on_click=set_state, args=("review_confirm_memorized", batch_id))
        if not confirming:
            st.button("Approve batch", key="approve_batch", type="primary", disabled=blocked, shortcut="shift+a",
                      icon=":material/check:", on_click=ask_to_approve, args=(batch_id, state["status"]))
    with right:
        st.text_input("Reason to reject the batch (required)", key=reason_key("reject", batch_id))
        st.button("Reject batch", key="reject_batch", icon=":material/close:", on_click=decide_batch,
                  args=("reject", batch_id, state["status"]))
    # Either confirmation across the page, below both columns: in half of a 1024-px page (282 px) the approval's ran
    # five lines high and cut "Confirm approval" to "C…"; the page scrolls to it once drawn (pages/reveal.py).
    if confirming:
        approval_confirmation(batch_id, state)
    elif rejecting_memorized:
        memorized_confirmation(batch_id, state)


def approval_confirmation(batch_id: int, state: dict) -> None:
    """The second step of an approval, like the reason a rejection asks for: it says what enters training."""
    with session_scope() as session:
        preview = views.approval_preview(session, batch_id)
        seen_event = views.last_event_id(session)  # what the box says holds as of this event (confirm_approval)
    out = [f"{n} {what}" for n, what in ((preview["rejected"], "rejected"), (preview["blocked"], "with a blocking tag"),
                                         (preview["elsewhere"], views.ELSEWHERE)) if n]
    with st.container(border=True, key="approve_confirmation"):
        st.markdown(f"**Approve batch {batch_id}?** {preview['admitted']} of its {preview['samples']} samples will be "
                    "admitted into the gated training set" + (f" ({' and '.join(out)} stay out)" if out else "")
                    + ". The approval is signed into the decision log; only a revocation with a reason undoes it.")
        with st.container(horizontal=True, key="approve_confirm_row"):  # each button as wide as its label
            # No Enter shortcut: Streamlit hears a shortcut on any button that has the focus, and Enter on "Cancel"
            # (or on "Reject batch") approved the batch. The focus is on this button once the box opens (reveal):
            # Enter presses it, and only it.
            st.button("Confirm approval", key="approve_confirm", type="primary",
                      icon=":material/check:", on_click=confirm_approval, args=(batch_id, state["status"], seen_event))
            st.button("Cancel", key="approve_cancel", shortcut="esc", on_click=close_box,
                      args=("review_confirm_approve", ".st-key-approve_batch button"))
    reveal("approve_confirmation", f"Approve batch {batch_id}?", focus="approve_confirm")


MEMORIZED_REASON = "memorized: a near-copy of a training image"  # the reason a bulk rejection offers, editable


def memorized_confirmation(batch_id: int, state: dict) -> None:
    """The box that "Reject the K memorized sample(s)…" (below the warning that counts them) opens: it names those
    samples, with one reason for all of them. The ids the box names travel with its confirm button: a sample a
    rescoring flags after the box was drawn is left for the reviewer to look at, never rejected unseen."""
    with session_scope() as session:
        ids = open_memorized(session, batch_id)
    if not ids:  # a colleague rejected them since the warning above was counted: the next run drops both
        return
    with st.container(border=True, key="reject_memorized_confirmation"):
        st.markdown(f"**Reject {len(ids)} memorized sample(s) of batch {batch_id}?** {named(ids)}. Each is a "
                    "near-copy of a training image and stays out of training; the decision log records one rejection "
                    "per sample under your name, with this reason.")
        st.text_input("Reason to reject them (required)", value=MEMORIZED_REASON,
                      key=reason_key("reject_memorized", batch_id))
        with st.container(horizontal=True, key="reject_memorized_row"):
            st.button(f"Reject {len(ids)} sample(s)", key="reject_memorized_confirm", type="primary",
                      icon=":material/block:", on_click=reject_memorized_samples, args=(batch_id, state["status"], ids))
            st.button("Cancel", key="reject_memorized_cancel", on_click=close_box,
                      args=("review_confirm_memorized", ".st-key-reject_memorized button"))
    reveal("reject_memorized_confirmation", f"Reject {len(ids)} memorized sample(s) of batch {batch_id}?",
           focus="reject_memorized_confirm")


def named(ids: list[int], most: int = 20) -> str:
    """"#12, #15 and #20"; past `most`, the first ones and how many more (the memorization filter lists them all)."""
    shown = [f"#{i}" for i in ids[:most]]
    if len(ids) > most:
        return ", ".join(shown) + f" and {len(ids) - most} more (Memorization: “only memorized” shows them all)"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def reject_memorized_samples(batch_id: int, seen_status: str, seen_ids: list[int]) -> None:
    """"Reject N sample(s)" callback: the samples the box named, all or none, with the reason typed in the box."""
    key = reason_key("reject_memorized", batch_id)
    reason = st.session_state.get(key, "").strip()
    if not reason:
        st.session_state["review_flash"] = ("error", "A reason is required to reject the memorized samples.")
        return
    try:
        with acting_user() as (session, me):
            check_unchanged(session, batch_id, seen_status)
            ids, _ = reject_memorized(session, batch_id, me, reason, seen=seen_ids)
            flagged_since = open_memorized(session, batch_id)
    except BatchChanged as e:
        st.session_state.pop("review_confirm_memorized", None)
        batch_changed(e)
        return
    except decision_errors() as e:  # a colleague's rejection, a rescoring: the box is drawn again as things are now
        decision_recorded()
        st.session_state["review_refresh_queue"] = True
        st.session_state["review_flash"] = ("error", f"{e}. The box below names the memorized samples open now.")
        return
    decision_recorded()
    st.session_state.pop("review_confirm_memorized", None)
    focus_next(".st-key-approve_batch button")  # the box is gone; approving is what comes next
    st.session_state.pop(key, None)
    st.session_state["review_refresh_queue"] = True  # the picker's counts; the Approve button
    after = (f" {len(flagged_since)} more sample(s) were flagged as memorized since the box was drawn "
             f"({named(flagged_since)}): open them before approving." if flagged_since else
             " Nothing memorized blocks its approval now.")
    st.session_state["review_flash"] = ("success", f"{len(ids)} memorized sample(s) of batch {batch_id} rejected "
                                                   f"({named(ids)}) by {st.session_state['user']['name']}.{after}")
    st.session_state["review_toast"] = f"{len(ids)} memorized sample(s) rejected"


def set_state(key: str, value) -> None:
    st.session_state[key] = value
