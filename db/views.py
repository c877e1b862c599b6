"""Read-only queries behind the review app's pages about datasets and the decision log as a whole: the Overview's
datasets, counts and findings, the class counts the review admits, the log's newest events, the Embeddings page's
points and the Evaluate page's reports (a batch and its samples: db/batch_views.py; the workflow's own queries live
in db/review.py, db/audit.py; the training runs' in db/run_views.py).

Each function takes a Session first and returns plain data (dicts, lists, tuples of numbers) rather than ORM
objects, so that pages can hand the results to `st.cache_data` and nothing lazy-loads after the session closes.
Large reads (embedding points) select columns, never whole rows.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Integer, column, func, select, values
from sqlalchemy.orm import Session, undefer

# pages/ and ganaug/cli/review.py still import these from here (`views.batches_table`), as before they moved.
from db.batch_views import (ELSEWHERE, PICKER_BATCHES, active_tags, approval_preview, batch_counts, batch_events,
                            batch_provenance, batch_state, batches_table, latest_batch_job, real_images_by_ids,
                            sample_dict, samples_by_ids)
from db.models import Batch, Dataset, Event, RealImage, Report, Run, Sample, SampleTag, Tag, carries_blocking_tag

__all__ = [
    # this module's own
    "COVERAGE_ROWS", "approved_class_counts", "counts", "dataset_names", "dataset_summary", "dataset_versions",
    "embedding_points", "event_dict", "event_target", "ingest_findings", "last_event_id", "points_version",
    "recent_events", "reports_for", "train_class_counts",
    # db/batch_views.py's, for the importers above
    "ELSEWHERE", "PICKER_BATCHES", "active_tags", "approval_preview", "batch_counts", "batch_events",
    "batch_provenance", "batch_state", "batches_table", "latest_batch_job", "real_images_by_ids", "sample_dict",
    "samples_by_ids",
]


def dataset_names(session: Session) -> list[str]:
    return list(session.scalars(select(Dataset.name).order_by(Dataset.created_at)))


def dataset_summary(session: Session, name: str) -> Optional[dict]:
    dataset = session.scalars(select(Dataset).where(Dataset.name == name)).first()
    if dataset is None:
        return None
    return dict(id=dataset.id, name=dataset.name, class_names=list(dataset.class_names),
                resolution=dataset.resolution, channels=dataset.channels)


def dataset_versions(session: Session) -> tuple[tuple[int, str, str], ...]:
    """(id, name, created at) of each dataset: what names one ingest, whose images and findings never change (a name
    removed and ingested again, even under a reused id, is another)."""
    rows = session.execute(select(Dataset.id, Dataset.name, Dataset.created_at).order_by(Dataset.created_at))
    return tuple((i, name, str(at)) for i, name, at in rows)


def ingest_findings(session: Session) -> dict[str, dict[str, int]]:
    """dataset name → what its ingest warned of, for the Overview: images identical to another (`identical`), how
    many of those under two classes or more and on both sides of the split, images in a near-copy set (`near`: a JPEG
    saved again, a resized copy, a thumbnail) and how many of those on both sides (`near_across_splits`), the
    files it left out (`skipped`) and the --bit-depth it was given (`bit_depth`, None: not given)."""
    from db.datasets import identical_images, near_copy_images

    found = {}
    for dataset in session.scalars(select(Dataset).options(undefer(Dataset.bit_depth)).order_by(Dataset.created_at)):
        same = identical_images(session, dataset.id, max_sets=0)
        near = near_copy_images(session, dataset.id, max_sets=0)
        found[dataset.name] = dict(identical=same["images"], across_classes=same["across_classes"],
                                   across_splits=same["across_splits"], near=near["images"],
                                   near_across_splits=near["across_splits"], skipped=len(dataset.skipped or []),
                                   bit_depth=dataset.bit_depth)
    return found


def train_class_counts(session: Session) -> dict[str, list[int]]:
    """dataset name → real training images per class (index order)."""
    datasets = {d.id: d for d in session.scalars(select(Dataset))}
    counts = {d.name: [0] * len(d.class_names) for d in datasets.values()}
    rows = session.execute(
        select(RealImage.dataset_id, RealImage.class_index, func.count())
        .where(RealImage.split == "train")
        .group_by(RealImage.dataset_id, RealImage.class_index)
    )
    for dataset_id, c, n in rows:
        counts[datasets[dataset_id].name][c] = n
    return counts


COVERAGE_ROWS = 5000  # (batch, highest covered sample id) rows per query: 2 bound values each, within SQLite's limit


def approved_class_counts(session: Session) -> dict[str, list[int]]:
    """dataset name → synthetic samples per class that the review admits: those of approved batches, less rejected
    and blocking-tagged samples and samples added after the approval. The gate's rules on the state tables, in SQL
    (a page must not replay the whole log); the gate and `ganaug audit verify` also check these tables against
    the log (db/replay.py)."""
    datasets = {d.id: d for d in session.scalars(select(Dataset))}
    counts = {d.name: [0] * len(d.class_names) for d in datasets.values()}
    blocking = carries_blocking_tag()
    approved = _approved_batches(session)  # batch id → (dataset id, the highest sample id its approval covered)
    rows = [(batch_id, max_id) for batch_id, (_, max_id) in approved.items()]
    for start in range(0, len(rows), COVERAGE_ROWS):  # one query per chunk of batches, not one per batch
        covered = values(column("batch_id", Integer), column("max_id", Integer), name="covered").data(
            rows[start:start + COVERAGE_ROWS]).cte()  # WITH covered(batch_id, max_id) AS (VALUES …): SQLite, PostgreSQL
        for batch_id, c, n in session.execute(
            select(Sample.batch_id, Sample.class_index, func.count())
            .join(covered, (covered.c.batch_id == Sample.batch_id) & (Sample.id <= covered.c.max_id))
            .where(~Sample.rejected, ~blocking).group_by(Sample.batch_id, Sample.class_index)
        ):
            counts[datasets[approved[batch_id][0]].name][c] += n
    return counts


def _approved_batches(session: Session, dataset_id: Optional[int] = None) -> dict[int, tuple[int, int]]:
    """Approved batch id → (dataset id, the highest sample id its latest approval covered). A sample above that id
    was added after the approval and is not admitted; an approval that recorded none admits nothing, nor one of
    another dataset than the batch's row names (the gate's MOVED_DATASET: the Overview counted a batch moved by an
    UPDATE as approved in its new dataset)."""
    latest = (
        select(func.max(Event.id).label("event_id"))
        .where(Event.target_type == "batch", Event.action == "approve").group_by(Event.target_id).subquery()
    )
    q = (select(Batch.id, Batch.dataset_id, Event.details).join(Event, Event.target_id == Batch.id)
         .join(latest, latest.c.event_id == Event.id).where(Batch.status == "approved"))
    if dataset_id is not None:
        q = q.where(Batch.dataset_id == dataset_id)
    out = {}
    for batch_id, ds, details in session.execute(q):
        max_id = (details or {}).get("max_sample_id")
        if max_id is not None and (details or {}).get("dataset_id", ds) == ds:  # recorded since 2026-12-07
            out[batch_id] = (ds, int(max_id))
    return out


def last_event_id(session: Session) -> int:
    """The log's newest event id (0 for an empty log): read beside what a page shows, it dates what was shown."""
    return session.scalar(select(func.max(Event.id))) or 0


def recent_events(session: Session, limit: int = 20) -> list[dict]:
    rows = session.scalars(select(Event).order_by(Event.id.desc()).limit(limit))
    return [event_dict(e) for e in rows]


def event_dict(e: Event) -> dict:
    return dict(id=e.id, ts=e.ts, actor=e.actor, role=e.role, action=e.action, target=event_target(e),
                meaning=e.meaning, reason=e.reason or "", hash=e.hash[:12])


def event_target(e: Event) -> str:
    """What an event is about: "sample 17", and for a tag or untag the tag's name, which its recorded meaning ("This
    sample shows the named artifact.") leaves to the event's details."""
    target = f"{e.target_type} {e.target_id}"
    tag = (e.details or {}).get("tag") if e.action in ("tag", "untag") else None
    return f"{target}, tag {tag!r}" if tag else target


def points_version(session: Session, dataset: str) -> tuple:
    """Changes whenever the embedding page's data may have: new samples, new decisions, newly scored batches.

    Cheap (primary-key maxima and a count over the small batches table), so a page can key its cache on it
    instead of re-reading 20,000 points on every visit.
    """
    dataset_id = session.scalar(select(Dataset.id).where(Dataset.name == dataset))
    return (
        dataset_id,
        session.scalar(select(func.max(Sample.id))),
        session.scalar(select(func.max(Event.id))),
        session.scalar(select(func.count()).where(Batch.dataset_id == dataset_id, Batch.scores_computed.is_(True))),
        session.scalar(select(func.count()).where(RealImage.dataset_id == dataset_id, RealImage.emb_x.is_not(None)))
        if dataset_id else 0,
    )


def embedding_points(session: Session, dataset: str) -> dict[str, list]:
    """Columns of every embedded point of a dataset: real training images, then synthetic samples.

    `decision` is what the gate would do with a synthetic sample today, by the rules of `approved_class_counts`:
    approved; rejected (batch or sample rejected, approval revoked, or a blocking tag, all of which keep it out);
    or pending (its batch awaits review, or the sample was added after its batch's approval). Real points read
    "real".
    """
    dataset_id = session.scalar(select(Dataset.id).where(Dataset.name == dataset))
    cols: dict[str, list] = {k: [] for k in ("source", "id", "class_index", "x", "y", "decision", "batch")}
    if dataset_id is None:
        return cols
    real = session.execute(
        select(RealImage.id, RealImage.class_index, RealImage.emb_x, RealImage.emb_y)
        .where(RealImage.dataset_id == dataset_id, RealImage.split == "train", RealImage.emb_x.is_not(None))
        .order_by(RealImage.id)
    )
    for rid, c, x, y in real:
        _append(cols, "real", rid, c, x, y, "real", None)
    synth = session.execute(
        select(Sample.id, Sample.class_index, Sample.emb_x, Sample.emb_y, Sample.rejected, Batch.status, Batch.id)
        .join(Batch, Sample.batch_id == Batch.id)
        .where(Batch.dataset_id == dataset_id, Sample.emb_x.is_not(None))
        .order_by(Sample.id)
    )
    approved = _approved_batches(session, dataset_id)
    blocked = set(session.scalars(
        select(SampleTag.sample_id).join(Tag, SampleTag.tag_id == Tag.id).join(Sample, SampleTag.sample_id == Sample.id)
        .join(Batch, Sample.batch_id == Batch.id).where(Tag.blocking, Batch.dataset_id == dataset_id)
    ))
    for sid, c, x, y, rejected, status, bid in synth:
        if rejected or status in ("rejected", "revoked") or sid in blocked:
            decision = "rejected"
        elif status == "approved":
            decision = "approved" if bid in approved and sid <= approved[bid][1] else "pending"
        else:
            decision = status
        _append(cols, "synthetic", sid, c, x, y, decision, bid)
    return cols


def _append(cols: dict, source, pid, c, x, y, decision, batch) -> None:
    for key, value in zip(("source", "id", "class_index", "x", "y", "decision", "batch"),
                          (source, pid, c, x, y, decision, batch)):
        cols[key].append(value)


def reports_for(session: Session, dataset: str, kind: str = "benchmark", limit: int = 20) -> list[dict]:
    q = (select(Report).join(Dataset, Report.dataset_id == Dataset.id)
         .where(Dataset.name == dataset, Report.kind == kind).order_by(Report.id.desc()).limit(limit))
    return [dict(id=r.id, path=r.path, sha256=r.sha256, summary=dict(r.summary or {}),
                 manifest_sha256=r.manifest_sha256, job=r.job_id, created=r.created_at)
            for r in session.scalars(q)]


def counts(session: Session) -> dict[str, int]:
    """Headline numbers for the overview page."""
    return dict(
        datasets=session.scalar(select(func.count()).select_from(Dataset)) or 0,
        runs=session.scalar(select(func.count()).select_from(Run)) or 0,
        pending_batches=session.scalar(select(func.count()).where(Batch.status == "pending")) or 0,
        samples=session.scalar(select(func.count()).select_from(Sample)) or 0,
        decisions=session.scalar(select(func.count()).select_from(Event)) or 0,
    )
