"""What a queued job's panel says of the worker (pages/jobs.py): no worker, or one that is busy or about to take it,
as seen from this GANAUG_HOME's worker files and from the database's job heartbeats."""

from __future__ import annotations

import datetime as dt
import os
import time

from db.engine import session_scope
from db.jobs import claim_job, submit_job
from db.models import Job
from tests.app.conftest import app_test, worker_beating

NO_WORKER = "No job worker is running"


def _benchmark_job(digits: str, user_id: int) -> int:
    with session_scope(immediate=True) as session:
        return submit_job(session, "benchmark", {"dataset": digits, "arms": ["real"], "seeds": 1, "quick": True},
                          None, requested_by=user_id).id


def _worker_file(home, name: str, age_s: float = 0.0) -> None:
    from ganaug.worker_alive import WORKERS_DIR

    path = home / WORKERS_DIR / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("a worker\n")
    os.utime(path, (time.time() - age_s, time.time() - age_s))


def test_a_queued_job_says_no_worker_runs_only_when_none_is_seen(users, digits, home):
    job = _benchmark_job(digits, users["rita"]["id"])
    at = app_test(users["rita"], "evaluate.py")
    assert any(NO_WORKER in w.value for w in at.warning)
    _worker_file(home, "elsewhere-41-dead.alive", age_s=600)  # a worker killed outright ten minutes ago
    at.run()
    assert any(NO_WORKER in w.value for w in at.warning)
    _worker_file(home, "here-42-live.alive")  # and one that runs
    at.run()
    assert not [w for w in at.warning if NO_WORKER in w.value]
    assert "Waiting for the worker to take it (it looks every second)." in [c.value for c in at.caption]
    with session_scope() as session:
        assert session.get(Job, job).status == "queued"


def test_a_worker_on_another_machine_is_seen_by_the_heartbeat_of_the_job_it_runs(users, digits):
    # A team's worker on another machine (its own GANAUG_HOME, the same PostgreSQL database) left no file here: the
    # page said no worker ran while that worker was busy with the job ahead.
    with session_scope(immediate=True) as session:
        ahead = submit_job(session, "sleep", {"seconds": 60}, None).id
        claim_job(session, ahead, 4242)  # taken by that worker: its heartbeat is fresh
    _benchmark_job(digits, users["rita"]["id"])
    with worker_beating(ahead):
        at = app_test(users["rita"], "evaluate.py")
    assert not [w for w in at.warning if NO_WORKER in w.value]
    assert any(c.value.startswith(f"Queued behind job {ahead}: the worker runs one job at a time") for c in at.caption)
    with session_scope(immediate=True) as session:  # that worker went silent: its last beat is 30 s old
        session.get(Job, ahead).heartbeat_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=30)
    at.run()
    assert any(NO_WORKER in w.value for w in at.warning)
