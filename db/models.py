"""The schema, as SQLAlchemy 2.0 typed models.

Datasets and their real images; reviewers and their app sign-ins; generation runs, their batches and synthetic samples; the artifact
tag taxonomy and per-sample tags; the append-only decision log; jobs launched from the app; evaluation reports.
A change here needs a migration under db/migrations/versions (`alembic revision` with this metadata).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Optional

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
                        exists, func, select)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def db_now(session: Session) -> dt.datetime:
    """Now on the database server's clock (aware UTC): the one clock a team's machines share, for the times one
    process writes and another compares (a worker's heartbeat, another machine's sweep). A SQLite file is one
    machine's, whose processes share its clock."""
    if session.get_bind().dialect.name == "sqlite":
        return utcnow()
    return session.scalar(select(func.clock_timestamp(type_=DateTime(timezone=True)))).astimezone(dt.timezone.utc)


def as_utc(t: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """A stored time as an aware UTC datetime: SQLite gives back naive ones (PostgreSQL keeps the zone)."""
    return t.replace(tzinfo=dt.timezone.utc) if t is not None and t.tzinfo is None else t


intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
sha256 = Annotated[str, mapped_column(String(64))]
name_str = Annotated[str, mapped_column(String(200))]
created_at = Annotated[dt.datetime, mapped_column(DateTime(timezone=True), default=utcnow)]
json_dict = Annotated[dict, mapped_column(JSON, default=dict)]


class Base(DeclarativeBase):
    pass


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[intpk]
    name: Mapped[name_str] = mapped_column(unique=True)
    source: Mapped[str] = mapped_column(Text)  # demo:digits, a folder or an .npz path
    path: Mapped[str] = mapped_column(Text)  # folder under GANAUG_HOME, relative to it
    resolution: Mapped[int]
    channels: Mapped[int]
    class_names: Mapped[list] = mapped_column(JSON)
    test_fraction: Mapped[float]
    seed: Mapped[int]
    arrays_sha256: Mapped[sha256]
    skipped: Mapped[list] = mapped_column(JSON, default=list)  # [source path, reason] of unreadable files
    # the --bit-depth its ingest was given (a folder's 16-bit images scaled 2**bit_depth - 1 → 255); None: not given
    # (65535 → 255), and so for every dataset ingested before 0010, whose option was not recorded. Deferred, as
    # Sample.copy_match is: the workflow's loads of a dataset never select it (a home written at an older schema, as
    # tests/db/test_upgrade.py builds one, lacks it); `list_datasets` and the views that show it load it.
    bit_depth: Mapped[Optional[int]] = mapped_column(deferred=True)
    created_at: Mapped[created_at]

    images: Mapped[list["RealImage"]] = relationship(back_populates="dataset", cascade="all, delete-orphan")


class RealImage(Base):
    __tablename__ = "real_images"
    __table_args__ = (Index("ix_real_images_dataset_split_class", "dataset_id", "split", "class_index"),)

    id: Mapped[intpk]
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    split: Mapped[str] = mapped_column(String(8))  # train, val or test — test never trains or gates anything
    class_index: Mapped[int]
    path: Mapped[str] = mapped_column(Text)  # relative to GANAUG_HOME
    sha256: Mapped[sha256]
    source_path: Mapped[str] = mapped_column(Text)
    # the ingest index of the first image of its near-copy set (not all identical: a JPEG saved again, a resized copy,
    # a thumbnail; ganaug_core.dataset_sources.split_sets), or None; None too for images ingested before 0009
    near_set: Mapped[Optional[int]]
    emb_x: Mapped[Optional[float]]  # UMAP coordinates (train split), filled by the embedding step
    emb_y: Mapped[Optional[float]]

    dataset: Mapped[Dataset] = relationship(back_populates="images")


class User(Base):
    __tablename__ = "users"

    id: Mapped[intpk]
    name: Mapped[name_str] = mapped_column(unique=True)
    role: Mapped[str] = mapped_column(String(16))  # reviewer or admin
    password_hash: Mapped[str] = mapped_column(Text)  # scrypt$n$r$p$salt$hash — never the password
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[created_at]


class SignIn(Base):
    """A browser's sign-in to the review app, kept across page reloads: the browser holds a random token in a
    cookie, the database only its sha256. It ends at sign-out, when the account is disabled, or at `expires_at`."""

    __tablename__ = "sign_ins"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_sha256: Mapped[sha256] = mapped_column(unique=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))


class FailedSignIn(Base):
    """A wrong password typed into the app's sign-in form (or a try still being checked): the account's name, letter
    case folded, or for a name that is no account's (a password typed into the name box?) only its sha256; the
    address it came from, where the app can tell; and when, on the database's clock (`db_now`). Never the password.
    Kept only for the lockout's window (db/sign_ins.py prunes older rows), so every app process of a team counts the
    same tries."""

    __tablename__ = "failed_sign_ins"
    __table_args__ = (Index("ix_failed_sign_ins_name_at", "name", "at"), Index("ix_failed_sign_ins_at", "at"))

    id: Mapped[intpk]
    name: Mapped[name_str]
    address: Mapped[Optional[str]] = mapped_column(String(64))  # None: unknown (this machine, or behind a proxy)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Run(Base):
    """A generator training run: its folder, config and checkpoint, each with a sha256."""

    __tablename__ = "runs"

    id: Mapped[intpk]
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, done, failed, cancelled
    run_dir: Mapped[str] = mapped_column(Text)  # relative to GANAUG_HOME
    config: Mapped[json_dict]
    config_sha256: Mapped[sha256]
    code_version: Mapped[str] = mapped_column(String(64))
    step: Mapped[int] = mapped_column(default=0)
    total_steps: Mapped[Optional[int]]
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    checkpoint_path: Mapped[Optional[str]] = mapped_column(Text)
    checkpoint_sha256: Mapped[Optional[str]] = mapped_column(String(64))
    resumed_from: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"))
    requested_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[created_at]
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))

    dataset: Mapped[Dataset] = relationship()


class Batch(Base):
    """Samples of one class generated from one checkpoint; the unit experts approve or reject."""

    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_dataset_status", "dataset_id", "status"),)

    id: Mapped[intpk]
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    class_index: Mapped[int]
    count: Mapped[int]
    # The batch seed (below 2**63); each sample's own seed is stored with the sample. 64-bit (migration 0003).
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, approved, rejected, revoked
    checkpoint_sha256: Mapped[sha256]
    config_sha256: Mapped[sha256]
    code_version: Mapped[str] = mapped_column(String(64))
    folder: Mapped[str] = mapped_column(Text)  # relative to GANAUG_HOME
    scores_computed: Mapped[bool] = mapped_column(Boolean, default=False)
    # ganaug_core.scoring.SCORING_VERSION of the scoring that stored its scores (migration 0012); None: not scored,
    # or scored before versions were recorded, by an older copy check than today's. Deferred, as 0006's and 0010's
    # columns: loading a batch then reads no column a schema before 0012 lacks.
    scoring_version: Mapped[Optional[int]] = mapped_column(deferred=True)
    created_at: Mapped[created_at]

    run: Mapped[Run] = relationship()
    samples: Mapped[list["Sample"]] = relationship(back_populates="batch", order_by="Sample.id")


class Sample(Base):
    __tablename__ = "samples"
    # (sha256, batch_id): the gate's grouping of samples by their bytes (`db.gate.kept_out_bytes`; migration 0011)
    __table_args__ = (Index("ix_samples_batch", "batch_id"), Index("ix_samples_sha256_batch", "sha256", "batch_id"))

    id: Mapped[intpk]
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    class_index: Mapped[int]
    seed: Mapped[int] = mapped_column(BigInteger)  # 63 bits; (checkpoint, class, seed) reproduces the image exactly
    path: Mapped[str] = mapped_column(Text)  # relative to GANAUG_HOME
    sha256: Mapped[sha256]
    rejected: Mapped[bool] = mapped_column(Boolean, default=False)
    # Scores from the evaluation step (None until computed).
    class_confidence: Mapped[Optional[float]]  # real-trained classifier's probability of the conditioned class
    realism: Mapped[Optional[float]]  # feature-density score against real training samples of the class
    novelty: Mapped[Optional[float]]  # nearest-real distance / that real sample's own nearest-real distance
    nn_distance: Mapped[Optional[float]]  # distance to the nearest real training sample (domain features)
    nn_real_ids: Mapped[Optional[list]] = mapped_column(JSON)  # ids of the nearest real training images
    memorized: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why it was flagged: {"kind": "copy" | "blend" | "features", "parts": [real image ids], ...} (copy_match.py).
    # Deferred: only the Review page reads it (batch_views.samples_by_ids, review_queue.review_page), so the workflow's
    # own loads of a sample never select it (a home written at an older schema, as tests/db/test_upgrade.py builds one,
    # lacks it).
    copy_match: Mapped[Optional[dict]] = mapped_column(JSON, deferred=True)
    emb_x: Mapped[Optional[float]]
    emb_y: Mapped[Optional[float]]

    batch: Mapped[Batch] = relationship(back_populates="samples")
    tags: Mapped[list["SampleTag"]] = relationship(back_populates="sample")


class Tag(Base):
    """The artifact taxonomy; admins edit it. A blocking tag keeps a sample out of the gated set."""

    __tablename__ = "tags"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    blocking: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SampleTag(Base):
    __tablename__ = "sample_tags"

    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))  # the tag event that put it there

    sample: Mapped[Sample] = relationship(back_populates="tags")
    tag: Mapped[Tag] = relationship()


def carries_blocking_tag():
    """SQL, correlated with the query's `samples` row: the sample carries a blocking tag (it stays out of training)."""
    return exists().where(SampleTag.sample_id == Sample.id, SampleTag.tag_id == Tag.id, Tag.blocking)


class Event(Base):
    """The append-only decision log. Each row's hash covers its fields and the previous row's hash.

    UPDATE and DELETE are refused by database triggers (see the initial migration).
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_target", "target_type", "target_id"),)

    id: Mapped[intpk]
    ts: Mapped[str] = mapped_column(String(40))  # UTC, ISO 8601 with microseconds; text so the hash is exact
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[name_str]
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))  # approve, reject, revoke, tag, untag, reject_sample, ...
    target_type: Mapped[str] = mapped_column(String(16))  # batch, sample, tag, user, dataset (an export)
    target_id: Mapped[int]
    meaning: Mapped[str] = mapped_column(Text)  # what the signature means, in words (21 CFR 11.50)
    reason: Mapped[Optional[str]] = mapped_column(Text)
    details: Mapped[json_dict]
    prev_hash: Mapped[sha256]
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Job(Base):
    """Work launched from the app and run by the worker: queued → running → done / failed / cancelled."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("submit_key", name="uq_jobs_submit_key"),)

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(32))  # train_generate, evaluate, benchmark
    status: Mapped[str] = mapped_column(String(16), default="queued")
    params: Mapped[json_dict]
    submit_key: Mapped[Optional[str]] = mapped_column(String(64))  # one per form submission: a double click makes one job
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    stats: Mapped[json_dict]
    result: Mapped[json_dict]
    error: Mapped[Optional[str]] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    heartbeat_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    worker_pid: Mapped[Optional[int]]
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id"))
    requested_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]
    started_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))


class Report(Base):
    """An evaluation or benchmark report written under GANAUG_HOME/reports."""

    __tablename__ = "reports"

    id: Mapped[intpk]
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    kind: Mapped[str] = mapped_column(String(32))  # benchmark, batch_metrics
    path: Mapped[str] = mapped_column(Text)  # folder, relative to GANAUG_HOME
    sha256: Mapped[sha256]  # of the JSON file
    summary: Mapped[json_dict]
    manifest_sha256: Mapped[Optional[str]] = mapped_column(String(64))  # the gated set it was run on
    job_id: Mapped[Optional[int]] = mapped_column(ForeignKey("jobs.id"))
    created_at: Mapped[created_at]
