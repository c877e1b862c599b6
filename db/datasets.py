"""Datasets and their real images in the database."""

from __future__ import annotations

from typing import Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Dataset, RealImage


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
    return session.scalars(select(Dataset).order_by(Dataset.created_at)).all()


def add_dataset(session: Session, images: list[dict], **fields) -> Dataset:
    """Insert a dataset and its images (dicts of RealImage columns) in the caller's transaction."""
    dataset = Dataset(**fields)
    session.add(dataset)
    session.flush()
    session.execute(RealImage.__table__.insert(), [{**img, "dataset_id": dataset.id} for img in images])
    return dataset


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


def real_images(session: Session, dataset_id: int, split: str, class_index: Optional[int] = None) -> Sequence[RealImage]:
    q = select(RealImage).where(RealImage.dataset_id == dataset_id, RealImage.split == split)
    if class_index is not None:
        q = q.where(RealImage.class_index == class_index)
    return session.scalars(q.order_by(RealImage.id)).all()
