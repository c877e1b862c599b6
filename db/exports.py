"""Exports of the gated training set, as the decision log records them: which sets left the system, when, by whom.

An export is one event (action "export", target the dataset) whose details name the manifest's sha256, the images
per class, the ratio, the log head the set was gated on and the folder written. It decides nothing: the replay
(`db.replay`) and so the gate pass over it. `ganaug.export` records it when the folder is in place; `list_exports`
reads the records back, newest first.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from db.audit import lock_log, record_event
from db.datasets import get_dataset
from db.errors import DecisionError
from db.models import Batch, Event, Sample, User
from db.users import require_user
from ganaug_core.paths import resolve

ACTION, TARGET_TYPE = "export", "dataset"


def export_meaning(dataset: str, entries: int, synthetic: int, folder: str, manifest_sha256: str) -> str:
    return (f"The gated training set of dataset {dataset!r} left the system: {entries} images ({entries - synthetic} "
            f"real, {synthetic} approved synthetic) written to {folder}, whose manifest.csv has sha256 "
            f"{manifest_sha256}.")


def record_export(session: Session, user: User, summary: dict) -> Event:
    """Append the export that `summary` (`GatedSet.summary()` plus "out", the folder) describes, signed by `user`.
    Call it in a `session_scope(immediate=True)`; an account disabled since it signed in is refused."""
    lock_log(session)  # before the dataset is read: a `data remove` of it waits, or has already refused
    actor = require_user(session, user, action="export training sets")
    dataset = get_dataset(session, summary["dataset"])
    _nothing_withdrawn_since(session, dataset.id, summary["log_head"])
    synthetic = sum(c["synthetic"] for c in summary["counts"].values())
    details = dict(dataset=summary["dataset"], manifest_sha256=summary["manifest_sha256"], entries=summary["entries"],
                   counts=summary["counts"], synthetic_ratio=summary["synthetic_ratio"], log_head=summary["log_head"],
                   excluded=summary["excluded"], folder=summary["out"])
    if summary.get("in_home"):  # found again after the home is moved (`export_dict`)
        details["in_home"] = summary["in_home"]
    meaning = export_meaning(summary["dataset"], summary["entries"], synthetic, summary["out"],
                             summary["manifest_sha256"])
    return record_event(session, actor, ACTION, TARGET_TYPE, dataset.id, meaning, details=details)


def refuse_if_withdrawn(session: Session, summary: dict) -> None:
    """For an export nobody signs: the check `record_export` makes, recording nothing. Call it in a
    `session_scope(immediate=True)` and put the folder in place before it commits: the log's lock keeps a revocation
    from landing between the check and the folder. Without it the folder held a batch revoked while its images were
    copied, stamped (log_head.txt) as of the log before that revocation."""
    lock_log(session)
    _nothing_withdrawn_since(session, get_dataset(session, summary["dataset"]).id, summary["log_head"])


def _nothing_withdrawn_since(session: Session, dataset_id: int, head: dict) -> None:
    """DecisionError naming the newest decision that withdrew something from the dataset's gated set (a revocation,
    a rejected sample, a blocking tag) after the log head `head` the export was gated on. The images are copied
    between the gating and this record, minutes for a large set: a colleague's revocation meanwhile would be
    followed in the log by an export that holds the batch's samples. An approval meanwhile only adds to the next
    export, so it does not stop this one."""
    since = 0 if not head.get("events") else session.scalar(select(Event.id).where(Event.hash == head["hash"]))
    if since is None:  # the head is gone from the log: `ganaug audit verify` says what happened to it
        return
    batches = select(Batch.id).where(Batch.dataset_id == dataset_id)
    exported = select(Event.target_id).where(  # the batches approved when it was gated: the samples it holds
        Event.action == "approve", Event.target_type == "batch", Event.id <= since, Event.target_id.in_(batches))
    withdrawn = session.scalars(select(Event).where(Event.id > since, or_(
        and_(Event.action == "revoke", Event.target_type == "batch", Event.target_id.in_(batches)),
        and_(Event.action.in_(("reject_sample", "tag")), Event.target_type == "sample",
             Event.target_id.in_(select(Sample.id).where(Sample.batch_id.in_(exported))))),
    ).order_by(Event.id.desc())).all()
    withdrawn = [e for e in withdrawn if e.action != "tag" or (e.details or {}).get("blocking")]
    if withdrawn:
        e = withdrawn[0]
        what = (f"revoked the approval of batch {e.target_id}" if e.action == "revoke" else
                f"rejected sample {e.target_id}" if e.action == "reject_sample" else
                f"tagged sample {e.target_id} {(e.details or {}).get('tag')!r}")
        raise DecisionError(f"{e.actor} {what} at {e.ts[:19].replace('T', ' ')} UTC while this export was being "
                            "written, so it would hold samples the log no longer admits; nothing was exported: "
                            "export again")


def export_dict(e: Event) -> dict:
    """One recorded export in plain fields (its event's id, time and signer, and what its details say)."""
    d = e.details or {}
    counts = d.get("counts") or {}
    head = d.get("log_head") or {}
    return dict(id=e.id, ts=e.ts, actor=e.actor, role=e.role, dataset=d.get("dataset"), dataset_id=e.target_id,
                images=d.get("entries"), real=sum(c.get("real", 0) for c in counts.values()),
                synthetic=sum(c.get("synthetic", 0) for c in counts.values()), counts=counts,
                ratio=d.get("synthetic_ratio"), manifest_sha256=d.get("manifest_sha256"),
                log_head_events=head.get("events"), log_head=head.get("hash"), hash=e.hash,
                # where the folder is now: one inside the home moves with it (a backup restored at another path)
                folder=str(resolve(d["in_home"])) if d.get("in_home") else d.get("folder"))


def list_exports(session: Session, dataset: Optional[str] = None, limit: int = 200) -> list[dict]:
    """The recorded exports, newest first; of one dataset when `dataset` names it (an unknown name is refused)."""
    q = _exports_where(session, select(Event), dataset)
    return [export_dict(e) for e in session.scalars(q.order_by(Event.id.desc()).limit(limit))]


def count_exports(session: Session, dataset: Optional[str] = None) -> int:
    """How many exports `list_exports` would list with no limit: a listing cut at its limit says how many it left
    out."""
    return session.scalar(_exports_where(session, select(func.count()).select_from(Event), dataset)) or 0


def _exports_where(session: Session, q, dataset: Optional[str]):
    q = q.where(Event.action == ACTION, Event.target_type == TARGET_TYPE)
    if dataset is not None:
        q = q.where(Event.target_id == get_dataset(session, dataset).id)
    return q
