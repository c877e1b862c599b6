"""Job times come from one clock, the database's: a team's machines (one PostgreSQL database) whose own clocks
disagree by minutes neither fail one another's healthy jobs nor see a dead worker alive nor skew the time left.

Each test runs one "machine" at a time in this process, with its clock set off (`_clock_off`); the unskewed caller
is this machine, whose clock is the server's (same host). SQLite is one machine's file: every process that opens it
reads the same clock, so these cases run on PostgreSQL only (test_jobs.py covers the unskewed ones on both)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from db.engine import session_scope
from db.jobs import (claim_job, fail_stale_jobs, finish_job, get_job, heartbeat, job_detail, submit_job,
                     update_progress)
from db.models import Job

TWO_MINUTES = dt.timedelta(minutes=2)


@pytest.fixture
def team_db(db):
    if not db.startswith("postgresql"):
        pytest.skip("SQLite is one machine's file: its processes share one clock")
    return db


def _clock_off(monkeypatch, by: dt.timedelta, *modules) -> None:
    """This process as a machine whose clock is `by` off: the `datetime.now` of db.models (`utcnow`, the columns'
    defaults) and of `modules`."""
    import db.models

    class Off(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime.now(tz) + by

    for module in (db.models, *modules):
        monkeypatch.setattr(module, "dt", SimpleNamespace(datetime=Off, timezone=dt.timezone, timedelta=dt.timedelta))


def _time_passes(job_id: int, seconds: float) -> None:
    """The job's worker stopped beating `seconds` ago: its last heartbeat moves that far back."""
    with session_scope() as s:
        s.execute(update(Job).where(Job.id == job_id)
                  .values(heartbeat_at=Job.heartbeat_at - dt.timedelta(seconds=seconds)))


def _status(job_id: int) -> str:
    with session_scope() as s:
        return get_job(s, job_id).status


def test_a_worker_whose_clock_runs_behind_keeps_its_running_job(team_db, monkeypatch):
    # Its heartbeats carried its own clock, two minutes behind: another machine's sweep found them two minutes old
    # and marked the healthy job failed.
    with session_scope() as s:
        alive, dead = submit_job(s, "sleep", {}, "alive").id, submit_job(s, "sleep", {}, "dead").id
    with monkeypatch.context() as behind:
        _clock_off(behind, -TWO_MINUTES)
        with session_scope() as s:
            assert claim_job(s, alive, 11) and claim_job(s, dead, 12)
        with session_scope() as s:
            heartbeat(s, alive)
            update_progress(s, alive, 0.5, "sleep 1/2")
    _time_passes(dead, 120)  # that one's worker died two minutes ago
    with session_scope() as s:
        assert fail_stale_jobs(s, max_age_s=60) == [dead]
    assert (_status(alive), _status(dead)) == ("running", "failed")


def test_a_worker_whose_clock_runs_ahead_does_not_look_alive_once_it_died(team_db, monkeypatch):
    # Its last heartbeat carried a time two minutes ahead: for two minutes after it died the pages said a worker was
    # at work, and no sweep failed its job.
    import pages.jobs

    with session_scope() as s:
        job = submit_job(s, "sleep", {}, None).id
    with monkeypatch.context() as ahead:
        _clock_off(ahead, TWO_MINUTES)
        with session_scope() as s:
            assert claim_job(s, job, 21)
        with session_scope() as s:
            heartbeat(s, job)
    assert pages.jobs.worker_at_work()
    _time_passes(job, 30)
    assert not pages.jobs.worker_at_work()
    _time_passes(job, 90)
    with session_scope() as s:
        assert fail_stale_jobs(s, max_age_s=60) == [job]


def test_a_page_whose_clock_runs_ahead_sees_a_live_worker_at_work(team_db, monkeypatch):
    # The page read the worker's fresh heartbeat as two minutes old: "No job worker is running", and the page itself
    # marked the healthy job failed.
    import pages.jobs

    with session_scope() as s:
        job = submit_job(s, "sleep", {}, None).id
        assert claim_job(s, job, 31)
    with session_scope() as s:
        heartbeat(s, job)
    with monkeypatch.context() as ahead:
        _clock_off(ahead, TWO_MINUTES, pages.jobs)
        assert pages.jobs.worker_at_work()
        assert pages.jobs.load_job(job)[0]["status"] == "running"
    assert _status(job) == "running"


def test_the_time_left_does_not_depend_on_the_clocks_of_worker_and_page(team_db, monkeypatch):
    # The worker recorded when a stage started on its own clock, the page counted from it on its own: a worker two
    # minutes behind made every page add two minutes of "took" to a stage that had run a fraction of a second.
    import pages.jobs
    from ganaug import running_job
    from ganaug_core.progress import Progress

    monkeypatch.setattr(running_job, "PROGRESS_EVERY_S", 0.0)
    with session_scope() as s:
        job = submit_job(s, "sleep", {}, None).id
        assert claim_job(s, job, 41)
    began = time.monotonic()
    with monkeypatch.context() as behind:
        _clock_off(behind, -TWO_MINUTES, running_job)
        reports = running_job.RunningJob(job, threading.Event())
        reports.progress(Progress(stage="sleep", done=10, total=100))
        time.sleep(0.2)
        reports.progress(Progress(stage="sleep", done=50, total=100))

    def left() -> float:
        with session_scope() as s:
            return pages.jobs.time_left(job_detail(s, job))

    here = left()
    with monkeypatch.context() as ahead:
        _clock_off(ahead, TWO_MINUTES, pages.jobs)
        there = left()
    took = time.monotonic() - began  # the stage ran at most this long, as any page sees it
    most = took * 0.5 / 0.4 + 1.0  # half the bar left after 0.4 of it moved; a second for the clocks' grain
    assert here is not None and there is not None
    assert 0 < here <= most and 0 < there <= most, (here, there, most)


def test_a_jobs_times_keep_their_order_whatever_the_clocks_of_the_machines_that_wrote_them(team_db, monkeypatch):
    # Launched from a machine two minutes ahead, run by one two minutes behind: the page said it started four minutes
    # before it was launched.
    import pages.jobs

    with monkeypatch.context() as ahead:
        _clock_off(ahead, TWO_MINUTES)
        with session_scope() as s:
            job = submit_job(s, "sleep", {}, None).id
    with monkeypatch.context() as behind:
        _clock_off(behind, -TWO_MINUTES)
        with session_scope() as s:
            assert claim_job(s, job, 51)
        with session_scope() as s:
            finish_job(s, job, {})
    with session_scope() as s:
        row = job_detail(s, job)
    assert row["created"] <= row["started"] <= row["finished"] <= pages.jobs.now()
    assert row["finished"] - row["created"] < dt.timedelta(seconds=30)
