"""Datasets and their real images in the database."""

from __future__ import annotations

from typing import Optional, Sequence

from sqlalchemy import delete, distinct, func, select
from sqlalchemy.orm import Session, undefer

from db.models import Batch, Dataset, Event, Job, RealImage, Report, Run


class UnknownDataset(LookupError):
    pass


def get_dataset(session: Session, name: str) -> Dataset:
    dataset = session.scalars(select(Dataset).where(Dataset.name == name)).first()
    if dataset is None:
        known = ", ".join(session.scalars(select(Dataset.name).order_by(Dataset.name))) or "none yet"
        raise UnknownDataset(f"unknown dataset {name!r} (known: {known})")
    return dataset


def find_dataset(session: Session, name: str) -> Optional[Dataset]:
    return session.scalars(select(Dataset).where(Dataset.name == name)).first()


def list_datasets(session: Session) -> Sequence[Dataset]:
    """Every dataset, its deferred `bit_depth` loaded: `data list` reads them once the session is closed."""
    return session.scalars(select(Dataset).options(undefer(Dataset.bit_depth)).order_by(Dataset.created_at)).all()


def add_dataset(session: Session, images: list[dict], **fields) -> Dataset:
    """Insert a dataset and its images (dicts of RealImage columns) in the caller's transaction."""
    dataset = Dataset(**fields)
    session.add(dataset)
    session.flush()
    session.execute(RealImage.__table__.insert(), [{**img, "dataset_id": dataset.id} for img in images])
    return dataset


def dataset_references(session: Session, dataset: Dataset) -> dict[str, list[int]]:
    """What refers to the dataset, by kind → ids: its runs, batches (a sample is a batch's), reports, the decision
    log's exports of it and the jobs queued or running on it (`jobs_of`; its finished jobs
    are deleted with it). Empty kinds are left out."""
    from db.jobs import ACTIVE

    refs = {
        "runs": list(session.scalars(select(Run.id).where(Run.dataset_id == dataset.id).order_by(Run.id))),
        "batches": list(session.scalars(select(Batch.id).where(Batch.dataset_id == dataset.id).order_by(Batch.id))),
        "reports": list(session.scalars(select(Report.id).where(Report.dataset_id == dataset.id).order_by(Report.id))),
        # its exports; not its ingest, seal or removal (`db.ingests`), which record the dataset and name nothing made
        "events": list(session.scalars(select(Event.id).where(Event.target_type == "dataset", Event.action == "export",
                                                              Event.target_id == dataset.id).order_by(Event.id))),
        "jobs": jobs_of(session, dataset, ACTIVE),
    }
    return {kind: ids for kind, ids in refs.items() if ids}


def jobs_of(session: Session, dataset: Dataset, statuses: Sequence[str]) -> list[int]:
    """The jobs in `statuses` that name the dataset (in their params, by name: a job has no key to it)."""
    rows = session.execute(select(Job.id, Job.params).where(Job.status.in_(list(statuses))).order_by(Job.id))
    return [job_id for job_id, params in rows if (params or {}).get("dataset") == dataset.name]


def delete_dataset(session: Session, dataset: Dataset) -> tuple[int, list[int]]:
    """Delete the dataset's row, its image rows and its finished jobs in the caller's transaction; returns how many
    images it had and the jobs deleted. Bulk statements: a dataset of 100,000 images is not loaded to be deleted.

    Its finished jobs made nothing that is kept (a run, batch or report of theirs keeps the dataset); left, they
    named a dataset of the same name ingested later, whose pages and `jobs list` would show them as its own."""
    from db.jobs import FINAL

    jobs = jobs_of(session, dataset, FINAL)
    if jobs:
        session.execute(delete(Job).where(Job.id.in_(jobs)))
    images = session.execute(delete(RealImage).where(RealImage.dataset_id == dataset.id)).rowcount
    session.execute(delete(Dataset).where(Dataset.id == dataset.id))
    return images, jobs


def class_counts(session: Session, dataset_id: int) -> dict[str, dict[int, int]]:
    """split → class index → number of real images."""
    rows = session.execute(
        select(RealImage.split, RealImage.class_index, func.count())
        .where(RealImage.dataset_id == dataset_id)
        .group_by(RealImage.split, RealImage.class_index)
    )
    counts: dict[str, dict[int, int]] = {}
    for split, c, n in rows:
        counts.setdefault(split, {})[c] = n
    order = {"train": 0, "val": 1, "test": 2}
    return dict(sorted(counts.items(), key=lambda kv: order.get(kv[0], 9)))


def identical_images(session: Session, dataset_id: int, max_sets: int = 50) -> dict:
    """Images whose stored PNG (sha256) equals another's in the dataset: how many, in how many sets, how many of
    them sit under two classes or more (the same image taught with two labels) and on both sides of the split (a
    test image that is also a training image); and up to `max_sets` sets, those under two classes first, each a list
    of [source path, class index, split]. What an ingest warned of, for whoever reads the dataset later. Counted in
    one grouping query (the Overview asks for no sets): 0.1–0.3 s for 60,000 images on a busy 2-core machine."""
    return _sets(session, dataset_id, RealImage.sha256, max_sets)


def near_copy_images(session: Session, dataset_id: int, max_sets: int = 50) -> dict:
    """As `identical_images`, for the near-copy sets (`RealImage.near_set`: one picture saved again with loss,
    resized or shrunk to a thumbnail). Nothing for a dataset ingested before they were looked for (0009)."""
    return _sets(session, dataset_id, RealImage.near_set, max_sets)


def _sets(session: Session, dataset_id: int, key, max_sets: int) -> dict:
    """The sets of images of the dataset that share `key` (a column; None is no set)."""
    sets = session.execute(
        select(key, func.count(), func.count(distinct(RealImage.class_index)), func.count(distinct(RealImage.split)))
        .where(RealImage.dataset_id == dataset_id, key.is_not(None)).group_by(key).having(func.count() > 1)
    ).all()
    found = dict(images=sum(n for _, n, _, _ in sets), sets=len(sets),
                 across_classes=sum(n for _, n, classes, _ in sets if classes > 1),
                 across_splits=sum(n for _, n, _, splits in sets if splits > 1), groups=[])
    shown = [value for value, _, classes, _ in sorted(sets, key=lambda row: row[2] == 1)[:max_sets]]
    if shown:
        members: dict = {value: [] for value in shown}
        for value, source, c, split in session.execute(
            select(key, RealImage.source_path, RealImage.class_index, RealImage.split)
            .where(RealImage.dataset_id == dataset_id, key.in_(shown)).order_by(RealImage.id)
        ):
            members[value].append([source, c, split])
        found["groups"] = list(members.values())
    return found


def real_images(session: Session, dataset_id: int, split: str, class_index: Optional[int] = None) -> Sequence[RealImage]:
    q = select(RealImage).where(RealImage.dataset_id == dataset_id, RealImage.split == split)
    if class_index is not None:
        q = q.where(RealImage.class_index == class_index)
    return session.scalars(q.order_by(RealImage.id)).all()
