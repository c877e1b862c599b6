"""Jobs: one per submit key, cancel, stale heartbeats → failed, and a real worker running them."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from db.engine import session_scope
from db.jobs import (claim_job, fail_stale_jobs, get_job, heartbeat, list_jobs, request_cancel, submit_job)
from db.models import Job

ROOT = Path(__file__).resolve().parents[2]


def _status(job_id):
    with session_scope() as s:
        return get_job(s, job_id).status


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_same_submit_key_gives_one_job(db):
    with session_scope() as s:
        a = submit_job(s, "sleep", {"seconds": 0}, "key-1").id
    with session_scope() as s:
        b = submit_job(s, "sleep", {"seconds": 1}, "key-1").id
        c = submit_job(s, "sleep", {}, "key-2").id
    assert a == b != c
    with session_scope() as s:
        assert [j.id for j in list_jobs(s)] == [c, a] and get_job(s, a).params == {"seconds": 0}


def test_cancel_queued_at_once_running_on_request(db):
    with session_scope() as s:
        q = submit_job(s, "sleep", {}, "q").id
        r = submit_job(s, "sleep", {}, "r").id
        assert claim_job(s, r, 123) and not claim_job(s, r, 456)
    with session_scope() as s:
        request_cancel(s, q)
        request_cancel(s, r)
    with session_scope() as s:
        assert get_job(s, q).status == "cancelled" and not claim_job(s, q, 1)
        assert get_job(s, r).status == "running" and get_job(s, r).cancel_requested


def test_a_cancelled_job_keeps_the_run_it_started(home, toy):
    from db.jobs import cancel_job
    from tests.db.helpers import make_batch

    with session_scope() as s:
        run_id = make_batch(s, home, toy).run_id  # a run, as a training job leaves one when cancelled
        job = submit_job(s, "train_generate", {}, "t").id
        claim_job(s, job, 1)
        cancel_job(s, job, run_id=run_id)
    with session_scope() as s:
        assert (get_job(s, job).status, get_job(s, job).run_id) == ("cancelled", run_id)


def test_a_handler_that_stops_by_raising_is_cancelled_not_failed(home, monkeypatch):
    """The benchmark stops between two arms by raising InterruptedError: a cancel, not a failure."""
    from ganaug import worker
    from ganaug.job_handlers import HANDLERS

    def stops_by_raising(params, progress, should_stop):
        while not should_stop():
            time.sleep(0.02)
        raise InterruptedError("benchmark cancelled")

    monkeypatch.setitem(HANDLERS, "raises_on_stop", stops_by_raising)
    job_id = _cancel_while_running(worker, monkeypatch, "raises_on_stop", {})
    with session_scope() as s:
        job = get_job(s, job_id)
        assert (job.status, job.error, job.message) == (
            "cancelled", None, "cancelled on request before it finished; it recorded nothing")


def _cancel_while_running(worker, monkeypatch, kind: str, params: dict) -> int:
    """Submit a job of `kind`, let a worker thread run it, ask to cancel it once running, wait for its end."""
    monkeypatch.setattr(worker, "HEARTBEAT_S", 0.1)
    job_id = worker.submit(kind, params, submit_key=kind)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, kwargs=dict(stop_event=stop, poll_s=0.05))
    thread.start()
    try:
        _wait_for(lambda: _status(job_id) == "running")
        with session_scope() as s:
            request_cancel(s, job_id)
        _wait_for(lambda: _status(job_id) not in ("queued", "running"), timeout=30)
    finally:
        stop.set()
        thread.join(timeout=30)
    return job_id


def test_stale_heartbeat_fails_the_job(db):
    with session_scope() as s:
        old = submit_job(s, "sleep", {}, "old").id
        fresh = submit_job(s, "sleep", {}, "fresh").id
        claim_job(s, old, 11)
        claim_job(s, fresh, 12)
        s.get(Job, old).heartbeat_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=120)
    with session_scope() as s:
        heartbeat(s, fresh)
        assert fail_stale_jobs(s, max_age_s=60) == [old]
    with session_scope() as s:
        assert get_job(s, old).status == "failed" and "stopped sending heartbeats" in get_job(s, old).error
        assert get_job(s, fresh).status == "running"


def test_submitted_job_runs_in_immediate_mode(home, monkeypatch):
    from ganaug import worker

    monkeypatch.setenv("GANAUG_JOBS_IMMEDIATE", "1")
    job_id = worker.submit("sleep", {"seconds": 0.05, "steps": 3}, submit_key="k")
    with session_scope() as s:
        job = get_job(s, job_id)
        assert (job.status, job.progress, job.result) == ("done", 1.0, {"slept_steps": 3, "stopped": False})
        assert job.started_at is not None and job.finished_at is not None and job.worker_pid == os.getpid()
    assert worker.submit("sleep", {}, submit_key="k") == job_id  # a double click: still one job, not rerun


def test_worker_picks_up_table_jobs_and_records_failures(home):
    from ganaug.worker import run_worker

    with session_scope() as s:
        ok = submit_job(s, "sleep", {"seconds": 0.01, "steps": 2}, "ok").id
        bad = submit_job(s, "sleep", {"seconds": 0.01, "steps": 1, "fail": "disk full"}, "bad").id
        unknown = submit_job(s, "no-such-kind", {}, "unknown").id
    assert run_worker(once=True, poll_s=0.01) == 3
    with session_scope() as s:
        assert get_job(s, ok).status == "done"
        assert get_job(s, bad).status == "failed" and get_job(s, bad).error.startswith("RuntimeError: disk full")
        assert get_job(s, unknown).status == "failed" and "unknown job kind" in get_job(s, unknown).error


def test_worker_does_not_run_jobs_of_an_account_disabled_since_they_were_queued(people):
    from db.users import set_active
    from ganaug.worker import run_worker

    params = {"seconds": 0.01, "steps": 1}
    with session_scope() as s:
        by_rex = submit_job(s, "sleep", params, "rex", requested_by=people["rex"].id).id
        by_ada = submit_job(s, "sleep", params, "ada", requested_by=people["ada"].id).id
        from_cli = submit_job(s, "sleep", params, "cli").id  # the command line queues without an account
    with session_scope(immediate=True) as s:
        set_active(s, "rex", False, by=people["ada"])
    assert run_worker(once=True, poll_s=0.01) == 3
    with session_scope() as s:
        rex_job = get_job(s, by_rex)
        assert rex_job.status == "failed" and rex_job.result in (None, {})
        assert rex_job.error == "account 'rex' is disabled; ask an admin: the job was not run"
        assert get_job(s, by_ada).status == get_job(s, from_cli).status == "done"


def test_running_job_is_cancelled_on_request(home, monkeypatch):
    from ganaug import worker

    job_id = _cancel_while_running(worker, monkeypatch, "sleep", {"seconds": 60, "steps": 600})
    with session_scope() as s:
        job = get_job(s, job_id)
        assert job.status == "cancelled" and job.result == {} and job.finished_at is not None


def test_the_worker_waits_out_a_database_that_went_away(db, capsys):
    # It died on the first OperationalError, and `ganaug app` stopped with it: a PostgreSQL restart ended the app.
    from ganaug import worker
    from tests.db.helpers import database_gone

    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, kwargs=dict(stop_event=stop, poll_s=0.05))
    try:
        with database_gone(db):
            thread.start()
            time.sleep(0.5)
            assert thread.is_alive()
        with session_scope() as s:
            job_id = submit_job(s, "sleep", {"seconds": 0.01, "steps": 1}, "after").id
        _wait_for(lambda: _status(job_id) == "done", timeout=30)
    finally:
        stop.set()
        thread.join(timeout=30)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err  # one line when it went, one when it came back; none per try
    assert err[0].startswith("worker: the database ") and "failed" in err[0] and "trying again every" in err[0]
    assert err[1] == "worker: the database answers again"


@pytest.mark.slow
def test_a_killed_worker_leaves_its_job_failed_not_running(home):
    from ganaug import worker

    job_id = worker.submit("sleep", {"seconds": 120, "steps": 1200}, submit_key="doomed")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GANAUG_HEARTBEAT_S": "0.2", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ganaug", "worker", "--poll", "0.1"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: _status(job_id) == "running", timeout=120)
        time.sleep(0.6)
        with session_scope() as s:
            assert fail_stale_jobs(s, max_age_s=1.5) == []  # alive: heartbeats keep it running
            assert get_job(s, job_id).worker_pid == proc.pid
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    time.sleep(1.6)
    with session_scope() as s:
        assert fail_stale_jobs(s, max_age_s=1.5) == [job_id]
    assert _status(job_id) == "failed"


@pytest.mark.slow
def test_worker_trains_and_generates_through_the_real_engine(digits):
    """The handler registry against the real engine: a tiny run and one batch of the rarest class (scoring is
    left to the evaluation tests: it trains a feature extractor and fits UMAP, tens of seconds here)."""
    from db.models import Batch
    from ganaug.runs import final_diversity
    from ganaug.worker import run_worker, submit

    # A threshold of 1 flags every class whose samples vary less than its real images.
    config = dict(resolution=16, steps=4, batch_size=8, width=8, grid_every=4, ckpt_every=4, diversity_every=4,
                  diversity_threshold=1.0)
    job_id = submit("train_generate", dict(dataset=digits, config=config, classes=[9], per_class=4, seed=5,
                                                score=False),
                    submit_key="tiny")
    assert run_worker(once=True, poll_s=0.01) == 1
    with session_scope() as s:
        job = get_job(s, job_id)
        assert job.status == "done", job.error
        assert job.run_id == job.result["run_id"] and len(job.result["batch_ids"]) == 1
        batch = s.get(Batch, job.result["batch_ids"][0])
        assert (batch.class_index, batch.count, batch.status, batch.scores_computed) == (9, 4, "pending", False)
        assert job.progress == 1.0 and job.heartbeat_at is not None
    ratios, flagged = final_diversity(job.run_id)
    assert job.result["collapsed_classes"] == flagged == [c for c, v in ratios.items() if v < 1.0] != []


def test_a_failed_job_says_one_line_naming_the_problem_then_the_traceback(home):
    import errno

    from db.jobs import first_line
    from ganaug.worker import job_error, run_worker

    with session_scope() as s:
        gone = submit_job(s, "generate", {"run_id": 999, "classes": [1], "per_class": 2}, "gone").id
    assert run_worker(once=True, poll_s=0.01) == 1
    with session_scope() as s:
        error = get_job(s, gone).error
    # It was "UserError: unknown run 999" followed by the traceback, all of it on the page.
    assert first_line(error) == "unknown run 999" and "Traceback" in error.split("\n", 1)[1]
    try:
        raise OSError(errno.ENOSPC, "No space left on device", "/home/runs/000003/checkpoints/c.pt")
    except OSError as e:
        full = first_line(job_error(e))
    assert full == ("no space left on the disk writing /home/runs/000003/checkpoints/c.pt: free some space there "
                    "(GANAUG_HOME holds runs and batches), then launch the job again")


def test_the_queue_says_who_launched_each_job_and_what_runs_before_it(people):
    from db.jobs import jobs_ahead, queue_rows

    with session_scope() as s:
        first = submit_job(s, "sleep", {}, "a", requested_by=people["rex"].id).id
        second = submit_job(s, "sleep", {}, "b").id
        third = submit_job(s, "sleep", {}, "c", requested_by=people["ada"].id).id
        claim_job(s, first, 1)
    with session_scope() as s:
        assert jobs_ahead(s, third) == [first, second] and jobs_ahead(s, second) == [first]
        rows = queue_rows(s, ("sleep",))
        assert [(r["job"], r["actor"], r["status"]) for r in rows] == [
            (third, "ada", "queued"), (second, "command line", "queued"), (first, "rex", "running")]
        assert rows[2]["started"] is not None and rows[2]["started"].tzinfo is not None


def test_a_running_worker_says_it_is_alive_and_a_stopped_one_does_not(home, monkeypatch):
    from ganaug import worker

    monkeypatch.setattr(worker, "HEARTBEAT_S", 0.1)
    assert worker.worker_seen_s() is None  # never started: the page says no worker runs
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, kwargs=dict(stop_event=stop, poll_s=0.05))
    thread.start()
    try:
        _wait_for(lambda: worker.worker_seen_s() is not None)
        assert worker.worker_seen_s() < 5
    finally:
        stop.set()
        thread.join(timeout=30)
    assert worker.worker_seen_s() is None


def test_a_cancelled_job_says_where_its_run_stopped_and_how_to_resume(home, toy):
    from db.models import Run
    from ganaug.worker import cancel_message
    from tests.db.helpers import make_batch

    with session_scope() as s:
        run = s.get(Run, make_batch(s, home, toy).run_id)
        run.status, run.step, run.total_steps = "cancelled", 114, 3000
        run.checkpoint_path = "runs/x/checkpoints/checkpoint-0000114.pt"
        said = cancel_message(s, run.id, [])
        assert said == (f"cancelled at step 114 of 3,000: run {run.id} keeps its checkpoint and can be resumed "
                        f"(`ganaug train --resume {run.id}`, or “Start from run” on the Generate page)")
        run.status = "done"
        assert cancel_message(s, run.id, [4, 5]) == (f"cancelled after training: run {run.id} finished (114 steps) and "
                                                     "can generate more; batches 4, 5 made before it await review")
