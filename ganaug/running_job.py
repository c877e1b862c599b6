"""A job while a worker runs it (`RunningJob`): its heartbeats and, on PostgreSQL, its lease; its progress, written at
most twice a second with when its stage started; its cancel flag; and the timings that pace them, which the
environment may set (GANAUG_HEARTBEAT_S, GANAUG_STALE_AFTER_S: README, "Configuration").

The worker (`ganaug.worker`) claims a job, runs its handler inside a `RunningJob` and records its end. A heartbeat
older than STALE_AFTER_S is a dead worker's: the sweeps fail its job. A worker cut off from the database that a sweep
failed runs the job on, or stops it for the later job that does its work again (`back_again`). The times it writes
(heartbeats, a stage's start) are on the database server's clock (`db.models.db_now`), not its machine's.

The timings are read from this module when used (`running_job.HEARTBEAT_S`), by the worker too: a test shortens them
here, in one place.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
import threading
import time
import traceback
from typing import Callable, Optional

from sqlalchemy.orm import Session

from db.engine import database_failure, get_engine, session_scope
from db.job_lease import JobLease
from db.jobs import back_from_sweep, cancel_requested, heartbeat, redone_by, update_progress
from db.models import Job, db_now
from ganaug.errors import UserError
from ganaug.job_messages import progress_message
from ganaug_core.progress import Progress
from ganaug_core.shown_text import utc_time


def _seconds_from(variable: str, default: float) -> float:
    """A duration the environment may set (README, "Configuration"; the tests shorten them): a value that is no
    number of seconds > 0 is bad input naming the variable; `float()` had stopped `jobs list`, `worker` and `app`
    with a traceback."""
    text = os.environ.get(variable) or None  # set but empty: as if unset
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise UserError(f"{variable} must be a number of seconds > 0 (default {default:g}), got {text!r}")
    return value


HEARTBEAT_S = _seconds_from("GANAUG_HEARTBEAT_S", 5.0)
STALE_AFTER_S = _seconds_from("GANAUG_STALE_AFTER_S", 60.0)
PROGRESS_EVERY_S = 0.5
CANCEL_CHECK_S = 1.0  # a running job reads its cancel flag at most this often


class RunningJob:
    """Heartbeats, throttled progress and the cancel flag of one running job, and on PostgreSQL its lease
    (`db.job_lease`): no sweep fails the job while this worker's connection holds it, as a cut network leaves it."""

    def __init__(self, job_id: int, stop_event: threading.Event):
        self.job_id = job_id
        self.stop_event = stop_event
        self.done = threading.Event()
        self._last_progress = 0.0
        self._stage: Optional[tuple] = None  # (stage, phase, fraction when it started, monotonic when, last fraction)
        self._stage_at: Optional[str] = None  # when the stage started on the database's clock, from its first write
        self._last_cancel_check = 0.0
        self._cancelled = False
        self._lost: Optional[str] = None  # why the database fails, while this job's own writes fail
        self.redone_by: Optional[int] = None  # the later job doing this one's work, after a sweep failed this one
        self.lease = JobLease(get_engine(), job_id)
        self._beat = threading.Thread(target=self._heartbeats, daemon=True, name=f"heartbeat-{job_id}")

    def __enter__(self):
        self._beat.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self._beat.join(timeout=HEARTBEAT_S + 5)
        self.lease.release()

    def _heartbeats(self) -> None:
        try:
            self.lease.hold()
            while not self.done.wait(HEARTBEAT_S):
                try:
                    self._write(self._beat_once)
                    if self._lost is None:
                        self.lease.hold()  # again after a cut, whose lease the server may have dropped since
                except Exception:  # a missed beat is survivable; the next one will try again
                    traceback.print_exc()
        finally:  # a lease this thread took after `__exit__` stopped waiting for it (a connect timeout) and released
            self.lease.release()

    def _beat_once(self, s: Session) -> None:
        if not heartbeat(s, self.job_id):  # no longer running: perhaps swept while this worker was cut off
            self.redone_by = back_again(s, self.job_id)

    def _write(self, record: Callable[[Session], None]) -> None:
        """`record(session)` in a write session. A database that fails (a PostgreSQL server restarting or out of
        reach) skips this write and says so once: the job goes on, and its next beat or report tries again. The
        job's own reads and writes (a run's step, a batch) fail it if the server is still gone when they come."""
        try:
            with session_scope(immediate=True) as s:
                record(s)
        except Exception as e:
            message = database_failure(e)
            if message is None:
                raise
            if self._lost is None:
                print(f"worker: job {self.job_id} goes on without its heartbeat and progress: {message}",
                      file=sys.stderr, flush=True)
            self._lost = message
            return
        if self._lost is not None:
            print(f"worker: job {self.job_id}: the database answers again", file=sys.stderr, flush=True)
            self._lost = None

    def progress(self, p: Progress) -> None:
        now = time.monotonic()
        final = p.total and p.done >= p.total
        fraction = p.done / p.total if p.total else 0.0
        self._stage_start(p, fraction, now)  # before the throttle: a stage's first report may not be written
        if now - self._last_progress < PROGRESS_EVERY_S and not final:
            return
        if self._lost is not None and not final:  # the heartbeat thread tries the database meanwhile: a try here
            return  # held the job up for the connect timeout at each report, on a network that drops packets (10 s)
        self._last_progress = now

        def record(s: Session) -> None:
            started = self._stage_started(s, now)
            stats = json.loads(json.dumps({"stage": p.stage, **(p.stats or {}), **started}, default=float))
            update_progress(s, self.job_id, fraction, progress_message(p), stats)

        self._write(record)

    def _stage_start(self, p: Progress, fraction: float, now: float) -> None:
        """Note when (`now`, monotonic) the bar's current stretch began and where: a new stage or phase, or a bar
        that went back, starts one. The pages divide what moved since by the time it took."""
        key = (p.stage, (p.stats or {}).get("phase"))
        if self._stage is None or self._stage[:2] != key or fraction < self._stage[4]:
            self._stage, self._stage_at = (*key, fraction, now, fraction), None
        else:
            self._stage = (*self._stage[:4], fraction)

    def _stage_started(self, session, now: float) -> dict:
        """The stretch's start for the row: the time it has run by this machine's monotonic clock, counted back
        from the database's now (the pages count on, on that clock), once per stretch so every write says the same."""
        if self._stage_at is None:
            began = db_now(session) - dt.timedelta(seconds=now - self._stage[3])
            self._stage_at = began.isoformat()
        return {"stage_started": self._stage_at, "stage_from": self._stage[2]}

    @property
    def cancelled(self) -> bool:
        """Whether a user asked this job to stop (Cancel), as against the worker itself stopping."""
        return self._cancelled

    def should_stop(self) -> bool:
        if self._cancelled or self.stop_event.is_set() or self.redone_by is not None:
            return True
        now = time.monotonic()
        if now - self._last_cancel_check >= CANCEL_CHECK_S and self._lost is None:  # (as `progress`)
            self._last_cancel_check = now
            try:
                with session_scope() as s:
                    self._cancelled = cancel_requested(s, self.job_id)
            except Exception as e:  # a database that fails asks for nothing: the job goes on (see `_write`)
                if database_failure(e) is None:
                    raise
        return self._cancelled


def back_again(s: Session, job_id: int) -> Optional[int]:
    """The job running again if a sweep failed it while this worker was cut off from the database
    (`db.jobs.back_from_sweep`), saying so in the worker's log; the later job that does its work again instead, when
    there is one (this one then stops: `RunningJob.should_stop`)."""
    swept = back_from_sweep(s, job_id)
    if swept is not None:
        print(f"worker: job {job_id}: a sweep had marked it failed at {utc_time(swept)}, while this worker was out of "
              "reach of the database; it runs on", file=sys.stderr, flush=True)
        return None
    job = s.get(Job, job_id)
    later = redone_by(s, job) if job is not None and job.status == "failed" else None
    if later is not None:
        print(f"worker: job {job_id}: a sweep had marked it failed while this worker was out of reach of the "
              f"database, and job {later} does its work again; this one stops", file=sys.stderr, flush=True)
    return later
