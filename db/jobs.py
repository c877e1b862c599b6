"""Jobs launched from the app and executed by the worker: queued → running → done / failed / cancelled.

The job row is the single source of truth for state, progress and errors (the task queue only carries job ids).
A running job's worker writes `heartbeat_at` every few seconds; `fail_stale_jobs` turns a job whose heartbeat
stopped into `failed`, so a killed worker never leaves a job "running" forever.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional, Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.errors import DecisionError
from db.models import Job, utcnow

STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL = ("done", "failed", "cancelled")


def submit_job(session: Session, kind: str, params: dict, submit_key: Optional[str],
               requested_by: Optional[int] = None) -> Job:
    """A new queued job — or the existing one with this submit key (a double click makes one job)."""
    if submit_key:
        existing = session.scalars(select(Job).where(Job.submit_key == submit_key)).first()
        if existing is not None:
            return existing
    job = Job(kind=kind, params=dict(params or {}), submit_key=submit_key or None, requested_by=requested_by,
              status="queued", stats={}, result={})
    try:
        with session.begin_nested():  # a concurrent submit with the same key wins; we return its job
            session.add(job)
    except IntegrityError:
        existing = session.scalars(select(Job).where(Job.submit_key == submit_key)).first()
        if existing is None:
            raise
        return existing
    return job


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise DecisionError(f"unknown job {job_id}")
    return job


def list_jobs(session: Session, status: Optional[str] = None, kind: Optional[str] = None, limit: int = 100) -> Sequence[Job]:
    q = select(Job)
    if status:
        q = q.where(Job.status == status)
    if kind:
        q = q.where(Job.kind == kind)
    return session.scalars(q.order_by(Job.id.desc()).limit(limit)).all()


def claim_job(session: Session, job_id: int, worker_pid: int) -> bool:
    """queued → running for this worker; False when the job was cancelled or another worker took it."""
    now = utcnow()
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status == "queued")
        .values(status="running", worker_pid=worker_pid, started_at=now, heartbeat_at=now)
    )
    return result.rowcount == 1


def request_cancel(session: Session, job_id: int) -> Job:
    """A queued job is cancelled at once; a running one is asked to stop (the handler checks between steps)."""
    job = get_job(session, job_id)
    if job.status == "queued":
        job.status, job.finished_at, job.message = "cancelled", utcnow(), "cancelled before it started"
    elif job.status == "running":
        job.cancel_requested = True
    return job


def cancel_requested(session: Session, job_id: int) -> bool:
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def update_progress(session: Session, job_id: int, progress: float, message: str = "", stats: Optional[dict] = None) -> None:
    values = dict(progress=max(0.0, min(1.0, float(progress))), message=message, heartbeat_at=utcnow())
    if stats is not None:
        values["stats"] = stats
    session.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(**values))


def heartbeat(session: Session, job_id: int) -> None:
    session.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(heartbeat_at=utcnow()))


def finish_job(session: Session, job_id: int, result: Optional[dict] = None, run_id: Optional[int] = None) -> None:
    values = dict(status="done", progress=1.0, result=result or {}, finished_at=utcnow())
    if run_id is not None:
        values["run_id"] = run_id
    session.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(**values))


def cancel_job(session: Session, job_id: int, message: str = "cancelled on request",
               run_id: Optional[int] = None) -> None:
    """running → cancelled, once the handler has stopped; `run_id`: the run it had started (cancelled, resumable)."""
    values = dict(status="cancelled", message=message, finished_at=utcnow())
    if run_id is not None:
        values["run_id"] = run_id
    session.execute(update(Job).where(Job.id == job_id, Job.status.in_(("queued", "running"))).values(**values))


def fail_job(session: Session, job_id: int, error: str) -> None:
    session.execute(update(Job).where(Job.id == job_id, Job.status.in_(("queued", "running")))
                    .values(status="failed", error=error, finished_at=utcnow()))


def fail_stale_jobs(session: Session, max_age_s: float = 60.0) -> list[int]:
    """Mark running jobs whose last heartbeat is older than `max_age_s` as failed; return their ids."""
    cutoff = utcnow() - dt.timedelta(seconds=max_age_s)
    stale = session.scalars(select(Job).where(Job.status == "running", Job.heartbeat_at < cutoff)).all()
    for job in stale:
        last = job.heartbeat_at.isoformat(timespec="seconds") if job.heartbeat_at else "never"
        job.status, job.finished_at = "failed", utcnow()
        job.error = (f"the worker (pid {job.worker_pid}) stopped sending heartbeats (last: {last}); "
                     "it probably died — submit the job again")
    session.flush()
    return [j.id for j in stale]
