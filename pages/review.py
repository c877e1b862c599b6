"""Review: the queue of pending batches, a paged grid of one batch's samples, per-sample tag/reject, batch decisions
(approve or reject a pending batch, revoke an approved one), and for a pending batch not scored yet (its job was
cancelled or failed while scoring), a button that queues its scoring in the worker.

Every click is one call into db/review.py in its own write transaction, so a refresh or a second reviewer loses
nothing. Before acting on a batch the page re-reads its status in that same transaction: if another reviewer
decided it meanwhile, the action is refused with a message saying who did what.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from db import views
from db.engine import session_scope
from db.jobs import submit_job
from db.review import (FREE_FORM_TAG, approve_batch, reject_batch, reject_sample, review_page, revoke_batch,
                       tag_sample, untag_sample)
from ganaug_core.runstats import last_diversity
from pages.ui import (TILE_PX, acting_user, decision_errors, file_changed, fmt, home, image_uri, placeholder_uri, require_user,
                      show_image)

PER_PAGE_CHOICES = (24, 36, 48)
SORTS = {"sample id": "id", "class confidence": "class_confidence", "realism": "realism", "novelty": "novelty",
         "distance to nearest real": "nn_distance"}
MEMORIZED = {"any": None, "only memorized": True, "not memorized": False}
SCORES_HELP = ("**confidence**: the probability (0–1) a classifier trained on the real images gives the class this "
               "sample was generated as; higher is better. **realism**: above 1, the sample lies among the real images "
               "of its class. **novelty**: how far the sample is from its nearest training image, relative to how far "
               "real images are from each other; about 0 for a copy, around 1 or more for a new image. **nearest "
               "real at**: the distance to the closest training image in the feature space; the images below are "
               "those nearest ones.")
SCORE_JOB = "evaluate"  # the worker's job kind that scores one batch (ganaug/job_handlers.py)

user = require_user()
st.title("Review")


@st.cache_data(ttl=3, show_spinner=False)
def load_queue(show_all: bool) -> list[dict]:
    with session_scope() as session:
        return views.batches_table(session, None if show_all else "pending")


@st.cache_data(ttl=30, show_spinner=False)
def load_tags() -> list[dict]:
    with session_scope() as session:
        return views.active_tags(session)


@st.cache_data(ttl=60, show_spinner=False)
def collapse_reading(home_dir: str, run_id: int) -> dict:
    """The last mode-collapse reading of the run that generated a batch ({} if it has none)."""
    with session_scope() as session:
        folder = views.run_dir(session, run_id)
    return last_diversity(Path(home_dir) / folder) if folder else {}


@st.cache_data(show_spinner="Measuring distances to the nearest real images…", max_entries=512)
def neighbour_distances(home_dir: str, dataset: str, sample_id: int) -> dict[int, float]:
    """Real image id → feature distance, from the scoring step's extractor; {} if it is not available.

    Only an extractor that scoring already trained is used: the page never trains one (that is worker work).
    """
    from ganaug.evaluation import extractor_info, nearest_real_images
    from ganaug_core.errors import GanaugError

    try:
        extractor_info(dataset)
        return {n["real_image_id"]: n["distance"] for n in nearest_real_images(sample_id, k=4)}
    except (GanaugError, OSError, KeyError, ValueError):
        return {}


def load_page(batch_id: int, page: int, per_page: int, sort: str, descending: bool, tag, memorized,
              min_confidence) -> tuple[list[dict], int]:
    with session_scope() as session:
        rows, total = review_page(session, batch_id, page=page, per_page=per_page, sort=sort, descending=descending,
                                  tag=tag, memorized=memorized, min_confidence=min_confidence)
        return [views.sample_dict(r.sample, "", r.tags) for r in rows], total


def check_unchanged(session, batch_id: int, seen_status: str) -> None:
    """ValueError saying who did what if the batch's status is no longer the one this page showed."""
    state = views.batch_state(session, batch_id)
    if state is None:
        raise ValueError(f"batch {batch_id} no longer exists")
    if state["status"] != seen_status:
        last = state["last_event"] or {}
        who = f" by {last.get('actor')} at {last.get('ts', '')[:19]}" if last else ""
        why = f" (reason: {last['reason']})" if last.get("reason") else ""
        raise ValueError(f"batch {batch_id} was {state['status']}{who}{why} while you were looking at it; "
                         "nothing was recorded. The page now shows its current state.")


def act_on_batch(batch_id: int, seen_status: str, action, *args) -> bool:
    """Run a decision on a batch unless its status changed since this page showed it."""
    try:
        with acting_user() as (session, me):
            check_unchanged(session, batch_id, seen_status)
            action(session, batch_id, me, *args)
    except decision_errors() as e:
        st.session_state["review_flash"] = ("error", str(e))
        return False
    decision_recorded()
    return True


def decision_recorded() -> None:
    """After a committed decision: the queue's statuses and counts are stale."""
    load_queue.clear()


def set_state(key: str, value) -> None:
    st.session_state[key] = value


def relabel_picked(key: str, labels: dict) -> None:
    """The browser shows a selectbox's chosen option with the text it had when chosen, and keeps it when a rerun
    formats that option anew (a count, a status). Choosing it again from here sends the new text. Call before the
    selectbox is drawn."""
    picked = st.session_state.get(key)
    if picked in labels and st.session_state.get(f"{key}_label") not in (None, labels[picked]):
        st.session_state[key] = picked
    # What it shows after this run: a choice no longer offered (or none yet) falls back to the first option.
    st.session_state[f"{key}_label"] = labels.get(picked, next(iter(labels.values()), None))


def reject_open_sample(sample_id: int) -> None:
    reason = st.session_state.get(f"reject_reason_{sample_id}", "").strip()
    if not reason:
        st.session_state["review_flash"] = ("error", "A reason is required to reject a sample.")
        return
    if act_on_sample(lambda session, me: reject_sample(session, sample_id, me, reason), f"Sample #{sample_id} rejected"):
        # The batch picker above counts rejected (and memorized) samples, and a click in the batch's fragment
        # redraws the fragment alone: ask it for one run of the whole page.
        st.session_state["review_refresh_queue"] = True


BATCH_DECISIONS = {  # action → (decision, whether a reason is required, what the flash says)
    "approve": (approve_batch, False, "approved"),
    "reject": (reject_batch, True, "rejected"),
    "revoke": (revoke_batch, True, "approval revoked"),
}


def reason_key(action: str, batch_id: int) -> str:
    """One reason field per batch and action: a reason typed for one batch never carries over to the next."""
    return f"batch_{action}_reason_{batch_id}"


def decide_batch(action: str, batch_id: int, seen_status: str) -> None:
    """Approve/reject/revoke button callback: runs before the page is drawn again, so the page shows the new state.

    It draws nothing itself (a callback of a fragment's widget must not): the fragment shows the flash and toast.
    """
    decide, required, done = BATCH_DECISIONS[action]
    reason = st.session_state.get(reason_key(action, batch_id), "").strip() or None
    if required and not reason:
        st.session_state["review_flash"] = ("error", f"A reason is required to {action} a batch.")
        return
    if act_on_batch(batch_id, seen_status, decide, reason):
        st.session_state.pop(reason_key(action, batch_id), None)
        moved_on = "" if st.session_state.get("review_show_all") else (
            " The queue now shows the next pending batch; switch on \"Show decided batches too\" to see this one.")
        st.session_state["review_flash"] = ("success", f"Batch {batch_id} {done} by {user['name']}.{moved_on}")
        st.session_state["review_refresh_queue"] = True
        st.session_state["review_toast"] = f"Batch {batch_id} {done}"


def ask_to_approve(batch_id: int, seen_status: str) -> None:
    """"Approve batch" callback (Shift+A): opens the confirm step, which says what the approval admits into
    training. Nothing is recorded yet; a batch decided meanwhile is reported as a decision would be."""
    try:
        with session_scope() as session:
            check_unchanged(session, batch_id, seen_status)
    except ValueError as e:
        st.session_state["review_flash"] = ("error", str(e))
        return
    st.session_state["review_confirm_approve"] = batch_id


def confirm_approval(batch_id: int, seen_status: str) -> None:
    st.session_state.pop("review_confirm_approve", None)
    decide_batch("approve", batch_id, seen_status)


def act_on_sample(decide, done: str) -> bool:
    """`decide(session, me)` records one per-sample decision; a toast acknowledges it once it is committed."""
    try:
        with acting_user() as (session, me):
            decide(session, me)
    except decision_errors() as e:
        st.session_state["review_flash"] = ("error", str(e))
        return False
    decision_recorded()
    st.session_state["review_toast"] = done
    return True


def tag_open_sample(sample_id: int, tag: str) -> None:
    """"Add tag" callback: the reason typed (required for the free-form tag) goes with the tag, then is cleared."""
    reason = st.session_state.get(f"tag_reason_{sample_id}")
    if act_on_sample(lambda session, me: tag_sample(session, sample_id, tag, me, reason), f"#{sample_id} tagged {tag}"):
        st.session_state.pop(f"tag_reason_{sample_id}", None)


def queue_scoring(batch_id: int, after_job: int) -> None:
    """"Compute scores" callback. The submit key names the batch and its newest scoring job, so a double click (or
    two reviewers at once) queues one job, and a retry after a failed job queues a new one."""
    try:
        with acting_user(outcome="no scoring job was queued") as (session, me):
            job = submit_job(session, SCORE_JOB, {"batch_id": batch_id},
                             submit_key=f"score-batch-{batch_id}-after-{after_job}", requested_by=me.id)
            job_id = job.id
    except decision_errors() as e:
        st.session_state["review_flash"] = ("error", str(e))
        return
    st.session_state["review_toast"] = f"Scoring of batch {batch_id} queued (job {job_id})"


@st.fragment(run_every=2)
def scoring_progress(job_id: int) -> None:
    with session_scope() as session:
        job = views.job_row(session, job_id)
    if job is not None and job["status"] in ("queued", "running"):
        text = f"Scoring job {job_id}: {job['message'] or job['status']}"
        st.progress(min(1.0, max(0.0, job["progress"])), text=text)
        return
    st.rerun(scope="app")  # it ended: the page now shows the scores, or the failure and the button again


def scoring_controls(batch_id: int) -> None:
    """For an unscored batch: its scoring job's progress, or a button that queues one (the worker runs it)."""
    with session_scope() as session:
        job = views.latest_batch_job(session, SCORE_JOB, batch_id)
    if job is not None and job["status"] in ("queued", "running"):
        scoring_progress(job["id"])
        return
    if job is not None and job["status"] == "failed":
        st.error(f"Scoring job {job['id']} failed: {(job['error'] or 'no reason recorded').splitlines()[0]}")
    st.button("Compute scores", key=f"score_batch_{batch_id}", icon=":material/analytics:", on_click=queue_scoring,
              args=(batch_id, job["id"] if job is not None else 0))
    st.caption("The worker that `ganaug app` starts scores the batch: class confidence, realism, novelty and the "
               "memorization check approval waits for. A job still running ahead of it (such as the run that "
               "generated this batch) goes first.")


def show_feedback() -> None:
    """The last decision's message and toast, set by a callback (which may not draw them itself)."""
    flash = st.session_state.pop("review_flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])
    toast = st.session_state.pop("review_toast", None)
    if toast:
        st.toast(toast, icon=":material/check:")


q1, q2 = st.columns([1, 2])
show_all = q1.toggle("Show decided batches too", key="review_show_all")
queue = load_queue(show_all)
classes = sorted({(b["dataset"], b["class_name"]) for b in queue})
class_filter = q2.selectbox("Dataset and class", [None] + classes, key="review_class",
                            format_func=lambda c: "all" if c is None else f"{c[0]} · class {c[1]}")
if class_filter is not None:
    queue = [b for b in queue if (b["dataset"], b["class_name"]) == class_filter]
if not queue:
    show_feedback()
    st.info("No batches waiting for review. Launch a run on the Generate page; its batches appear here.")
    st.stop()

labels = {b["batch"]: f"batch {b['batch']} · {b['dataset']} · class {b['class_name']} · {b['count']} samples"
                      + (f" · {b['rejected']} rejected" if b["rejected"] else "") + f" · {b['status']}"
                      + (f" · {b['memorized']} memorized" if b["memorized"] else "")
          for b in queue}

relabel_picked("review_batch", labels)
batch_id = st.selectbox("Batch", list(labels), format_func=labels.get, key="review_batch")


@st.fragment
def batch_panel(batch_id: int) -> None:
    if st.session_state.pop("review_refresh_queue", False):
        st.rerun(scope="app")  # a decision changed the queue above this fragment (a status, a count)
    show_feedback()
    with session_scope() as session:
        state = views.batch_state(session, batch_id)
    if state is None:
        st.error(f"batch {batch_id} no longer exists")
        return
    if state["status"] != "pending" and state["last_event"]:
        last = state["last_event"]
        st.info(f"This batch is **{state['status']}** ({last['action']} by {last['actor']} at {last['ts'][:19]}"
                + (f": {last['reason']}" if last["reason"] else "") + ").")
    if not state["scored"]:
        st.warning("Scores and embeddings for this batch are not computed yet; sorting by score is unavailable.")
        if state["status"] == "pending":
            scoring_controls(batch_id)
    reading = collapse_reading(home(), state["run_id"])
    if state["class_index"] in reading.get("collapsed", []):
        ratio = reading["diversity"][str(state["class_index"])]
        st.warning(f"The run behind this batch ended with class {state['class_names'][state['class_index']]} flagged "
                   f"by its diversity monitor: its samples vary {ratio:.2f} times as much as the real images "
                   "(possible mode collapse). Check the grid for repeats before approving.", icon=":material/warning:")

    f1, f2, f3, f4, f5 = st.columns([2, 1, 2, 2, 1])
    sort_label = f1.selectbox("Sort by", list(SORTS), key="review_sort")
    descending = f2.toggle("Descending", key="review_desc")
    tag_names = [t["name"] for t in load_tags()]
    tag_filter = f3.selectbox("Tag", ["any"] + tag_names, key="review_tag")
    memo_label = f4.selectbox("Memorization", list(MEMORIZED), key="review_memorized")
    per_page = f5.selectbox("Per page", PER_PAGE_CHOICES, index=2, key="review_per_page")
    min_conf = st.slider("Minimum class confidence", 0.0, 1.0, 0.0, 0.05, key="review_min_conf")

    filters = (batch_id, sort_label, descending, tag_filter, memo_label, per_page, min_conf)
    if st.session_state.get("review_filters") != filters:
        st.session_state["review_filters"] = filters
        st.session_state["review_page_no"] = 0
        if st.session_state.get("review_filters_batch") != batch_id:
            st.session_state.pop("review_open", None)  # an open sample belongs to the batch it was opened in
            st.session_state.pop("review_confirm_approve", None)  # and so does an approval waiting for its confirm
            st.session_state["review_filters_batch"] = batch_id
    page = st.session_state.get("review_page_no", 0)
    samples, total = load_page(batch_id, page, per_page, SORTS[sort_label], descending,
                               None if tag_filter == "any" else tag_filter, MEMORIZED[memo_label],
                               min_conf or None)
    pages = max(1, -(-total // per_page))

    nav = st.columns([1, 1, 4])
    nav[0].button("Previous", key="review_prev", disabled=page == 0, shortcut="left", icon=":material/chevron_left:",
                  on_click=set_state, args=("review_page_no", page - 1))
    nav[1].button("Next", key="review_next", disabled=page + 1 >= pages, shortcut="right",
                  icon=":material/chevron_right:", on_click=set_state, args=("review_page_no", page + 1))
    nav[2].caption(f"page {page + 1} of {pages} · {total} samples match · keys: ← → pages, Shift+A approve "
                   "(then Enter confirms, Esc cancels)")
    if total == 0:
        st.info("No sample of this batch matches the filters above: change the tag, memorization or confidence filter.")

    grid_col, detail_col = st.columns([3, 1])
    with grid_col:
        sample_grid(samples, state, f"{batch_id}_{page}_{per_page}")
    with detail_col:
        sample_detail(st.session_state.get("review_open"), state)
    st.divider()
    batch_actions(batch_id, state)


def sample_grid(samples: list[dict], state: dict, page_key: str) -> None:
    """The page's tiles as ONE image-list element (a page switch redraws one element, not 48 columns), then one
    picker that opens a sample beside its nearest real images."""
    names = state["class_names"]
    uris, captions, missing, changed = [], [], [], []
    for s in samples:
        uri = image_uri(home(), s["path"], mark="rejected" if s["rejected"] else "memorized" if s["memorized"] else None)
        is_changed = uri is not None and file_changed(home(), s["path"], s["sha256"])
        if uri is None:
            missing.append(s["path"])
        if is_changed:
            changed.append(s["id"])
        uris.append(uri or placeholder_uri())
        flags = ((["FILE CHANGED"] if is_changed else []) + (["MEMORIZED"] if s["memorized"] else [])
                 + (["rejected"] if s["rejected"] else []) + s["tags"])
        captions.append(" · ".join([f"#{s['id']}", names[s["class_index"]], f"conf {fmt(s['class_confidence'])}", *flags]))
    if uris:
        st.image(uris, caption=captions, width=TILE_PX)
    if any(s["rejected"] or s["memorized"] for s in samples):
        st.caption("Greyed out in a red frame: rejected, it stays out of training. Dashed orange frame: memorized "
                   "(a near-copy of a training image), to reject before the batch can be approved.")
    if missing:
        st.warning(f"image file missing or unreadable: {', '.join(missing[:5])}" + (" …" if len(missing) > 5 else "")
                   + " (shown as a crossed grey tile)", icon=":material/broken_image:")
    if changed:
        st.error(f"{len(changed)} sample file(s) on this page no longer match the sha256 recorded when they were "
                 f"generated ({', '.join(f'#{i}' for i in changed[:8])}{' …' if len(changed) > 8 else ''}). What you see "
                 "is not what was generated; the training gate leaves such files out whatever the decision. Find out "
                 "how they changed before approving.", icon=":material/gpp_bad:")
    ids = [s["id"] for s in samples]
    current = st.session_state.get("review_open")
    st.pills("Open a sample", ids, format_func=lambda i: f"#{i}", key=f"open_pick_{page_key}", width="stretch", wrap=True,
             default=current if current in ids else None, on_change=open_picked, args=(f"open_pick_{page_key}",))


def open_picked(key: str) -> None:
    st.session_state["review_open"] = st.session_state.get(key)


def sample_detail(open_id, state: dict) -> None:
    if open_id is None:
        st.caption("Open a sample to see it beside its nearest real training images, tag it or reject it.")
        return
    with session_scope() as session:
        found = views.samples_by_ids(session, [open_id])
        if not found:
            st.caption(f"sample {open_id} is not available")
            return
        s = found[0]
        reals = views.real_images_by_ids(session, s["nn_real_ids"][:4])
        dataset = state["dataset"]
    distances = neighbour_distances(home(), dataset, s["id"]) if s["nn_real_ids"] else {}
    st.markdown(f"**Sample #{s['id']}** (seed {s['seed']})")
    show_image(s["path"], size=160)
    st.caption(f"confidence {fmt(s['class_confidence'])} · realism {fmt(s['realism'])} · novelty {fmt(s['novelty'])}"
               f" · nearest real at {fmt(s['nn_distance'], 3)}", help=SCORES_HELP)
    if s["memorized"]:
        st.error("Flagged as a near-copy of a training image: reject it before the batch can be approved.")
    if reals:
        st.markdown("Nearest real training images (nearest first, feature distance d)")
        cols = st.columns(len(reals))
        for i, (col, r) in enumerate(zip(cols, reals)):
            d = distances.get(r["id"], s["nn_distance"] if i == 0 else None)
            with col:
                show_image(r["path"], caption=f"real #{r['id']}" + (f" · d={fmt(d, 3)}" if d is not None else ""), size=72)
    tag_names = [t["name"] for t in load_tags()]
    st.markdown("Tags: " + (", ".join(s["tags"]) or "none"))
    new_tag = st.selectbox("Artifact tag", [t for t in tag_names if t not in s["tags"]], key=f"tag_pick_{s['id']}",
                           index=None, placeholder="choose a tag")  # nothing tagged by one click on "Add tag"
    sid = s["id"]
    st.text_input(f"Tag reason (required for '{FREE_FORM_TAG}': say what the problem is)", key=f"tag_reason_{sid}")
    st.button("Add tag", key=f"tag_add_{sid}", disabled=new_tag is None, on_click=tag_open_sample, args=(sid, new_tag))
    for t in s["tags"]:
        st.button(f"Remove {t}", key=f"untag_{sid}_{t}", type="tertiary", on_click=act_on_sample,
                  args=(lambda session, me, t=t: untag_sample(session, sid, t, me), f"#{sid}: {t} removed"))
    if not s["rejected"]:
        st.text_input("Reason to reject this sample", key=f"reject_reason_{sid}")
        st.button("Reject sample", key=f"reject_sample_{sid}", on_click=reject_open_sample, args=(sid,))
    else:
        st.caption("This sample is rejected.")


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
    left, right = st.columns(2)
    with left:
        st.text_input("Approval note (optional)", key=reason_key("approve", batch_id))
        blocked = state["open_memorized"] > 0 or not state["scored"]
        if not state["scored"]:
            st.warning("This batch cannot be approved until its memorization check has run (scores pending): "
                       "\"Compute scores\" above queues it.")
        elif blocked:
            st.warning(f"{state['open_memorized']} memorized sample(s) must be rejected before this batch can be approved.")
        if st.session_state.get("review_confirm_approve") == batch_id and not blocked:
            approval_confirmation(batch_id, state)
        else:
            st.button("Approve batch", key="approve_batch", type="primary", disabled=blocked, shortcut="shift+a",
                      icon=":material/check:", on_click=ask_to_approve, args=(batch_id, state["status"]))
    with right:
        st.text_input("Reason to reject the batch (required)", key=reason_key("reject", batch_id))
        st.button("Reject batch", key="reject_batch", icon=":material/close:", on_click=decide_batch,
                  args=("reject", batch_id, state["status"]))


def approval_confirmation(batch_id: int, state: dict) -> None:
    """The second step of an approval, like the reason a rejection asks for: it says what enters training."""
    with session_scope() as session:
        preview = views.approval_preview(session, batch_id)
    out = [f"{n} {what}" for n, what in ((preview["rejected"], "rejected"), (preview["blocked"], "with a blocking tag"))
           if n]
    with st.container(border=True, key="approve_confirmation"):
        st.markdown(f"**Approve batch {batch_id}?** {preview['admitted']} of its {preview['samples']} samples will be "
                    "admitted into the gated training set" + (f" ({' and '.join(out)} stay out)" if out else "")
                    + ". The approval is signed into the decision log; only a revocation with a reason undoes it.")
        yes, no = st.columns(2)
        yes.button("Confirm approval", key="approve_confirm", type="primary", shortcut="enter", icon=":material/check:",
                   on_click=confirm_approval, args=(batch_id, state["status"]))
        no.button("Cancel", key="approve_cancel", shortcut="esc", on_click=set_state, args=("review_confirm_approve", None))


batch_panel(batch_id)
