"""The job worker: runs queued jobs outside the web process and keeps their rows current.

The database's job table is the queue: `submit` (or the app's `db.jobs.submit_job`) records a queued row, and every
worker of that database, on any machine, takes the oldest queued job from it; `claim_job` makes a job run once
however many workers see it. (An earlier version also queued job ids in a Huey SQLite file under GANAUG_HOME, which
every worker polled each second: a shared home on a network mount is no place for SQLite's locks, and the table
already held every job.) While a job runs, a thread writes its heartbeat every HEARTBEAT_S seconds
(`ganaug.running_job`: the job's heartbeats, lease, progress and cancel flag, and these timings); every worker
sweeps running jobs whose heartbeat is older than STALE_AFTER_S into `failed` (a killed worker's job), and the runs
whose training process is gone (`fail_abandoned_runs`); not while the database fails, nor for STALE_AFTER_S after it
answers again, so that the workers it cut off have beaten again. On PostgreSQL a worker holds a lease on its running
job (`db.job_lease`), which spares the job while the server keeps the worker's connection (a network cut between them
alone), and a worker back after a sweep failed its job anyway runs it on (`db.jobs.back_from_sweep`).
Progress reaches the row at most twice a second. A job queued from the app is failed without running when its
account has been disabled since. A failed job's error is one line naming the problem, then its traceback. A
job cancelled while it runs stops at the handler's next safe point; a handler that stopped says what it finished
in its result's `stopped`, and the job's message repeats it (the words: `ganaug.job_messages`). Each progress row records when its stage started
(`stage_started`, `stage_from` in the stats), so every page estimates the time left alike. The job times it writes
(heartbeats, a stage's start) are on the database server's clock (`db.models.db_now`), not its machine's: on a team,
other machines' sweeps and pages compare them with that clock.

Each running worker touches its own file under GANAUG_HOME/workers/ every HEARTBEAT_S seconds, so that the app can
tell "no worker" from "busy" (`ganaug.worker_alive`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from types import SimpleNamespace
from typing import Callable, Optional, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import database_failure, once_answering, session_scope
from db.jobs import cancel_job, claim_job, fail_job, fail_stale_jobs, finish_job, get_job, submit_job
from db.models import Job
from ganaug import running_job  # its timings read at each use, as set there (a test shortens them there)
from ganaug.abandoned_runs import fail_abandoned_runs
from ganaug.busy_machine import busy_machine_note
from ganaug.job_messages import cancel_message, job_error, worker_stopped_message
from ganaug.running_job import RunningJob, back_again
from ganaug.worker_alive import alive_file, say_alive

TRAINING_JOBS = ("train_generate", "benchmark")  # the jobs that train with torch's threads (a GAN, classifiers)


def submit(kind: str, params: dict, submit_key: Optional[str] = None, requested_by: Optional[int] = None) -> int:
    """Record a queued job; the same submit key gives back the same job, queued once."""
    from ganaug.job_handlers import HANDLERS

    if kind not in HANDLERS:
        from ganaug_core.errors import GanaugError

        raise GanaugError(f"unknown job kind {kind!r}: use one of {', '.join(HANDLERS)}")
    with session_scope(immediate=True) as s:
        return submit_job(s, kind, params, submit_key, requested_by).id


def execute_job(job_id: int, stop_event: Optional[threading.Event] = None, command: str = "ganaug worker"
                ) -> Optional[str]:
    """Run one job if it is still queued; returns its final status (None when someone else had it)."""
    from ganaug.job_handlers import HANDLERS

    stop_event = stop_event or threading.Event()
    with session_scope(immediate=True) as s:
        if not claim_job(s, job_id, os.getpid()):
            return None
        job = get_job(s, job_id)
        kind, params = job.kind, {**(job.params or {}), "job_id": job.id, "requested_by": job.requested_by}
        refusal = _requester_refusal(s, job.requested_by)
        if refusal is not None:
            fail_job(s, job_id, refusal)
            return "failed"
    handler = HANDLERS.get(kind)
    if kind in TRAINING_JOBS:
        _note_busy_machine(command, f"job {job_id}: ", (params.get("config") or {}).get("device", "cpu"))
    if handler is None:
        with session_scope(immediate=True) as s:
            fail_job(s, job_id, f"unknown job kind {kind!r}")
        return "failed"
    # The end is recorded inside: its heartbeats and lease last until then, as a cut network may delay it.
    with RunningJob(job_id, stop_event) as ctx:
        try:
            result = handler(params, ctx.progress, ctx.should_stop)
        except Exception as e:
            if isinstance(e, InterruptedError) and ctx.should_stop():
                # A handler that stops by raising (the benchmark between two arms) was stopped, not broken.
                return _recorded(job_id, stop_event, lambda s: _stopped_by_raising(s, job_id, ctx.cancelled))
            error = job_error(e)
            print(f"worker: job {job_id} failed: {error}", file=sys.stderr, flush=True)
            recorded = _part_recorded(e)
            return _recorded(job_id, stop_event, lambda s: _failed(s, job_id, error, *recorded))
        result = json.loads(json.dumps(result or {}, default=str))
        return _recorded(job_id, stop_event, lambda s: _ended(s, job_id, kind, result, stop_event, ctx))


def _failed(s: Session, job_id: int, error: str, run_id: Optional[int] = None, result: Optional[dict] = None) -> str:
    fail_job(s, job_id, error, run_id, result)
    return "failed"


def _part_recorded(e: BaseException) -> tuple[Optional[int], Optional[dict]]:
    """The run and batches a job that failed part-way recorded (`FailedPartWay`), for its row; else nothing."""
    from ganaug.job_handlers import FailedPartWay

    if not isinstance(e, FailedPartWay):
        return None, None
    return e.run_id, ({"batch_ids": e.batch_ids} if e.batch_ids else None)


def _stopped_by_raising(s: Session, job_id: int, cancelled: bool) -> str:
    if not cancelled:
        fail_job(s, job_id, "the worker was stopped while the job ran; it recorded nothing: submit it again")
        return "failed"
    cancel_job(s, job_id, "cancelled on request before it finished; it recorded nothing")
    return "cancelled"


def _ended(s: Session, job_id: int, kind: str, result: dict, stop_event: threading.Event, ctx: RunningJob) -> str:
    """Record what a handler that returned did: done, cancelled on request, or failed by a worker stopping."""
    stopped = result.get("stopped") if isinstance(result.get("stopped"), str) else None  # what it left undone
    run_id = result.get("run_id") if isinstance(result.get("run_id"), int) else None
    # An ingest is all or nothing: one that returned has committed its dataset, though a stop came just after.
    whole = kind == "ingest"
    if stop_event.is_set() and not ctx.cancelled and not whole:
        fail_job(s, job_id, worker_stopped_message(s, run_id, result.get("batch_ids") or [], stopped,
                                                   trained=kind == "train_generate"))
        return "failed"
    if ctx.should_stop() and not whole:
        cancel_job(s, job_id, cancel_message(s, run_id, result.get("batch_ids") or [], stopped,
                                             trained=kind == "train_generate"), run_id=run_id)
        return "cancelled"
    # A handler's closing words ("ingested 15 images; note: …"), where it has any, replace its last progress.
    message = result.get("message") if isinstance(result.get("message"), str) else None
    finish_job(s, job_id, result, run_id=run_id, message=message)
    return "done"


T = TypeVar("T")


def _recorded(job_id: int, stop_event: threading.Event, record: Callable[[Session], T]) -> T:
    """`record(session)`: a job's end, written once the database answers. A server restarting or out of reach when
    the job ends is waited for rather than leaving the job `running` until a sweep calls its worker dead; a worker
    asked to stop meanwhile gives up, and the sweep fails the job."""
    def again_then_record(s: Session) -> T:
        back_again(s, job_id)
        return record(s)

    return once_answering(again_then_record,
                          f"worker: job {job_id} ended; its end is recorded once the database answers again",
                          give_up=stop_event.is_set)


def _requester_refusal(session, user_id: Optional[int]) -> Optional[str]:
    """Why the account that queued a job may not have it run now (disabled or deleted since), or None.

    The pages check the account before queueing; a job can wait in the queue while an admin disables it. Jobs
    queued from the command line carry no account and run as before."""
    if user_id is None:
        return None
    from db.errors import DecisionError
    from db.models import User
    from db.users import require_user

    row = session.get(User, user_id)
    try:
        require_user(session, row or SimpleNamespace(id=user_id, name=f"#{user_id}"), action="run jobs")
    except DecisionError as e:
        return f"{e}: the job was not run"
    return None


def _next_table_job() -> Optional[int]:
    with session_scope() as s:
        return s.scalar(select(Job.id).where(Job.status == "queued").order_by(Job.id).limit(1))


def run_worker(stop_event: Optional[threading.Event] = None, poll_s: float = 1.0, once: bool = False,
               command: str = "ganaug worker") -> int:
    """Run jobs until `stop_event` is set (or, with `once`, until the queue is empty); returns jobs run.

    In the main thread, SIGTERM and SIGINT set the stop event, so `ganaug app` can stop its worker cleanly. `command`
    started it (`ganaug worker`, or `ganaug app` or `ganaug demo` for theirs): the busy-machine note names it.
    """
    stop_event = stop_event or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, lambda *_: stop_event.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    _note_busy_machine(command)
    alive = threading.Event()
    beat = threading.Thread(target=say_alive, args=(alive, alive_file(), running_job.HEARTBEAT_S), daemon=True,
                            name="worker-alive")
    beat.start()
    try:
        return _work(stop_event, poll_s, once, command)
    finally:
        alive.set()
        beat.join(timeout=running_job.HEARTBEAT_S + 5)
        for sig, handler in previous.items():  # an embedding process (a test, a shell) gets its Ctrl-C back
            signal.signal(sig, handler)


def _note_busy_machine(command: str, job: str = "", device: str = "cpu") -> None:
    """Say in the worker's log, as it starts and as each training job starts, that torch's threads will wait on each
    other (`busy_machine_note`): the app's training then crawls, and only its terminal can say why. It names the
    command that started the worker, which has its environment (a standalone one was told to restart `ganaug app`)."""
    note = busy_machine_note(device, command)
    if note:
        print(f"worker: {job}{note}", file=sys.stderr, flush=True)



def _work(stop_event: threading.Event, poll_s: float, once: bool, command: str) -> int:
    ran = 0
    last_sweep = 0.0
    sweep_from = 0.0  # (monotonic) no sweep before: the workers of running jobs get STALE_AFTER_S to beat again
    lost: Optional[str] = None  # why the database failed, while it does
    while not stop_event.is_set():
        try:
            # Not while the database fails, nor for STALE_AFTER_S after it answers again: this idle worker tries every
            # poll_s and reached it first, and failed the job of a worker whose next heartbeat was seconds away.
            now = time.monotonic()
            if lost is None and now >= sweep_from and now - last_sweep > min(running_job.STALE_AFTER_S / 2, 30):
                with session_scope(immediate=True) as s:
                    fail_stale_jobs(s, running_job.STALE_AFTER_S)
                fail_abandoned_runs()
                last_sweep = time.monotonic()
            job_id = _next_table_job()
            if lost is not None:
                print("worker: the database answers again", file=sys.stderr, flush=True)
                lost, sweep_from = None, time.monotonic() + running_job.STALE_AFTER_S
            if job_id is not None:
                ran += execute_job(job_id, stop_event, command) is not None
                continue
        except Exception as e:
            # A database server restarted or out of reach stops no worker (nor, through it, `ganaug app`): it waits
            # and tries again. One that no wait brings back (a wrong password or URL, a newer ganaug's schema) stops
            # it with its one line: it waited for good, saying "trying again".
            message = database_failure(e)
            if message is None or once or getattr(e, "lasting", False):
                raise
            if lost is None:
                print(f"worker: {message}; trying again every {poll_s:g} s", file=sys.stderr, flush=True)
            lost = message
            stop_event.wait(poll_s)
            continue
        if once:
            break
        stop_event.wait(poll_s)
    return ran
