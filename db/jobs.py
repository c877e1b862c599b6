"""Jobs launched from the app and executed by the worker: queued → running → done / failed / cancelled.

The job row is the single source of truth for state, progress and errors (the task queue only carries job ids).
A running job's worker writes `heartbeat_at` every few seconds; `fail_stale_jobs` turns a job whose heartbeat
stopped into `failed`, so a killed worker never leaves a job "running" forever (on PostgreSQL, not while its worker's
lease holds: `db.job_lease`). Every job time is the database server's (`db_now`): a team's worker, sweeper and pages
run on machines whose own clocks may disagree by minutes.
"""

from __future__ import annotations

import datetime as dt
import shlex
from typing import Optional, Sequence

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.errors import DecisionError
from db.job_lease import leased
from db.models import Batch, Dataset, Job, Run, User, as_utc, db_now
from ganaug_core.shown_text import utc_time

STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL = ("done", "failed", "cancelled")
ACTIVE = ("queued", "running")


def submit_job(session: Session, kind: str, params: dict, submit_key: Optional[str],
               requested_by: Optional[int] = None) -> Job:
    """A new queued job — or the existing one with this submit key (a double click makes one job)."""
    if submit_key:
        existing = session.scalars(select(Job).where(Job.submit_key == submit_key)).first()
        if existing is not None:
            return existing
    job = Job(kind=kind, params=dict(params or {}), submit_key=submit_key or None, requested_by=requested_by,
              status="queued", stats={}, result={}, created_at=db_now(session))
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
    return session.scalars(_jobs_where(select(Job), status, kind).order_by(Job.id.desc()).limit(limit)).all()


def count_jobs(session: Session, status: Optional[str] = None, kind: Optional[str] = None) -> int:
    """How many jobs `list_jobs` would list with no limit."""
    return session.scalar(_jobs_where(select(func.count()).select_from(Job), status, kind)) or 0


def _jobs_where(q, status: Optional[str], kind: Optional[str]):
    if status:
        q = q.where(Job.status == status)
    if kind:
        q = q.where(Job.kind == kind)
    return q


def claim_job(session: Session, job_id: int, worker_pid: int) -> bool:
    """queued → running for this worker; False when the job was cancelled or another worker took it."""
    now = db_now(session)
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status == "queued")
        .values(status="running", worker_pid=worker_pid, started_at=now, heartbeat_at=now)
    )
    return result.rowcount == 1


def request_cancel(session: Session, job_id: int, by: Optional[str] = None) -> Job:
    """A queued job is cancelled at once; a running one is asked to stop (the handler checks between steps).

    `by`, the account that asked (None: the command line), and when go into the job's `result` (`cancelled_by`,
    `cancel_asked`), which a cancelled job has no other use for: the pages say who stopped it and how long it took
    to stop. A job that ends anyway before it sees the request writes its own result over them."""
    job = get_job(session, job_id)
    for _ in range(3):  # queued, then claimed meanwhile: running, then ended meanwhile
        if job.status not in ACTIVE:
            return job
        now = db_now(session)
        values: dict = {}
        if not job.cancel_requested:  # the first request is the one that stopped it
            values["result"] = {**(job.result or {}), "cancelled_by": by or "command line",
                                "cancel_asked": now.isoformat()}
        if job.status == "queued":
            values.update(status="cancelled", finished_at=now, message="cancelled before it started")
        else:
            values["cancel_requested"] = True
        # Written only while the job is as read: on PostgreSQL its worker may have finished it (or claimed it) since,
        # and an unconditional write put this stale result over the finished job's (its run and batches lost).
        # SQLite's immediate transaction keeps the worker out meanwhile.
        done = session.execute(update(Job).where(Job.id == job_id, Job.status == job.status)
                               .values(**values).execution_options(synchronize_session=False)).rowcount
        session.refresh(job)
        if done:
            break
    return job


def cancel_requested(session: Session, job_id: int) -> bool:
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def update_progress(session: Session, job_id: int, progress: float, message: str = "", stats: Optional[dict] = None) -> None:
    values = dict(progress=max(0.0, min(1.0, float(progress))), message=message, heartbeat_at=db_now(session))
    if stats is not None:
        values["stats"] = stats
    session.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(**values))


def note_recorded_batch(session: Session, job_id: int, run_id: int, batch_id: int) -> None:
    """Add a batch to what a running job's progress says it recorded (`stats`: `run_id`, `batch_ids`), in the
    transaction that records the batch. The worker's own report comes after the commit: a worker killed in between
    left a job that named no such batch, failed by the sweep with "submit it again" (making the batch twice)."""
    job = session.get(Job, job_id)
    if job is None or job.status != "running":
        return
    stats = dict(job.stats or {})
    known = [b for b in stats.get("batch_ids") or [] if b != batch_id]
    stats.update(run_id=run_id, batch_ids=[*known, batch_id])
    job.stats = stats


def heartbeat(session: Session, job_id: int) -> bool:
    """The running job's heartbeat, now; False when it is not running."""
    return session.execute(update(Job).where(Job.id == job_id, Job.status == "running")
                           .values(heartbeat_at=db_now(session))).rowcount == 1


def finish_job(session: Session, job_id: int, result: Optional[dict] = None, run_id: Optional[int] = None,
               message: Optional[str] = None) -> None:
    """running → done; `message`: what the job's row says at its end (else its last progress message stays)."""
    values = dict(status="done", progress=1.0, result=result or {}, finished_at=db_now(session))
    if message is not None:
        values["message"] = message
    if run_id is not None:
        values["run_id"] = run_id
    session.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(**values))


def cancel_job(session: Session, job_id: int, message: str = "cancelled on request",
               run_id: Optional[int] = None) -> None:
    """running → cancelled, once the handler has stopped; `run_id`: the run it had started (cancelled, resumable)."""
    values = dict(status="cancelled", message=message, finished_at=db_now(session))
    if run_id is not None:
        values["run_id"] = run_id
    session.execute(update(Job).where(Job.id == job_id, Job.status.in_(("queued", "running"))).values(**values))


def fail_job(session: Session, job_id: int, error: str, run_id: Optional[int] = None,
             result: Optional[dict] = None) -> None:
    """running → failed; `run_id` and `result` ({"batch_ids": [...]}): what it recorded before it failed, which the
    Generate page offers to review and to go on from."""
    values = dict(status="failed", error=error, finished_at=db_now(session))
    if run_id is not None:
        values["run_id"] = run_id
    if result is not None:
        values["result"] = result
    session.execute(update(Job).where(Job.id == job_id, Job.status.in_(("queued", "running"))).values(**values))


def fail_stale_jobs(session: Session, max_age_s: float = 60.0) -> list[int]:
    """Mark running jobs whose last heartbeat is older than `max_age_s` as failed; return their ids.

    A job that had recorded part of its work (its progress names the run and batches, `recorded_part`) keeps them,
    as a job that failed part-way does (`fail_job`): its error says what it recorded and what to launch for the
    rest, and the Generate page offers them. Each row is failed only if it is still running with that old heartbeat
    when the update reaches it: on PostgreSQL another worker's sweep, or the job's own worker back from a server
    restart, may have ended it or beaten since this sweep read it, and its end must not turn into "failed".
    Nor is a job failed while the PostgreSQL server has been up for less than `max_age_s`: its worker, back from the
    restart, beats within HEARTBEAT_S, but the first sweep after it (another worker's, polling every second while
    the server was gone; a page's) came first and failed a job that went on to its end. Nor while its worker's
    lease holds (`db.job_lease`): a worker cut off from the server alone, whose connection the server keeps open.
    The row keeps when it was swept (`stats["swept"]`): a worker that comes back after all runs its job on
    (`back_from_sweep`)."""
    now = db_now(session)
    cutoff = now - dt.timedelta(seconds=max_age_s)
    up_since = server_started(session)
    if up_since is not None and up_since > cutoff:
        return []
    stale = session.execute(select(Job.id, Job.worker_pid, Job.heartbeat_at, Job.kind, Job.params, Job.stats,
                                   Job.run_id).where(Job.status == "running", Job.heartbeat_at < cutoff)).all()
    failed = []
    alive = leased(session, [row[0] for row in stale])
    for job_id, pid, beat, kind, params, stats, run_id in stale:
        if job_id in alive:
            continue
        run, batch_ids = recorded_part(session, run_id or (stats or {}).get("run_id"), (stats or {}).get("batch_ids"))
        last = utc_time(beat) if beat else "never"  # as every line for people gives a time (naive on SQLite)
        died = f"the worker (pid {pid}) stopped sending heartbeats (last: {last}); it probably died"
        left = _left_by_dead_worker(session, kind, params or {}, run, batch_ids)
        values = dict(status="failed", finished_at=now, error=f"{died}. {left}" if left else
                      f"{died} — submit the job again")
        if run is not None:
            values["run_id"] = run.id
        if batch_ids:
            values["result"] = {"batch_ids": batch_ids}
        values["stats"] = {**(stats or {}), "swept": now.isoformat()}
        done = session.execute(update(Job).where(Job.id == job_id, Job.status == "running", Job.heartbeat_at < cutoff)
                               .values(**values).execution_options(synchronize_session=False))
        if done.rowcount == 1:
            failed.append(job_id)
    return failed


def back_from_sweep(session: Session, job_id: int) -> Optional[str]:
    """Running again, the job that a sweep failed while its worker was cut off from the database, now that this
    worker (the only one that ran it: a failed job is never claimed again) reaches the database again; returns
    when it was swept, or None for any other job. Its work goes on and its end is recorded, rather than its run and
    batches meeting a failed row. Not when a later job does its work again (`redone_by`): the failed job told its
    reader to launch it again, and two jobs would then train, generate or score the same thing."""
    job = session.get(Job, job_id, populate_existing=True)
    swept = (job.stats or {}).get("swept") if job is not None and job.status == "failed" else None
    if not isinstance(swept, str) or redone_by(session, job) is not None:
        return None
    stats = {k: v for k, v in job.stats.items() if k != "swept"}
    as_swept = (Job.id == job_id, Job.status == "failed", Job.finished_at == job.finished_at)
    done = session.execute(update(Job).where(*as_swept)
                           .values(status="running", error=None, finished_at=None, stats=stats,
                                   heartbeat_at=db_now(session)).execution_options(synchronize_session=False))
    return swept if done.rowcount == 1 else None


REDONE_SCAN = 500  # later jobs looked at for one that does a swept job's work again


def redone_by(session: Session, job: Job) -> Optional[int]:
    """The first job submitted after `job`, not cancelled, that does its work again: the same kind and parameters (a
    retry: "submit the job again", the Review page's "Compute scores"), or one that goes on from the run `job`
    trained or generated from ("Resume run N", "Generate the rest from run N"); None when there is none."""
    run_id = job.run_id or (job.stats or {}).get("run_id")
    later = session.scalars(select(Job).where(Job.id > job.id, Job.status != "cancelled")
                            .order_by(Job.id).limit(REDONE_SCAN))
    for other in later:
        params = other.params or {}
        if other.kind == job.kind and params == (job.params or {}):
            return other.id
        if run_id is not None and (params.get("resume_run") == run_id
                                   or (other.kind == "generate" and params.get("run_id") == run_id)):
            return other.id
    return None


def server_started(session: Session) -> Optional[dt.datetime]:
    """When the PostgreSQL server last started (its clock, as `db_now`); None on SQLite, a file with no server."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return as_utc(session.scalar(text("SELECT pg_postmaster_start_time()")))


def recorded_part(session: Session, run_id, batch_ids) -> tuple[Optional[Run], list[int]]:
    """The run and batches a running job's progress names (`ganaug.job_handlers.recording`), as recorded: a run
    its worker discarded (it never trained a step) is no run, and only that run's batches count."""
    run = session.get(Run, run_id) if isinstance(run_id, int) else None
    wanted = [b for b in batch_ids or [] if isinstance(b, int)]
    if run is None or not wanted:
        return run, []
    found = set(session.scalars(select(Batch.id).where(Batch.id.in_(wanted), Batch.run_id == run.id)))
    return run, [b for b in wanted if b in found]


def _left_by_dead_worker(session: Session, kind: str, params: dict, run: Optional[Run],
                         batch_ids: list[int]) -> Optional[str]:
    """What a job whose worker died had recorded and what to launch for the rest, since the whole job again would
    train anew and generate its batches a second time; None when it recorded nothing to go on from."""
    trained = kind == "train_generate"
    if run is None or (not batch_ids and (not trained or (run.status != "done" and not run.checkpoint_path))):
        return None
    names = [str(n) for n in session.get(Dataset, run.dataset_id).class_names]
    classes = [int(c) for c in params.get("classes") or
               ([params["class_index"]] if params.get("class_index") is not None else [])]
    named = [names[c] if 0 <= c < len(names) else str(c) for c in classes]
    made, rest = named[:len(batch_ids)], named[len(batch_ids):]  # a job generates its classes in order
    recorded = []
    if trained:
        checkpoint = f"last checkpoint {run.checkpoint_path}" if run.checkpoint_path else "no checkpoint"
        recorded.append(f"run {run.id} (trained {run.step or 0:,} steps; {checkpoint})")
    if batch_ids:
        many = len(batch_ids) > 1
        recorded.append(f"{listed('batch', batch_ids)} ({listed('class', made)}), "
                        f"which await{'' if many else 's'} review")
    again = " and ".join(filter(None, ["train anew" if trained else "",
                                       f"generate {listed('class', made)} again" if batch_ids else ""]))
    said = f"Before that, the job recorded {' and '.join(recorded)}: submitting it again would {again}."
    if trained and run.status != "done":
        return (f"{said} Resume run {run.id} instead: `ganaug train --resume {run.id}`, or “Start from run” "
                f"{run.id} on the Generate page.")
    if rest:
        n = params.get("per_class", params.get("n"))
        said += (f" Generate only {listed('class', rest)} from run {run.id} instead: “Generate the rest from run "
                 f"{run.id}” on the Generate page, or `ganaug generate --run {run.id} --class {shlex.quote(rest[0])}"
                 f"{f' --n {n}' if n else ''}`{' for each of them' if len(rest) > 1 else ''}.")
    unscored = [] if params.get("score", True) is False else list(session.scalars(
        select(Batch.id).where(Batch.id.in_(batch_ids), Batch.scores_computed.is_(False)).order_by(Batch.id)))
    if unscored:
        said += (f" Measure {listed('batch', unscored)}, not scored yet: "
                 f"{', '.join(f'`ganaug evaluate batch {b}`' for b in unscored)}, or “Compute scores” on the Review "
                 "page.")
    return said


def listed(noun: str, items: Sequence) -> str:
    """'class 7', 'batches 12, 13'."""
    return f"{noun}{'es' * (len(items) > 1)} {', '.join(map(str, items))}"


def freshest_heartbeat(session: Session) -> Optional[dt.datetime]:
    """The newest heartbeat of a running job (UTC, on the database's clock: compare it with `db_now`), or None when
    none runs: a worker of this database is at work, whichever machine it runs on."""
    return as_utc(session.scalar(select(func.max(Job.heartbeat_at)).where(Job.status == "running")))


def first_line(error: Optional[str]) -> str:
    """What a failed job's error says in one line: the worker stores the details (a traceback) below it."""
    return (error or "").strip().split("\n", 1)[0]


def jobs_ahead(session: Session, job_id: int) -> list[int]:
    """The jobs the worker runs before this queued one: those running, and those queued before it (the worker takes
    the oldest first)."""
    return list(session.scalars(select(Job.id).where(
        Job.id != job_id, (Job.status == "running") | ((Job.status == "queued") & (Job.id < job_id)))
        .order_by(Job.id)))


def queue_rows(session: Session, kinds: Sequence[str] = (), limit: int = 20) -> list[dict]:
    """The newest jobs (of `kinds`, or all), each with who launched it (`actor`; the command line launches without
    an account), when it was queued, started and ended, and its error's first line."""
    q = select(Job, User.name).outerjoin(User, Job.requested_by == User.id)
    if kinds:
        q = q.where(Job.kind.in_(kinds))
    return [_row(j, name) for j, name in session.execute(q.order_by(Job.id.desc()).limit(limit))]


def job_detail(session: Session, job_id: int) -> Optional[dict]:
    """One job as `queue_rows` gives it, with its live fields too (stats, error details, heartbeat, cancel flag)."""
    found = session.execute(select(Job, User.name).outerjoin(User, Job.requested_by == User.id)
                            .where(Job.id == job_id)).first()
    if found is None:
        return None
    job, name = found
    return {**_row(job, name), "kind": job.kind, "stats": dict(job.stats or {}), "details": job.error or "",
            "heartbeat": as_utc(job.heartbeat_at), "cancel_requested": job.cancel_requested}


def _row(j: Job, actor: Optional[str]) -> dict:
    return dict(job=j.id, status=j.status, actor=actor or "command line", created=as_utc(j.created_at),
                started=as_utc(j.started_at), finished=as_utc(j.finished_at), progress=round(j.progress or 0.0, 3),
                message=j.message or "", run=j.run_id, error=first_line(j.error), params=dict(j.params or {}),
                result=dict(j.result or {}), actor_id=j.requested_by)


def after_training_s(session: Session, kind: str, dataset: str, scan: int = 50) -> Optional[dict]:
    """How long the newest finished job of `kind` on `dataset` took after its run's training (generating and
    scoring): {"job": id, "seconds": s}, or None when no such job finished yet."""
    rows = session.execute(select(Job, Run.created_at, Run.finished_at).join(Run, Job.run_id == Run.id)
                           .where(Job.kind == kind, Job.status == "done").order_by(Job.id.desc()).limit(scan))
    for job, run_start, run_end in rows:
        if (job.params or {}).get("dataset") == dataset and run_end is not None and job.finished_at is not None:
            return {"job": job.id, "seconds": max(0.0, (as_utc(job.finished_at) - as_utc(run_end)).total_seconds())}
    return None


def runs_with_checkpoint(session: Session, run_ids: Sequence[int]) -> set[int]:
    """Those of `run_ids` that saved a checkpoint: a job can resume them or generate from them."""
    return set(session.scalars(select(Run.id).where(Run.id.in_(list(run_ids)), Run.checkpoint_path.is_not(None))))
