"""The real training images under the decision log: each ingest of a dataset is an event.

The gate admits a dataset's real training images as the `real_images` table lists them, and a row of that table can
be added or edited with any SQLite client (a rejected sample's file listed as a "real" image, a file swapped together
with its sha256) without breaking a hash. So an ingest records an event (action "ingest", target the dataset) whose
details hold a digest over every real image's (id, split, class, sha256) row, as an approval records its samples'
digest (`db.replay.digest_agrees`); the gate admits the real images only while that digest agrees, and `ganaug audit
verify` reports a disagreement (`db.replay.state_mismatches`). A dataset ingested before 2026-12-07 has no such
event: an admin records its images as they are now (`seal`, `ganaug data seal`), and until then its exports warn.
A removal leaves its mark too (`remove_dataset`). Like every event, these stop an edit of the tables, not an event
appended by hand with a digest recomputed (README, "Security and integrity").
"""

from __future__ import annotations

import getpass
import hashlib
from types import SimpleNamespace
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.audit import lock_log, record_event
from db.errors import DecisionError
from db.models import Dataset, Event, RealImage, User
from db.replay import DATASET_RECORDS, LogState
from db.users import require_user

# What the gate and `audit verify` find of a dataset's real images (`real_images_standing`).
RECORDED = "recorded"  # the digest of its last ingest or seal agrees with the rows
NOT_COVERED = "not covered"  # ingested before ingests were recorded, and not sealed since: admitted, with a warning
DIFFERS = "differs"  # the rows are not what the log recorded (or the log never recorded a dataset made since): out


def unsigned_actor() -> SimpleNamespace:
    """Who an ingest or removal is recorded as: neither command signs in (they run as the home's owner, who can write
    the database anyway), so the event names the machine's login that ran it, under the role "unsigned"."""
    try:
        login = getpass.getuser()
    except Exception:  # no login name in the environment (a container's uid without a passwd entry)
        login = "unknown"
    return SimpleNamespace(id=None, name=login, role="unsigned")


def digest_rows(rows) -> tuple[int, str]:
    """(images, sha256 over every (id, split, class, sha256)) of rows in id order."""
    lines = [f"{rid},{split},{c},{sha}\n" for rid, split, c, sha in rows]
    return len(lines), hashlib.sha256("".join(lines).encode()).hexdigest()


def real_images_digest(session: Session, dataset_id: int) -> tuple[int, str]:
    """The digest of the dataset's `real_images` rows as they are now, every split (a test image moved into the
    training split changes it too)."""
    return digest_rows(session.execute(
        select(RealImage.id, RealImage.split, RealImage.class_index, RealImage.sha256)
        .where(RealImage.dataset_id == dataset_id).order_by(RealImage.id)))


def _record(session: Session, actor, action: str, dataset: Dataset, meaning: str,
            reason: Optional[str] = None) -> Event:
    images, digest = real_images_digest(session, dataset.id)
    return record_event(session, actor, action, "dataset", dataset.id, meaning.format(n=f"{images:,}", digest=digest),
                        reason, details=dict(dataset=dataset.name, images=images, real_images_sha256=digest,
                                             class_names=list(dataset.class_names or [])))


def record_ingest(session: Session, dataset: Dataset, by: Optional[int] = None) -> Event:
    """The ingest of `dataset`, its image rows inserted, in the caller's `session_scope(immediate=True)`. `by`: the
    account that launched it from the app (a job's `requested_by`), recorded as its actor once it is found still an
    active admin: the machine's login would name the account the worker runs as, not who chose the folder."""
    actor = unsigned_actor() if by is None else require_user(
        session, SimpleNamespace(id=by, name=f"#{by}"), roles=("admin",), action="ingest datasets")
    return _record(session, actor, "ingest", dataset,
                   f"Dataset {dataset.name!r} ingested: {{n}} real images, whose (id, split, class, sha256) rows have "
                   "sha256 {digest}.")


def record_removal(session: Session, dataset: Dataset) -> Event:
    """The removal of `dataset`, before its rows are deleted (the digest says what was removed)."""
    return _record(session, unsigned_actor(), "remove_dataset", dataset,
                   f"Dataset {dataset.name!r} removed: {{n}} real images, whose (id, split, class, sha256) rows had "
                   "sha256 {digest}.")


def seal_dataset(session: Session, dataset: Dataset, user: User, reason: Optional[str] = None) -> Event:
    """An admin records the real images of a dataset the log does not cover (ingested before ingests were recorded)
    as they are now. Refused for a dataset the log covers already: sealing rows that differ from its record would
    make an edit of the table look recorded."""
    lock_log(session)
    actor = require_user(session, user, roles=("admin",), action="seal datasets")
    record = _last_record(session, dataset.id)
    if record is not None and record.action == "remove_dataset":  # SQLite gives a removed dataset's id out again
        raise DecisionError(f"event {record.id} removed the dataset of id {dataset.id}, and no ingest of "
                            f"{dataset.name!r} followed: its rows were written into the database directly, so it is "
                            "not sealed")
    if record is not None:
        raise DecisionError(f"dataset {dataset.name!r}'s real images are recorded already (event {record.id}, "
                            f"{record.action} by {record.actor}); a seal is for a dataset ingested before "
                            "ingests were recorded")
    if _ingested_before(session, dataset.id) is False:
        raise DecisionError(f"dataset {dataset.name!r} was made after ingests were recorded, yet no ingest of it is: "
                            "its rows were written into the database directly, so it is not sealed")
    return _record(session, actor, "seal", dataset,
                   f"Real images of dataset {dataset.name!r} sealed as they are now: {{n}} images, whose (id, split, "
                   "class, sha256) rows have sha256 {digest}.", reason)


def _last_record(session: Session, dataset_id: int) -> Optional[Event]:
    return session.scalars(select(Event).where(Event.target_type == "dataset", Event.target_id == dataset_id,
                                               Event.action.in_(DATASET_RECORDS)).order_by(Event.id.desc()).limit(1)
                           ).first()


def _ingested_before(session: Session, dataset_id: int, log: Optional[LogState] = None) -> Optional[bool]:
    """Whether a dataset with no record can be one ingested before ingests were recorded: its id is below that of
    the first dataset whose ingest is recorded (ids only grow). None while no ingest is recorded at all."""
    first = log.first_ingest if log is not None else session.scalar(
        select(func.min(Event.target_id)).where(Event.target_type == "dataset", Event.action == "ingest"))
    return None if first is None else dataset_id < first


def real_images_standing(session: Session, dataset_id: int, log: LogState,
                         rows: Optional[list] = None) -> tuple[str, Optional[int]]:
    """(RECORDED, NOT_COVERED or DIFFERS, the event that recorded the images) for the dataset's real images against
    `log`, the replayed log. `rows`: its rows' (id, split, class, sha256, ...) in id order, where the caller read
    them already (the gate: one read of 100,000 rows took ≈ 1 s on a busy 2-core machine, 2026-12-07)."""
    record = log.datasets.get(dataset_id)
    if record is None:
        # A row inserted by hand after ingests began to be recorded would otherwise pass for an old dataset.
        return (DIFFERS if _ingested_before(session, dataset_id, log) is False else NOT_COVERED), None
    event_id, action, details = record
    if action == "remove_dataset":  # a dataset of that id was removed, and no ingest reused the id since
        return DIFFERS, event_id
    digest = real_images_digest(session, dataset_id)[1] if rows is None else digest_rows(r[:4] for r in rows)[1]
    agrees = digest == details.get("real_images_sha256") and renamed(session, dataset_id, details) is None
    return (RECORDED if agrees else DIFFERS), event_id


def renamed(session: Session, dataset_id: int, details: dict) -> Optional[list[str]]:
    """The dataset's class names in the datasets table where they differ from those its ingest or seal recorded (in
    `details`; recorded since 2026-12-07, None before), else None. The digest covers class indices only: names swapped
    in the table by one UPDATE made an export put class 8's images in a folder named "9" (and its classes.csv say so),
    and `audit verify` said ok."""
    recorded = details.get("class_names")
    if recorded is None:
        return None
    names = list(session.scalar(select(Dataset.class_names).where(Dataset.id == dataset_id)) or [])
    return None if names == list(recorded) else names


def not_covered(session: Session, log: LogState) -> list[str]:
    """For `audit verify`: the names of the datasets ingested before ingests were recorded and not sealed since (an
    upgraded home's), whose real images the log does not cover yet; `ok` alone left a team unaware a seal was due."""
    # Only a dataset the log holds no record of can be one; those it does were hashed by `dataset_mismatches`.
    return [name for dataset_id, name in session.execute(select(Dataset.id, Dataset.name).order_by(Dataset.id))
            if dataset_id not in log.datasets and real_images_standing(session, dataset_id, log)[0] == NOT_COVERED]


def dataset_mismatches(session: Session, log: LogState) -> list[str]:
    """For `audit verify`: each dataset whose real images differ from what the log recorded, one line each."""
    out = []
    for dataset_id, name in session.execute(select(Dataset.id, Dataset.name).order_by(Dataset.id)):
        standing, event_id = real_images_standing(session, dataset_id, log)
        if standing != DIFFERS:
            continue
        if event_id is None:
            out.append(f"dataset {dataset_id} ({name!r}) was made after ingests were recorded, but the log holds no "
                       "ingest of it: its rows were written into the database directly")
        elif log.datasets[dataset_id][1] == "remove_dataset":
            out.append(f"dataset {dataset_id} ({name!r}) is in the datasets table, but event {event_id} removed it")
        elif (names := renamed(session, dataset_id, log.datasets[dataset_id][2])) is not None:
            out.append(f"dataset {dataset_id} ({name!r})'s class names are {names} in the datasets table, but its "
                       f"{log.datasets[dataset_id][1]} (event {event_id}) recorded "
                       f"{log.datasets[dataset_id][2]['class_names']}")
        else:
            out.append(f"dataset {dataset_id} ({name!r})'s real images no longer match the digest its "
                       f"{log.datasets[dataset_id][1]} (event {event_id}) recorded: a row of real_images was added, "
                       "removed or changed")
    return out
