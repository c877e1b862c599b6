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
from db.models import Batch, Dataset, Event, Sample, User
from db.users import require_user
from ganaug_core.paths import resolve
from ganaug_core.shown_text import utc_time

ACTION, TARGET_TYPE = "export", "dataset"
# A recorded export's folder taken away from the server as a .zip (the Audit page): patient images leaving the machine
# again, so a hospital finds it in the log beside the export. It decides nothing: the replay and the gate pass over it.
DOWNLOAD = "download"  # 14 characters at most: `ganaug audit log` gives the action 14 columns


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
    if summary.get("batches") is not None:  # what the next export is compared with (`changes_since`)
        details["batches"] = summary["batches"]
    if summary.get("in_home"):  # found again after the home is moved (`export_dict`)
        details["in_home"] = summary["in_home"]
    meaning = export_meaning(summary["dataset"], summary["entries"], synthetic, summary["out"],
                             summary["manifest_sha256"])
    return record_event(session, actor, ACTION, TARGET_TYPE, dataset.id, meaning, details=details)


def record_download(session: Session, user: User, export: dict, files: int, size: int, zip_sha256: str) -> Event:
    """Append that `user` downloaded the folder of the recorded `export` (`export_dict`) as a zip of `files` files,
    `size` bytes, whose sha256 is `zip_sha256`. Call it in a `session_scope(immediate=True)`; an account disabled
    since it signed in is refused, and then nothing is handed over."""
    lock_log(session)
    actor = require_user(session, user, action="download exports")
    meaning = (f"Export {export['id']} of dataset {export['dataset']!r} ({export['images']} images, manifest.csv "
               f"sha256 {export['manifest_sha256']}) left the server as a zip of its folder {export['folder']}.")
    details = dict(export=export["id"], dataset=export["dataset"], folder=export["folder"],
                   manifest_sha256=export["manifest_sha256"], files=files, bytes=size, zip_sha256=zip_sha256)
    return record_event(session, actor, DOWNLOAD, TARGET_TYPE, export["dataset_id"], meaning, details=details)


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
        raise DecisionError(f"{e.actor} {what} at {utc_time(e.ts)} while this export was being "
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
                batches=d.get("batches"),  # batch id → its samples in the set; None before 2026-12-07
                # where the folder is now: one inside the home moves with it (a backup restored at another path)
                folder=str(resolve(d["in_home"])) if d.get("in_home") else d.get("folder"))


def changes_since(previous: dict, summary: dict, moved: Optional[dict] = None) -> dict:
    """What an export (`summary`: "counts", "batches", "manifest_sha256") holds otherwise than the `previous` recorded
    one (`export_dict`): per class, its real and synthetic images before and after, and per batch its samples before
    and after (None where the previous export did not record its batches, before 2026-12-07), and its ratio and this
    one's; the unchanged left out. What a training team diffs two exports by, without either folder at hand.
    `moved` ({"added": {...}, "removed": {...}}, images per batch id or "real"), read from the previous folder's
    manifest.csv where it is still here, tells apart one sample swapped for another under the same counts."""
    def pairs(before: dict, after: dict) -> dict:
        return {k: [before.get(k, 0), after.get(k, 0)] for k in sorted({*before, *after}, key=int)
                if before.get(k, 0) != after.get(k, 0)}

    empty = {"real": 0, "synthetic": 0}
    classes = {}
    for c in sorted({*previous["counts"], *summary["counts"]}, key=int):
        old, new = previous["counts"].get(c, empty), summary["counts"].get(c, empty)
        if old != new:
            classes[c] = {k: [old.get(k, 0), new.get(k, 0)] for k in ("real", "synthetic")}
    batches = None if previous.get("batches") is None else pairs(previous["batches"], summary["batches"])
    return dict(event=previous["id"], ts=previous["ts"], actor=previous["actor"], folder=previous["folder"],
                same=previous["manifest_sha256"] == summary["manifest_sha256"], classes=classes, batches=batches,
                ratio=[previous.get("ratio"), summary["synthetic_ratio"]],  # before, now: a lower one admits fewer
                added=None if moved is None else moved["added"], removed=None if moved is None else moved["removed"])


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


def no_longer_admitted(session: Session, synthetic: list[tuple[int, str, str, int]], log,
                       admitted: Optional[dict[int, set]] = None) -> list[tuple[int, str, str, int]]:
    """The (manifest row, path, sha256, batch id) of `synthetic` that the review (`log`, replayed) no longer admits.
    `admitted` (dataset id → the (path, sha256) it admits), filled as datasets are met, lets a list of exports share
    each dataset's gate. A batch decided in a way no ganaug command records (`LogState.impossible`) is left to the
    caller, which names it as such."""
    from db.gate import admissible_samples

    if not synthetic:
        return []
    admitted = {} if admitted is None else admitted
    dataset_ids = set(session.scalars(select(Batch.dataset_id).where(
        Batch.id.in_(sorted({b for *_, b in synthetic}))).distinct()))
    for dataset_id in dataset_ids - admitted.keys():
        admitted[dataset_id] = {(e.path, e.sha256) for e in admissible_samples(session, dataset_id, log)[0]}
    kept = set().union(*(admitted[d] for d in dataset_ids))
    return [s for s in synthetic if (s[1], s[2]) not in kept and s[3] not in log.impossible]


def withdrawn_since(session: Session, synthetic: list[tuple[int, str, str, int]], log) -> list[dict]:
    """What the review has withdrawn, since an export was written, of its synthetic images: `synthetic` holds
    (manifest row, path, sha256, batch id) of each, `log` the replayed log (`db.replay.LogState`). One dict per
    decision that withdrew some, in log order: a revocation (action "revoke", every image of its batch), a rejected
    sample or a blocking tag ("reject_sample", "tag": one image); and one per batch ("gate", no event) for images the
    gate leaves out for another reason (a memorized flag from a rescore, say). The folder still matches its record:
    only the review moved on, but a model trained on it learned from images the review no longer admits."""
    gone = no_longer_admitted(session, synthetic, log)
    if not gone:
        return []
    batches = {b.id: b for b in session.scalars(select(Batch).where(Batch.id.in_(sorted({b for *_, b in gone}))))}
    datasets = {d.id: d for d in session.scalars(select(Dataset).where(
        Dataset.id.in_(sorted({b.dataset_id for b in batches.values()}))))}
    ids = dict(session.execute(select(Sample.path, Sample.id).where(
        Sample.batch_id.in_(sorted({b for *_, b in gone})))).all())
    # A batch no longer approved withdrew all its images at once; the others were withdrawn one by one.
    one_by_one = [ids[p] for _, p, _, b in gone if p in ids and log.batch_status(b) == "approved"]
    sample_events = {}  # sample id → the newest event that keeps it out now (a rejection, a blocking tag)
    for start in range(0, len(one_by_one), 500):  # a bounded IN list
        for e in session.scalars(select(Event).where(
                Event.target_type == "sample", Event.action.in_(("reject_sample", "tag")),
                Event.target_id.in_(one_by_one[start:start + 500])).order_by(Event.id)):
            if e.action == "reject_sample" or (e.details or {}).get("blocking", True):
                sample_events[e.target_id] = e
    found: dict = {}
    for row, path, _, batch_id in gone:
        sample_id = ids.get(path)
        if log.batch_status(batch_id) != "approved":
            decided = log.decided_by.get(batch_id)
            event = session.get(Event, decided) if decided is not None else None
        else:
            event = sample_events.get(sample_id) if sample_id in log.rejected or log.blocked_now(sample_id) else None
        batch = batches.get(batch_id)
        w = found.setdefault(event.id if event is not None else f"gate {batch_id}", dict(
            action=event.action if event else "gate", event_id=event.id if event else None,
            actor=event.actor if event else None, ts=event.ts if event else None,
            reason=event.reason if event else None, tag=(event.details or {}).get("tag") if event else None,
            batch_id=batch_id, class_index=batch.class_index if batch else None,
            dataset=datasets[batch.dataset_id].name if batch else None,
            class_name=_class_name(datasets[batch.dataset_id], batch.class_index) if batch else None,
            sample_ids=[], rows=[]))
        w["rows"].append(row)
        if sample_id is not None:
            w["sample_ids"].append(sample_id)
    return sorted((dict(w, samples=len(w["rows"])) for w in found.values()),
                  key=lambda w: (w["event_id"] is None, w["event_id"] or 0, w["batch_id"]))


def _class_name(dataset, index: int) -> Optional[str]:
    names = list(dataset.class_names or [])
    return str(names[index]) if 0 <= index < len(names) else None
