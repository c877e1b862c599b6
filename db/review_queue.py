"""What a reviewer is shown before deciding: the batches waiting for review, oldest first, and a batch's samples a
page at a time with their tags and scores, and a scored batch's scores over the batch (what its verdict rests on).
Read-only; the decisions themselves are db/review.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session, undefer

from db.errors import DecisionError
from db.models import Batch, Dataset, Report, Sample, SampleTag, Tag
from db.tags import get_tag

SORTABLE = ("id", "seed", "class_confidence", "realism", "novelty", "nn_distance")
SCORE_FIELDS = ("class_confidence", "realism", "novelty", "nn_distance", "memorized", "emb_x", "emb_y")


def pending_batches(session: Session, dataset_id: Optional[int] = None, limit: Optional[int] = None) -> Sequence[Batch]:
    """Pending batches, oldest first: all of them, or the first `limit` (with the scoring that scored each)."""
    return session.scalars(_pending(select(Batch), dataset_id).options(undefer(Batch.scoring_version))
                           .order_by(Batch.id).limit(limit)).all()


def count_pending(session: Session, dataset_id: Optional[int] = None) -> int:
    return session.scalar(_pending(select(func.count()).select_from(Batch), dataset_id)) or 0


def _pending(q, dataset_id: Optional[int]):
    q = q.where(Batch.status == "pending")
    return q if dataset_id is None else q.where(Batch.dataset_id == dataset_id)


def batch_classes(session: Session, status: Optional[str] = "pending") -> list[dict]:
    """Each (dataset, class) that has batches of `status` (None: any), with its class name and how many: the Review
    page's class filter offers every class waiting, not only those among the newest batches its picker lists."""
    q = select(Batch.dataset_id, Batch.class_index, func.count()).group_by(Batch.dataset_id, Batch.class_index)
    rows = session.execute(q if status is None else q.where(Batch.status == status)).all()
    ids = sorted({d for d, _, _ in rows})
    datasets = {d: (name, names) for d, name, names in session.execute(
        select(Dataset.id, Dataset.name, Dataset.class_names).where(Dataset.id.in_(ids)))}
    return [dict(dataset=datasets[d][0], class_index=c, batches=n,
                 class_name=datasets[d][1][c] if c < len(datasets[d][1]) else str(c))  # as batches_table names it
            for d, c, n in rows]


def first_to_review(session: Session, status: Optional[str] = "pending",
                    of_class: Optional[tuple[str, int]] = None) -> Optional[int]:
    """The batch the Review page opens, among every batch of `status` (None: any) and of `of_class` (dataset name,
    class index; None: any): the newest pending one with its scores (it can be sorted by them and approved), else
    the newest pending one, else the newest. Chosen among the picker's newest rows alone, a home whose newest
    batches were not scored yet opened on "Compute scores" while older scored ones waited."""
    q = select(Batch.id).order_by(Batch.id.desc()).limit(1)
    if status is not None:
        q = q.where(Batch.status == status)
    if of_class is not None:
        q = q.join(Dataset, Batch.dataset_id == Dataset.id).where(Dataset.name == of_class[0],
                                                                  Batch.class_index == of_class[1])
    pending = q.where(Batch.status == "pending")
    for fits in (pending.where(Batch.scores_computed.is_(True)), pending, q):
        if (found := session.scalar(fits)) is not None:
            return found
    return None


@dataclass
class ReviewRow:
    sample: Sample
    tags: list[str] = field(default_factory=list)
    scores: dict = field(default_factory=dict)


def review_page(session: Session, batch_id: int, page: int = 0, per_page: int = 48, sort: str = "id",
                descending: bool = False, class_index: Optional[int] = None, tag: Optional[str] = None,
                memorized: Optional[bool] = None, min_confidence: Optional[float] = None) -> tuple[list[ReviewRow], int]:
    """One page of a batch's samples with their tag names and scores, and the number of samples that match."""
    if sort not in SORTABLE:
        raise DecisionError(f"cannot sort by {sort!r}: use one of {', '.join(SORTABLE)}")
    if page < 0 or not 1 <= per_page <= 1000:
        raise DecisionError("page must be ≥ 0 and per_page between 1 and 1000")
    conditions = [Sample.batch_id == batch_id]
    if class_index is not None:
        conditions.append(Sample.class_index == class_index)
    if memorized is not None:
        conditions.append(Sample.memorized == bool(memorized))
    if min_confidence is not None:
        conditions.append(Sample.class_confidence >= min_confidence)
    if tag:
        tag_row = get_tag(session, tag, active_only=False)
        conditions.append(exists().where(SampleTag.sample_id == Sample.id, SampleTag.tag_id == tag_row.id))
    total = session.scalar(select(func.count()).select_from(Sample).where(*conditions))
    column = getattr(Sample, sort)
    order = (column.desc() if descending else column.asc()).nulls_last()
    # copy_match in the same query: the page's sample dicts read it, and left deferred it cost one query per sample.
    samples = session.scalars(
        select(Sample).where(*conditions).order_by(order, Sample.id).offset(page * per_page).limit(per_page)
        .options(undefer(Sample.copy_match))
    ).all()
    tags: dict[int, list[str]] = {s.id: [] for s in samples}
    if samples:
        for sid, name in session.execute(
            select(SampleTag.sample_id, Tag.name).join(Tag, Tag.id == SampleTag.tag_id)
            .where(SampleTag.sample_id.in_(list(tags))).order_by(Tag.name)
        ):
            tags[sid].append(name)
    rows = [ReviewRow(s, tags[s.id], {k: getattr(s, k) for k in SCORE_FIELDS}) for s in samples]
    return rows, int(total or 0)


def batch_scores(session: Session, batch_id: int) -> dict:
    """A scored batch's scores over the batch, as `ganaug evaluate batch` sums them up, read from what its scoring
    stored (nothing is computed): its samples, mean realism, memorized samples not rejected yet (`memorized`) and
    rejected (`rejected_memorized`), and the class consistency its metrics recorded (None where it has no report).
    `ganaug.evaluation` records a batch's metrics under the folder `reports/batches/<id>`, their consistency in the
    report's summary."""
    samples, realism, memorized, rejected = session.execute(
        select(func.count(), func.avg(Sample.realism),
               func.count(case((Sample.memorized & ~Sample.rejected, 1))),
               func.count(case((Sample.memorized & Sample.rejected, 1))))
        .where(Sample.batch_id == batch_id)).one()
    summary = session.scalars(select(Report.summary).where(
        Report.kind == "batch_metrics", Report.path == f"reports/batches/{batch_id}").order_by(Report.id.desc())
    ).first() or {}
    consistency = summary.get("class_consistency")
    return dict(samples=int(samples or 0), mean_realism=None if realism is None else float(realism),
                memorized=int(memorized or 0), rejected_memorized=int(rejected or 0),
                consistency=None if consistency is None else float(consistency))
