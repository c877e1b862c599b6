"""Read-only queries behind the review app's pages (the workflow's own queries live in db/review.py, db/audit.py;
the training runs' in db/run_views.py).

Each function takes a Session first and returns plain data (dicts, lists, tuples of numbers) rather than ORM
objects, so that pages can hand the results to `st.cache_data` and nothing lazy-loads after the session closes.
Large reads (embedding points) select columns, never whole rows.
"""

from __future__ import annotations

from typing import Optional, Sequence

from sqlalchemy import Integer, column, exists, func, select, values
from sqlalchemy.orm import Session, aliased, undefer

from db.models import (Batch, Dataset, Event, Job, RealImage, Report, Run, Sample, SampleTag, Tag,
                       carries_blocking_tag)


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


PICKER_BATCHES = 500  # the most batches the Audit page's picker lists, the newest; an older one is opened by its id


def batches_table(session: Session, status: Optional[str] = "pending", limit: int = 200,
                  ids: Optional[Sequence[int]] = None, of_class: Optional[tuple[str, int]] = None) -> list[dict]:
    """Batches (newest first) with their dataset, class name and number of samples still in play; `ids`: only
    these (a batch asked for by its id that the newest `limit` left out); `of_class`: only those of this (dataset
    name, class index), found among all batches, not among the newest `limit`."""
    q = select(Batch, Dataset.name, Dataset.class_names).join(Dataset, Batch.dataset_id == Dataset.id)
    if status:
        q = q.where(Batch.status == status)
    if of_class is not None:
        q = q.where(Dataset.name == of_class[0], Batch.class_index == of_class[1])
    if ids is not None:
        q = q.where(Batch.id.in_(list(ids)))
    rows = session.execute(q.order_by(Batch.id.desc()).limit(limit)).all()
    ids = [b.id for b, _, _ in rows]
    rejected = dict(
        session.execute(
            select(Sample.batch_id, func.count()).where(Sample.batch_id.in_(ids), Sample.rejected.is_(True))
            .group_by(Sample.batch_id)
        ).all()
    ) if ids else {}
    memorized = dict(
        session.execute(
            select(Sample.batch_id, func.count())
            .where(Sample.batch_id.in_(ids), Sample.memorized.is_(True), Sample.rejected.is_(False))
            .group_by(Sample.batch_id)
        ).all()
    ) if ids else {}
    return [
        dict(batch=b.id, dataset=name, run=b.run_id, class_index=b.class_index,
             class_name=names[b.class_index] if b.class_index < len(names) else str(b.class_index),
             count=b.count, rejected=rejected.get(b.id, 0), memorized=memorized.get(b.id, 0),
             status=b.status, scored=b.scores_computed, created=b.created_at)
        for b, name, names in rows
    ]


def batch_counts(session: Session) -> dict[str, int]:
    """Batches per status: what a list cut at its limit (`batches_table`) says it left out."""
    return dict(session.execute(select(Batch.status, func.count()).group_by(Batch.status)).all())


def batch_state(session: Session, batch_id: int) -> Optional[dict]:
    """What a page needs before acting on a batch: its status now (another reviewer may have just decided)."""
    b = session.get(Batch, batch_id)
    if b is None:
        return None
    dataset = session.get(Dataset, b.dataset_id)
    open_memorized = session.scalar(
        select(func.count()).where(Sample.batch_id == batch_id, Sample.memorized.is_(True), Sample.rejected.is_(False))
    )
    last = session.scalars(
        select(Event).where(Event.target_type == "batch", Event.target_id == batch_id).order_by(Event.id.desc()).limit(1)
    ).first()
    return dict(
        batch=b.id, run_id=b.run_id, status=b.status, class_index=b.class_index, count=b.count, dataset=dataset.name,
        class_names=list(dataset.class_names), scored=b.scores_computed, scoring_version=b.scoring_version,
        open_memorized=open_memorized or 0,
        last_event=dict(action=last.action, actor=last.actor, ts=last.ts, reason=last.reason) if last else None,
    )


def last_event_id(session: Session) -> int:
    """The log's newest event id (0 for an empty log): read beside what a page shows, it dates what was shown."""
    return session.scalar(select(func.max(Event.id))) or 0


# How the approval's confirmation (the app's and `review approve`'s) names the samples `elsewhere` counts.
ELSEWHERE = "with the bytes of a sample kept out in another batch"


def approval_preview(session: Session, batch_id: int) -> dict:
    """What approving a batch now would let into the gated training set: its samples less the rejected and the
    blocking-tagged ones, and less those with the bytes of a sample kept out in another batch (`elsewhere`: the
    gate's rules, db/gate.py; the export's ratio cap and file checks come later)."""
    blocking = carries_blocking_tag()
    counts = dict(samples=0, rejected=0, blocked=0)
    for rejected, blocked, n in session.execute(
        select(Sample.rejected, blocking.label("blocked"), func.count()).where(Sample.batch_id == batch_id)
        .group_by(Sample.rejected, "blocked")
    ):
        counts["samples"] += n
        if rejected:
            counts["rejected"] += n
        elif blocked:
            counts["blocked"] += n
    other = aliased(Sample)  # its own name: carries_blocking_tag() correlates with `samples`, this batch's rows
    # Other batches' samples with this batch's bytes first (0.04 s at 100,000 samples; 0.1 s testing each for a
    # decision first), then whether the review kept them out.
    kept_out = (select(other.sha256).join(Batch, Batch.id == other.batch_id).where(
        other.batch_id != batch_id, other.sha256.in_(select(Sample.sha256).where(Sample.batch_id == batch_id)),
        other.rejected | Batch.status.in_(("rejected", "revoked"))
        | exists().where(SampleTag.sample_id == other.id, SampleTag.tag_id == Tag.id, Tag.blocking)))
    counts["elsewhere"] = session.scalar(select(func.count()).select_from(Sample).where(
        Sample.batch_id == batch_id, ~Sample.rejected, ~blocking, Sample.sha256.in_(kept_out))) or 0
    counts["admitted"] = counts["samples"] - counts["rejected"] - counts["blocked"] - counts["elsewhere"]
    return counts


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


def samples_by_ids(session: Session, ids: Sequence[int]) -> list[dict]:
    """Samples for a grid, in the order given, with their batch status and tag names."""
    if not ids:
        return []
    rows = session.execute(
        select(Sample, Batch.status).join(Batch, Sample.batch_id == Batch.id).where(Sample.id.in_(list(ids)))
        .options(undefer(Sample.copy_match))
    ).all()
    tags = tag_names_for(session, [s.id for s, _ in rows])
    by_id = {s.id: sample_dict(s, status, tags.get(s.id, [])) for s, status in rows}
    return [by_id[i] for i in ids if i in by_id]


def sample_dict(s: Sample, batch_status: str, tags: list[str]) -> dict:
    return dict(id=s.id, batch=s.batch_id, class_index=s.class_index, seed=s.seed, path=s.path, sha256=s.sha256,
                rejected=s.rejected, memorized=s.memorized, class_confidence=s.class_confidence,
                realism=s.realism, novelty=s.novelty, nn_distance=s.nn_distance,
                nn_real_ids=list(s.nn_real_ids or []), copy_match=dict(s.copy_match) if s.copy_match else None,
                batch_status=batch_status, tags=tags)


def tag_names_for(session: Session, sample_ids: Sequence[int]) -> dict[int, list[str]]:
    if not sample_ids:
        return {}
    out: dict[int, list[str]] = {}
    rows = session.execute(
        select(SampleTag.sample_id, Tag.name).join(Tag, SampleTag.tag_id == Tag.id)
        .where(SampleTag.sample_id.in_(list(sample_ids))).order_by(Tag.name)
    )
    for sid, name in rows:
        out.setdefault(sid, []).append(name)
    return out


def real_images_by_ids(session: Session, ids: Sequence[int]) -> list[dict]:
    if not ids:
        return []
    rows = {r.id: r for r in session.scalars(select(RealImage).where(RealImage.id.in_(list(ids))))}
    return [dict(id=r.id, class_index=r.class_index, path=r.path, sha256=r.sha256) for i in ids if (r := rows.get(i))]


def active_tags(session: Session) -> list[dict]:
    rows = session.scalars(select(Tag).where(Tag.active.is_(True)).order_by(Tag.name))
    return [dict(name=t.name, blocking=t.blocking, description=t.description) for t in rows]


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


def batch_provenance(session: Session, batch_id: int) -> Optional[dict]:
    """Where a batch came from: dataset and class, run, checkpoint, config, seeds and code version."""
    b = session.get(Batch, batch_id)
    if b is None:
        return None
    run = session.get(Run, b.run_id)
    dataset = session.get(Dataset, b.dataset_id)
    names = list(dataset.class_names) if dataset else []
    seeds = list(session.scalars(select(Sample.seed).where(Sample.batch_id == batch_id).order_by(Sample.id)))
    return dict(
        batch=b.id, status=b.status, dataset=dataset.name if dataset else None,
        class_name=names[b.class_index] if b.class_index < len(names) else str(b.class_index),
        class_index=b.class_index, count=b.count, batch_seed=b.seed,
        sample_seeds=seeds, folder=b.folder, checkpoint_sha256=b.checkpoint_sha256, config_sha256=b.config_sha256,
        code_version=b.code_version, run=run.id if run else None,
        checkpoint_path=run.checkpoint_path if run else None, config=dict(run.config) if run else {},
        resumed_from=run.resumed_from if run else None, created=str(b.created_at),
    )


def batch_events(session: Session, batch_id: int, limit: int = 500) -> Sequence[Event]:
    """Newest first, the decisions on a batch and on each of its samples (rejections, restores, tags): together they
    say which of its samples a gated set admits. At most `limit` (a 10,000-sample batch may have as many)."""
    samples = select(Sample.id).where(Sample.batch_id == batch_id)
    return session.scalars(
        select(Event).where(((Event.target_type == "batch") & (Event.target_id == batch_id))
                            | ((Event.target_type == "sample") & Event.target_id.in_(samples)))
        .order_by(Event.id.desc()).limit(limit)
    ).all()


def latest_batch_job(session: Session, kind: str, batch_id: int, scan: int = 500) -> Optional[int]:
    """The id of the newest job of `kind` whose params name `batch_id` (among the newest `scan` of that kind)."""
    for job_id, params in session.execute(select(Job.id, Job.params).where(Job.kind == kind)
                                          .order_by(Job.id.desc()).limit(scan)):
        if str((params or {}).get("batch_id")) == str(batch_id):
            return job_id
    return None


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
