"""Test setup for the review workflow: real PNG files and real rows, inserted the way the generator will.

Batches are written directly (run, batch, samples) because the test only needs what the generator records, not
a trained generator; every file is a real PNG whose sha256 is stored beside it.
"""

from __future__ import annotations

import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
from sqlalchemy import Engine, event, insert

from db.models import Batch, Dataset, RealImage, Run, Sample
from ganaug_core.imageio import save_png
from ganaug_core.scoring import SCORING_VERSION


def png(path: Path, value: int, size: int = 8) -> str:
    """Write a small deterministic grayscale PNG and return its sha256."""
    rng = np.random.default_rng(value)
    return save_png(rng.integers(0, 256, (1, size, size), dtype=np.uint8), path)


def make_dataset(session, home: Path, name: str = "toy", train=(6, 3), test=(2, 2), record: bool = True):
    """A dataset with `train[c]` train and `test[c]` test images of class c, files under home/datasets/name, and its
    ingest event (`record=False`: none, as for a dataset ingested before 2026-12-07)."""
    rows = []
    for split, per_class in (("train", train), ("test", test)):
        for c, n in enumerate(per_class):
            for i in range(n):
                rel = f"datasets/{name}/{split}/{c}/{i:04d}.png"
                sha = png(home / rel, zlib.crc32(rel.encode()))  # str hash() changes per process
                rows.append(dict(split=split, class_index=c, path=rel, sha256=sha, source_path=rel))
    # The row as `db.datasets.add_dataset` writes it, but with the columns given only (a Core insert): the ORM's names
    # every column of the current schema, and tests/db/test_upgrade.py writes this dataset into an older one.
    dataset_id = session.execute(insert(Dataset.__table__).values(
        name=name, source="test", path=f"datasets/{name}", resolution=8, channels=1,
        class_names=[f"c{i}" for i in range(len(train))], test_fraction=0.25, seed=0, arrays_sha256="0" * 64,
    ).returning(Dataset.id)).scalar_one()
    session.execute(RealImage.__table__.insert(), [{**r, "dataset_id": dataset_id} for r in rows])
    dataset = session.get(Dataset, dataset_id)
    if record:  # as an ingest records it (`db.ingests`): without it the gate warns its real images are not covered
        from db.ingests import record_ingest

        # The callers' sessions are deferred; a test is the only writer, so the log's lock is not needed.
        session.connection().execution_options(ganaug_immediate=True)
        record_ingest(session, dataset)
    return dataset


def rename_classes(session, dataset, names) -> None:
    """Give `dataset` these class names, recorded in the log as an ingest records them (a new ingest event): a name
    changed in the datasets table alone keeps the dataset's real images out of the gate (`db.ingests.renamed`)."""
    from db.ingests import record_ingest

    dataset.class_names = list(names)
    session.flush()
    session.connection().execution_options(ganaug_immediate=True)  # a test is the only writer, as in make_dataset
    record_ingest(session, dataset)


def make_batch(session, home: Path, dataset, class_index: int = 1, n: int = 4, scored: bool = True,
               memorized: Iterable[int] = (), files: bool = True, seed: int = 0, size: int = 8,
               scoring_version: Optional[int] = SCORING_VERSION) -> Batch:
    """A pending batch of `n` samples of one class (`size`² pixels); `memorized` lists positions flagged as
    memorized. A scored one records `scoring_version` (today's unless given; None: scored before versions were
    recorded)."""
    from sqlalchemy import select

    run = session.scalars(select(Run).where(Run.dataset_id == dataset.id)).first()
    if run is None:
        run = Run(dataset_id=dataset.id, status="done", run_dir="runs/1", config={}, config_sha256="c" * 64,
                  code_version="test", checkpoint_path="runs/1/ckpt.pt", checkpoint_sha256="k" * 64)
        session.add(run)
        session.flush()
    # A Core insert naming the columns given, as make_dataset's: the ORM's names every column of the current schema,
    # and tests/db/test_upgrade.py writes batches into a schema before 0012 (scoring_version=None).
    values = dict(run_id=run.id, dataset_id=dataset.id, class_index=class_index, count=n, seed=seed,
                  status="pending", checkpoint_sha256="k" * 64, config_sha256="c" * 64, code_version="test",
                  folder="", scores_computed=scored)
    if scored and scoring_version is not None:
        values["scoring_version"] = scoring_version
    batch = session.get(Batch, session.execute(insert(Batch.__table__).values(**values).returning(Batch.id)).scalar_one())
    batch.folder = f"batches/{batch.id}"
    memorized = set(memorized)
    rows = []
    for i in range(n):
        rel = f"{batch.folder}/{i:06d}.png"
        sha = png(home / rel, batch.id * 100_003 + i, size) if files else f"{i:064x}"
        rows.append(dict(batch_id=batch.id, class_index=class_index, seed=seed + i, path=rel, sha256=sha,
                         rejected=False, memorized=i in memorized, class_confidence=0.5 + (i % 10) / 20,
                         realism=float(i % 7), novelty=1.0 + i % 3, nn_distance=float(i)))
    session.execute(Sample.__table__.insert(), rows)
    session.flush()
    return batch


def sample_ids(session, batch_id: int) -> list[int]:
    from sqlalchemy import select

    return list(session.scalars(select(Sample.id).where(Sample.batch_id == batch_id).order_by(Sample.id)))


@contextmanager
def database_gone(url: str):
    """The server behind `url` stops answering after this process opened it, as a restarted or unreachable one
    does: the process's engine for it connects to nowhere until the block ends."""
    from sqlalchemy import create_engine

    import db.engine

    real = db.engine.get_engine(url)
    nowhere = create_engine("postgresql+psycopg://nobody:pw@127.0.0.1:1/gone" if url.startswith("postgresql")
                            else "sqlite:////nonexistent-folder/gone.db")
    db.engine._engines[url] = nowhere
    try:
        yield
    finally:
        db.engine._engines[url] = real
        nowhere.dispose()


@contextmanager
def counted_statements():
    """The SQL statements this process runs inside the block (a page or listing that reads once per item shows)."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", count)
