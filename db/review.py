"""Expert review: batch decisions, sample rejections, artifact tags — each one event in the decision log.

Batch states: pending → approved | rejected; approved → revoked. Samples can be rejected inside a pending or an
approved batch, and a rejection withdrawn (restored) while the batch is still pending. A blocking tag that a sample
carried when its batch was approved stays: the approval covered the batch without that sample. A batch with
memorized samples cannot be approved until those samples are rejected (`reject_memorized`: all at once), and a batch
whose scores (and so its memorization flags) were never computed cannot be approved at all.

Every decision function takes the caller's session; open it with `session_scope(immediate=True)` so the state
check and the write happen under one write lock. Each validates everything before writing anything, so a
refused decision (DecisionError) leaves no trace. Each checks the database's state, never what a page showed, and a
refusal that a colleague's decision explains names it and its time ("already rejected (ada rejected it at …)").
The tag taxonomy itself (add, retire, restore) is db/tags.py; what a reviewer is shown before deciding (the batches
waiting, a batch's samples a page at a time) is db/review_queue.py.
"""

from __future__ import annotations

from typing import Optional, Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from db.audit import PAST_TENSE, lock_log, record_event, record_events, who_did_it
from db.errors import DecisionError
from db.models import Batch, Event, Sample, SampleTag, User
from db.replay import digest_rows
from db.tags import check_tag_reason, get_tag
from db.users import require_user
from ganaug_core.shown_text import utc_time

MEANINGS = {
    "approve": "Reviewed; the samples of this batch (except rejected or blocking-tagged ones) may be used for training.",
    "reject": "Reviewed; no sample of this batch may be used for training.",
    "revoke": "The approval of this batch is withdrawn; its samples may no longer be used for training.",
    "reject_sample": "This sample may not be used for training.",
    "restore_sample": "The rejection of this sample is withdrawn; it counts again when its batch is approved.",
    "tag": "This sample shows the named artifact.",
    "untag": "This sample does not show the named artifact after all.",
}


def _decided(session: Session, batch_id: int, what: str = "it") -> str:
    """Who made the batch's status what it is, and when: a refusal names the colleague's decision it ran into."""
    return who_did_it(session, "batch", batch_id, ("approve", "reject", "revoke"), what=what)


def _reason(reason: Optional[str], what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DecisionError(f"a reason is required to {what}")
    return reason


def _optional(reason: Optional[str]) -> Optional[str]:
    return (reason or "").strip() or None


def get_batch(session: Session, batch_id: int) -> Batch:
    batch = session.get(Batch, batch_id, populate_existing=True)
    if batch is None:
        raise DecisionError(f"unknown batch {batch_id}")
    return batch


def get_sample(session: Session, sample_id: int) -> Sample:
    sample = session.get(Sample, sample_id, populate_existing=True)
    if sample is None:
        raise DecisionError(f"unknown sample {sample_id}")
    return sample


def _decide(session: Session, user: User, action: str, roles=("reviewer", "admin")) -> User:
    lock_log(session)  # before any state is read, so that two reviewers cannot both see "pending"
    return require_user(session, user, roles=roles, action=action)


def samples_digest(session: Session, batch_id: int) -> tuple[int, int, Optional[int], str]:
    """`digest_rows` of the batch's samples as they are now — what an approval covers."""
    return digest_rows(session.execute(
        select(Sample.id, Sample.sha256, Sample.rejected).where(Sample.batch_id == batch_id).order_by(Sample.id)
    ))


class SamplesChanged(DecisionError):
    """A sample of the batch was decided on since the reviewer was shown what the approval would admit."""


def _samples_unchanged(session: Session, batch_id: int, since_event: int) -> None:
    """SamplesChanged naming the newest decision on the batch's samples after event `since_event`, if any: the
    app's confirmation said "47 of 48 admitted", and a colleague's restore meanwhile made the approval admit 48."""
    later = session.scalars(select(Event).where(
        Event.id > since_event, Event.target_type == "sample",
        Event.target_id.in_(select(Sample.id).where(Sample.batch_id == batch_id))).order_by(Event.id.desc())).all()
    if later:
        e, more = later[0], len(later) - 1
        tag = (e.details or {}).get("tag") if e.action in ("tag", "untag") else None
        raise SamplesChanged(
            f"while you were confirming, {e.actor} {PAST_TENSE[e.action]} sample {e.target_id}"
            + (f" ({tag!r})" if tag else "") + f" of batch {batch_id} at {utc_time(e.ts)}"
            + (f": “{e.reason}”" if e.reason else "")
            + (f" ({more} more decision(s) on its samples came since)" if more else "")
            + "; nothing was recorded: look at the batch again before approving")


def approve_batch(session: Session, batch_id: int, user: User, reason: Optional[str] = None,
                  unchanged_since: Optional[int] = None) -> Event:
    """`unchanged_since`: the log's last event id when the reviewer was shown what the approval admits; a
    decision on the batch's samples after it refuses the approval (SamplesChanged)."""
    actor = _decide(session, user, "approve batches")
    batch = get_batch(session, batch_id)
    if batch.status != "pending":
        raise DecisionError(f"batch {batch_id} is {batch.status}; only a pending batch can be approved"
                            + _decided(session, batch_id))
    if unchanged_since is not None:
        _samples_unchanged(session, batch_id, unchanged_since)
    if not batch.scores_computed:
        raise DecisionError(
            f"batch {batch_id} has not been scored, so memorization was never checked: run "
            f"`ganaug evaluate batch {batch_id}` first"
        )
    memorized = session.scalars(
        select(Sample.id).where(Sample.batch_id == batch_id, Sample.memorized, ~Sample.rejected).order_by(Sample.id)
    ).all()
    if memorized:
        shown = ", ".join(map(str, memorized[:10])) + (", ..." if len(memorized) > 10 else "")
        raise DecisionError(
            f"batch {batch_id} has {len(memorized)} memorized sample(s) not yet rejected ({shown}); reject them first "
            f"(`ganaug review reject-memorized {batch_id} --reason ...` rejects them all at once)")
    n, rejected, max_id, digest = samples_digest(session, batch_id)
    if n == 0:
        raise DecisionError(f"batch {batch_id} has no samples")
    batch.status = "approved"
    return record_event(
        session, actor, "approve", "batch", batch_id, MEANINGS["approve"], _optional(reason),
        details=dict(samples=n, rejected=rejected, max_sample_id=max_id, samples_sha256=digest,
                     class_index=batch.class_index, checkpoint_sha256=batch.checkpoint_sha256,
                     dataset_id=batch.dataset_id),
    )


def reject_batch(session: Session, batch_id: int, user: User, reason: str) -> Event:
    actor = _decide(session, user, "reject batches")
    reason = _reason(reason, f"reject batch {batch_id}")
    batch = get_batch(session, batch_id)
    if batch.status != "pending":
        hint = "; revoke it instead" if batch.status == "approved" else ""
        raise DecisionError(f"batch {batch_id} is {batch.status}; only a pending batch can be rejected{hint}"
                            + _decided(session, batch_id))
    batch.status = "rejected"
    return record_event(session, actor, "reject", "batch", batch_id, MEANINGS["reject"], reason,
                        details=dict(class_index=batch.class_index))


def _latest_approval(session: Session, batch_id: int) -> Optional[int]:
    return session.scalar(
        select(Event.id).where(Event.target_type == "batch", Event.target_id == batch_id, Event.action == "approve")
        .order_by(Event.id.desc()).limit(1)
    )


def revoke_batch(session: Session, batch_id: int, user: User, reason: str) -> Event:
    actor = _decide(session, user, "revoke approvals")
    reason = _reason(reason, f"revoke batch {batch_id}")
    batch = get_batch(session, batch_id)
    if batch.status != "approved":
        raise DecisionError(f"batch {batch_id} is {batch.status}; only an approved batch can be revoked"
                            + _decided(session, batch_id))
    approval = _latest_approval(session, batch_id)
    batch.status = "revoked"
    return record_event(session, actor, "revoke", "batch", batch_id, MEANINGS["revoke"], reason,
                        details=dict(approval_event_id=approval, class_index=batch.class_index))


def reject_sample(session: Session, sample_id: int, user: User, reason: str) -> Event:
    actor = _decide(session, user, "reject samples")
    reason = _reason(reason, f"reject sample {sample_id}")
    sample = get_sample(session, sample_id)
    if sample.rejected:
        raise DecisionError(f"sample {sample_id} is already rejected"
                            + who_did_it(session, "sample", sample_id, ("reject_sample",)))
    status = session.scalar(select(Batch.status).where(Batch.id == sample.batch_id))
    if status not in ("pending", "approved"):
        said = _decided(session, sample.batch_id, f"batch {sample.batch_id}")
        raise DecisionError(f"sample {sample_id} belongs to batch {sample.batch_id}, which is {status}: none of its "
                            f"samples can be used anyway{said}")
    sample.rejected = True
    return record_event(session, actor, "reject_sample", "sample", sample_id, MEANINGS["reject_sample"], reason,
                        details=dict(batch_id=sample.batch_id, sha256=sample.sha256, memorized=bool(sample.memorized)))


def restore_sample(session: Session, sample_id: int, user: User, reason: str) -> Event:
    """Withdraw a sample's rejection (a misclick, say) while its batch is pending. Once approved, the approval covered
    the batch without it, and a rejection made then stays: the approval's digest records it."""
    actor = _decide(session, user, "restore samples")
    reason = _reason(reason, f"restore sample {sample_id}")
    sample = get_sample(session, sample_id)
    if not sample.rejected:
        raise DecisionError(f"sample {sample_id} is not rejected"
                            + who_did_it(session, "sample", sample_id, ("restore_sample",)))
    status = session.scalar(select(Batch.status).where(Batch.id == sample.batch_id))
    if status != "pending":
        raise DecisionError(f"sample {sample_id} belongs to batch {sample.batch_id}, which is {status}: a rejection "
                            "can be withdrawn only while its batch is pending"
                            + _decided(session, sample.batch_id, f"batch {sample.batch_id}"))
    sample.rejected = False
    return record_event(session, actor, "restore_sample", "sample", sample_id, MEANINGS["restore_sample"], reason,
                        details=dict(batch_id=sample.batch_id, sha256=sample.sha256, memorized=bool(sample.memorized)))


def _samples_for_bulk(session: Session, sample_ids: Sequence[int]) -> list:
    ids = list(dict.fromkeys(int(i) for i in sample_ids))
    if not ids:
        raise DecisionError("no samples selected")
    rows = session.execute(
        select(Sample.id, Sample.batch_id, Sample.sha256, Sample.rejected, Sample.memorized, Batch.status)
        .join(Batch, Batch.id == Sample.batch_id).where(Sample.id.in_(ids))
    ).all()
    found = {r.id: r for r in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise DecisionError(f"unknown sample {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    return [found[i] for i in ids]


def reject_samples(session: Session, sample_ids: Sequence[int], user: User, reason: str) -> list[int]:
    """Reject many samples at once (one event each, one transaction); returns the event ids. All or nothing."""
    actor = _decide(session, user, "reject samples")
    reason = _reason(reason, "reject samples")
    rows = _samples_for_bulk(session, sample_ids)
    for r in rows:
        if r.rejected:
            raise DecisionError(f"sample {r.id} is already rejected"
                                + who_did_it(session, "sample", r.id, ("reject_sample",)))
        if r.status not in ("pending", "approved"):
            raise DecisionError(f"sample {r.id} belongs to batch {r.batch_id}, which is {r.status}"
                                + _decided(session, r.batch_id, f"batch {r.batch_id}"))
    events = record_events(session, actor, [
        dict(action="reject_sample", target_type="sample", target_id=r.id, meaning=MEANINGS["reject_sample"],
             reason=reason, details=dict(batch_id=r.batch_id, sha256=r.sha256, memorized=bool(r.memorized)))
        for r in rows
    ])
    session.execute(update(Sample).where(Sample.id.in_([r.id for r in rows])).values(rejected=True)
                    .execution_options(synchronize_session=False))
    session.expire_all()
    return [event_id for event_id, _ in events]


def open_memorized(session: Session, batch_id: int) -> list[int]:
    """The batch's memorized samples not rejected yet, by id: what its approval waits for."""
    return list(session.scalars(select(Sample.id).where(Sample.batch_id == batch_id, Sample.memorized, ~Sample.rejected)
                                .order_by(Sample.id)))


def reject_memorized(session: Session, batch_id: int, user: User, reason: str,
                     seen: Optional[Sequence[int]] = None, expect: Optional[int] = None) -> tuple[list[int], list[int]]:
    """Reject the batch's open memorized samples in one decision (one reject_sample event each, one transaction):
    (sample ids, event ids). `seen`: the ids the reviewer was shown. Only those are rejected, all or none: one a
    colleague rejected meanwhile, or a rescoring no longer flags, refuses the whole decision, and one flagged since
    stays open (rejecting it unseen would record a judgement nobody made). Without `seen`, those open now.
    `expect`: how many were open when the caller looked (a script's count); another number now refuses it."""
    _decide(session, user, "reject samples")
    reason = _reason(reason, f"reject the memorized samples of batch {batch_id}")
    batch = get_batch(session, batch_id)
    if batch.status not in ("pending", "approved"):
        raise DecisionError(f"batch {batch_id} is {batch.status}: none of its samples can be used anyway"
                            + _decided(session, batch_id))
    if not batch.scores_computed:
        raise DecisionError(f"batch {batch_id} has not been scored, so memorization was never checked: run "
                            f"`ganaug evaluate batch {batch_id}` first")
    open_now = open_memorized(session, batch_id)
    if expect is not None and len(open_now) != expect:
        shown = ", ".join(map(str, open_now[:10])) + (", ..." if len(open_now) > 10 else "")
        raise DecisionError(f"batch {batch_id} has {len(open_now)} memorized sample(s) not yet rejected"
                            + (f" ({shown})" if open_now else "") + f", not the {expect} --expect said (scored "
                            "again or decided on since you looked?); nothing was recorded: look again with "
                            f"`ganaug review samples {batch_id} --memorized`")
    ids = open_now if seen is None else sorted({int(i) for i in seen})
    for sample_id in [i for i in ids if i not in open_now]:
        sample = get_sample(session, sample_id)
        if sample.batch_id != batch_id:
            raise DecisionError(f"sample {sample_id} belongs to batch {sample.batch_id}, not {batch_id}")
        if sample.rejected:
            raise DecisionError(f"sample {sample_id} is already rejected"
                                + who_did_it(session, "sample", sample_id, ("reject_sample",))
                                + "; nothing was recorded: look at the batch again")
        raise DecisionError(f"sample {sample_id} is no longer flagged as memorized (its batch was scored again); "
                            "nothing was recorded: look at the batch again")
    if not ids:
        done = session.scalar(select(func.count()).where(Sample.batch_id == batch_id, Sample.memorized))
        raise DecisionError(f"batch {batch_id} has no memorized sample left to reject"
                            + (f": its {done} memorized sample(s) are already rejected" if done else ""))
    return ids, reject_samples(session, ids, user, reason)


def tag_samples(session: Session, sample_ids: Sequence[int], tag: str, user: User,
                reason: Optional[str] = None) -> list[int]:
    """Tag many samples at once (one event each, one transaction); returns the event ids. All or nothing."""
    actor = _decide(session, user, "tag samples")
    tag_row = get_tag(session, tag)
    check_tag_reason(tag_row, reason)
    rows = _samples_for_bulk(session, sample_ids)
    already = session.scalars(select(SampleTag.sample_id).where(
        SampleTag.tag_id == tag_row.id, SampleTag.sample_id.in_([r.id for r in rows]))).first()
    if already is not None:
        raise DecisionError(f"sample {already} already has the tag {tag_row.name!r}"
                            + who_did_it(session, "sample", already, ("tag",), tag=tag_row.name))
    events = record_events(session, actor, [
        dict(action="tag", target_type="sample", target_id=r.id, meaning=MEANINGS["tag"], reason=_optional(reason),
             details=dict(tag=tag_row.name, blocking=bool(tag_row.blocking), batch_id=r.batch_id))
        for r in rows
    ])
    session.execute(insert(SampleTag.__table__), [dict(sample_id=r.id, tag_id=tag_row.id, event_id=event_id)
                                        for r, (event_id, _) in zip(rows, events)])
    return [event_id for event_id, _ in events]


def tag_sample(session: Session, sample_id: int, tag: str, user: User, reason: Optional[str] = None) -> Event:
    actor = _decide(session, user, "tag samples")
    sample = get_sample(session, sample_id)
    tag_row = get_tag(session, tag)
    check_tag_reason(tag_row, reason)
    if session.get(SampleTag, (sample_id, tag_row.id)) is not None:
        raise DecisionError(f"sample {sample_id} already has the tag {tag_row.name!r}"
                            + who_did_it(session, "sample", sample_id, ("tag",), tag=tag_row.name))
    event = record_event(session, actor, "tag", "sample", sample_id, MEANINGS["tag"], _optional(reason),
                         details=dict(tag=tag_row.name, blocking=bool(tag_row.blocking), batch_id=sample.batch_id))
    session.add(SampleTag(sample_id=sample_id, tag_id=tag_row.id, event_id=event.id))
    session.flush()
    return event


def untag_sample(session: Session, sample_id: int, tag: str, user: User, reason: Optional[str] = None) -> Event:
    actor = _decide(session, user, "untag samples")
    sample = get_sample(session, sample_id)
    tag_row = get_tag(session, tag, active_only=False)
    link = session.get(SampleTag, (sample_id, tag_row.id))
    if link is None:
        raise DecisionError(f"sample {sample_id} does not have the tag {tag_row.name!r}"
                            + who_did_it(session, "sample", sample_id, ("untag",), tag=tag_row.name))
    if tag_row.blocking and session.scalar(select(Batch.status).where(Batch.id == sample.batch_id)) == "approved":
        approval = _latest_approval(session, sample.batch_id)
        if approval is not None and link.event_id < approval:
            # The approval covered the batch with this sample left out; the gate keeps it out (db.replay).
            raise DecisionError(
                f"sample {sample_id} carried the blocking tag {tag_row.name!r} when batch {sample.batch_id} was "
                f"approved (event {approval}), so that approval leaves it out; removing the tag would not admit it"
            )
    event = record_event(session, actor, "untag", "sample", sample_id, MEANINGS["untag"], _optional(reason),
                         details=dict(tag=tag_row.name, tag_event_id=link.event_id))
    # The tag link is current state; its history stays in the log (the tag event and this untag event).
    session.delete(link)
    session.flush()
    return event
