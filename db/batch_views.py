"""Read-only queries about batches and their samples, behind the Review and Audit pages: the batches table and
its counts, a batch's state now and what approving it would admit, a grid's samples with their tags and the real
images they are compared with, the active tags, and a batch's provenance, events and latest job (datasets, the
Overview's counts, the log's newest events and the Embeddings page's points: db/views.py).

As in db/views.py, each function takes a Session first and returns plain data, never ORM objects.
"""

from __future__ import annotations

from typing import Optional, Sequence

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased, undefer

from db.models import Batch, Dataset, Event, Job, RealImage, Run, Sample, SampleTag, Tag, carries_blocking_tag


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
