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
from ganaug_core.shown_text import utc_time

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
    from ganaug import running_job

    monkeypatch.setattr(running_job, "HEARTBEAT_S", 0.1)
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


def test_a_sweep_does_not_fail_a_job_its_worker_ended_after_the_sweep_read_it(db):
    # The sweep read the stale rows, then updated each by its id alone: a job its worker finished in between (back
    # from a server restart that outlasted the stale limit) ended "failed", its result kept but its status wrong.
    from sqlalchemy import create_engine, event
    from sqlalchemy.orm import Session

    from db.engine import get_engine
    from db.jobs import finish_job

    if not db.startswith("postgresql"):
        pytest.skip("on SQLite the sweep holds the write lock from its start: nothing ends a job in between")
    with session_scope() as s:
        job_id = submit_job(s, "sleep", {}, None).id
        claim_job(s, job_id, 11)
        s.get(Job, job_id).heartbeat_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=120)
    other = create_engine(db)

    def its_worker_ends_it_first(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE JOBS") and not other_ended:
            other_ended.append(True)
            with Session(other) as s, s.begin():
                finish_job(s, job_id, {"slept_steps": 1})

    other_ended: list[bool] = []
    event.listen(get_engine(), "before_cursor_execute", its_worker_ends_it_first)
    try:
        with session_scope(immediate=True) as s:
            assert fail_stale_jobs(s, max_age_s=60) == []
    finally:
        event.remove(get_engine(), "before_cursor_execute", its_worker_ends_it_first)
        other.dispose()
    assert other_ended
    with session_scope() as s:
        job = get_job(s, job_id)
        assert (job.status, job.error, job.result) == ("done", None, {"slept_steps": 1})


def test_a_submitted_job_is_a_queued_row_that_a_worker_runs_once(home):
    from ganaug import worker

    job_id = worker.submit("sleep", {"seconds": 0.05, "steps": 3}, submit_key="k")
    with session_scope() as s:
        assert get_job(s, job_id).status == "queued"
    assert worker.run_worker(once=True) == 1
    with session_scope() as s:
        job = get_job(s, job_id)
        assert (job.status, job.progress, job.result) == ("done", 1.0, {"slept_steps": 3, "stopped": False})
        assert job.started_at is not None and job.finished_at is not None and job.worker_pid == os.getpid()
    assert worker.submit("sleep", {}, submit_key="k") == job_id  # a double click: still one job, not rerun
    assert worker.run_worker(once=True) == 0
    assert not (home / "huey.db").exists()  # the job table is the only queue: no SQLite file beside it to share


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
        assert job.status == "cancelled" and job.finished_at is not None
        assert job.result["cancelled_by"] == "command line"  # who asked (no account: `ganaug jobs cancel`), and when
        assert set(job.result) == {"cancelled_by", "cancel_asked"}


def test_the_worker_waits_out_a_database_that_went_away(db, capsys):
    # It died on the first OperationalError, and `ganaug app` stopped with it: a PostgreSQL restart ended the app.
    from ganaug import worker
    from tests.db.helpers import database_gone

    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, kwargs=dict(stop_event=stop, poll_s=0.05))
    err: list[str] = []

    def said_it_went() -> bool:  # not a fixed sleep: on a busy machine the worker may take longer to try
        err.extend(capsys.readouterr().err.splitlines())
        return bool(err)

    try:
        with database_gone(db):
            thread.start()
            _wait_for(said_it_went)
            time.sleep(0.2)  # a few more tries, which must add no line
            assert thread.is_alive()
        with session_scope(immediate=True) as s:  # it reads, then writes, while the worker writes too
            job_id = submit_job(s, "sleep", {"seconds": 0.01, "steps": 1}, "after").id
        _wait_for(lambda: _status(job_id) == "done", timeout=30)
    finally:
        stop.set()
        thread.join(timeout=30)
    err += capsys.readouterr().err.splitlines()
    assert len(err) == 2, err  # one line when it went, one when it came back; none per try
    assert err[0].startswith("worker: the database ") and "failed" in err[0] and "trying again every" in err[0]
    assert err[1] == "worker: the database answers again"


def _submit_handler(monkeypatch, handler) -> int:
    from ganaug import job_handlers

    monkeypatch.setitem(job_handlers.HANDLERS, "outage", handler)
    with session_scope() as s:
        return submit_job(s, "outage", {}, None).id


def test_a_running_job_goes_on_through_a_database_restart_between_its_reports(db, monkeypatch, capsys):
    # Its progress write raised OperationalError out of the handler: a PostgreSQL restart failed every running
    # job (scoring, generating, a benchmark) that reported while the server was down, left "running" meanwhile.
    from ganaug import running_job, worker
    from ganaug_core.progress import Progress
    from tests.db.helpers import database_gone

    monkeypatch.setattr(running_job, "PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr(running_job, "CANCEL_CHECK_S", 0.0)

    def handler(params, progress, should_stop):
        with database_gone(db):
            for i in range(3):
                progress(Progress("step", i + 1, 4))
                assert not should_stop()
        progress(Progress("step", 4, 4))
        return {"steps": 4}

    job_id = _submit_handler(monkeypatch, handler)
    assert worker.execute_job(job_id) == "done"
    with session_scope() as s:
        job = get_job(s, job_id)
        assert (job.status, job.progress, job.result, job.message) == ("done", 1.0, {"steps": 4}, "step 4/4")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err  # once when the writes failed, once when they worked again; not a line per report
    assert err[0].startswith(f"worker: job {job_id} goes on without its heartbeat and progress: the database ")
    assert err[1] == f"worker: job {job_id}: the database answers again"


def test_a_job_the_database_failed_is_recorded_failed_in_one_line_once_it_answers(db, monkeypatch):
    # The worker could not record the failure while the server was down: the job stayed "running" until a sweep
    # said its worker "probably died", and the error was SQLAlchemy's OperationalError with its link.
    from sqlalchemy import text

    from db.jobs import first_line
    from ganaug import worker
    from tests.db.helpers import database_gone

    def handler(params, progress, should_stop):
        gone = database_gone(db)
        gone.__enter__()
        threading.Timer(0.3, gone.__exit__, (None, None, None)).start()  # the server comes back later
        with session_scope() as s:
            s.execute(text("SELECT 1"))

    job_id = _submit_handler(monkeypatch, handler)
    assert worker.execute_job(job_id) == "failed"
    with session_scope() as s:
        job = get_job(s, job_id)
    assert job.status == "failed" and job.finished_at is not None
    line = first_line(job.error)
    assert line.startswith("the database ") and " failed: " in line, line
    assert line.endswith(": the job stopped there; launch it again") and "sqlalche.me" not in line, line


def _worker_process(env: dict) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **env}
    try:  # it waited for good: a generous bound, far past a start on a busy machine
        return subprocess.run([sys.executable, "-m", "ganaug", "worker"], cwd=ROOT, env=full, capture_output=True,
                              text=True, timeout=120)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the worker still waits: {e.stderr!r}")


def test_a_worker_on_a_database_a_newer_ganaug_migrated_stops_with_one_line(db, home):
    # It printed the refusal as "…; trying again every 1 s" and waited for good (and `ganaug app` with it): no wait
    # brings an older schema back.
    from sqlalchemy import text

    from db.engine import dispose_engines, get_engine

    with get_engine(db).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    dispose_engines()
    result = _worker_process({"GANAUG_HOME": str(home), "GANAUG_DB_URL": db})
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: the database ") and "has schema revision 0999" in lines[0], lines


def test_a_worker_given_a_wrong_password_stops_with_one_line(db, home):
    from sqlalchemy.engine import make_url

    if not db.startswith("postgresql"):
        pytest.skip("a server's password")
    wrong = make_url(db).set(password="not-the-password").render_as_string(hide_password=False)
    result = _worker_process({"GANAUG_HOME": str(home), "GANAUG_DB_URL": wrong})
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot open the database postgresql+psycopg://") and "***@" in lines[0]
    assert "password authentication failed" in lines[0] and "not-the-password" not in lines[0]


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
    from ganaug.job_messages import job_error
    from ganaug.worker import run_worker

    with session_scope() as s:
        gone = submit_job(s, "generate", {"run_id": 999, "classes": [1], "per_class": 2}, "gone").id
    assert run_worker(once=True, poll_s=0.01) == 1
    with session_scope() as s:
        error = get_job(s, gone).error
    # It was "UserError: unknown run 999" followed by the traceback, all of it on the page.
    assert first_line(error) == "unknown run 999" and "Traceback" in error.split("\n", 1)[1]
    # A full disk in the words a failed run uses (`ganaug.errors`), with what frees space: it said "free some space
    # there (GANAUG_HOME holds runs and batches)", naming none; a quota is one too. A job is read on the app's pages,
    # which run no `ganaug runs prune`: where each run's size shows instead.
    said = []
    for number, reason in ((errno.ENOSPC, "No space left on device"), (errno.EDQUOT, "Disk quota exceeded")):
        try:
            raise OSError(number, reason, "/home/runs/000003/checkpoints/c.pt")
        except OSError as e:
            said.append(first_line(job_error(e)))
    free = "free space on that disk (“Start from run” on the Generate page gives each run's size on disk)"
    assert said == [f"the disk is full (No space left on device: /home/runs/000003/checkpoints/c.pt): {free}, then "
                    "launch the job again",
                    f"Disk quota exceeded: /home/runs/000003/checkpoints/c.pt: {free}, then launch the job again"]


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
    from ganaug import running_job, worker
    from ganaug.worker_alive import worker_seen_s

    monkeypatch.setattr(running_job, "HEARTBEAT_S", 0.1)
    assert worker_seen_s() is None  # never started: the page says no worker runs
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, kwargs=dict(stop_event=stop, poll_s=0.05))
    thread.start()
    try:
        _wait_for(lambda: worker_seen_s() is not None)
        assert worker_seen_s() < 5
    finally:
        stop.set()
        thread.join(timeout=30)
    assert worker_seen_s() is None


def test_a_cancelled_job_says_where_its_run_stopped_and_how_to_resume(home, toy):
    from db.models import Run
    from ganaug.job_messages import cancel_message
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
                                                     "can generate more; the job made batches 4, 5, which await review")
        # A generate-only job trained nothing: it said "cancelled after training: run … finished" of an old run.
        assert cancel_message(s, run.id, [4], "class 9 not generated", trained=False) == (
            f"cancelled while making batches from run {run.id}; the job made batch 4, which awaits review; class 9 not "
            "generated")


def test_two_workers_on_one_home_one_stops_and_the_other_is_still_seen(home, monkeypatch):
    # One file per home: the first worker to stop removed it, and the pages said "no job worker is running" while
    # the other still ran (until its next beat, HEARTBEAT_S later).
    from ganaug import running_job, worker
    from ganaug.worker_alive import WORKERS_DIR, worker_seen_s

    monkeypatch.setattr(running_job, "HEARTBEAT_S", 30.0)  # no second beat within the test: only the first touch counts
    folder = home / WORKERS_DIR
    stops = [threading.Event(), threading.Event()]
    threads = [threading.Thread(target=worker.run_worker, kwargs=dict(stop_event=e, poll_s=0.05)) for e in stops]
    try:
        for n, thread in enumerate(threads, start=1):
            thread.start()
            _wait_for(lambda: len(list(folder.glob("*.alive"))) == n)
        stops[0].set()
        threads[0].join(timeout=30)
        assert not threads[0].is_alive() and len(list(folder.glob("*.alive"))) == 1
        assert worker_seen_s() is not None and worker_seen_s() < 30
    finally:
        for e in stops:
            e.set()
        for thread in threads:
            thread.join(timeout=30)
    assert worker_seen_s() is None and list(folder.glob("*.alive")) == []


def test_a_worker_killed_outright_is_seen_ever_older_and_forgotten_after_a_day(home, monkeypatch):
    from ganaug import running_job, worker
    from ganaug.worker_alive import FORGET_AFTER_S, WORKERS_DIR, worker_seen_s

    folder = home / WORKERS_DIR
    folder.mkdir()
    killed, ancient = folder / "elsewhere-41-aaaa.alive", folder / "elsewhere-7-bbbb.alive"
    for path, age in ((killed, 600), (ancient, FORGET_AFTER_S + 60)):
        path.write_text("elsewhere\n")
        os.utime(path, (time.time() - age, time.time() - age))
    assert 599 < worker_seen_s() < 700  # the freshest: the page calls that gone
    monkeypatch.setattr(running_job, "HEARTBEAT_S", 0.1)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, kwargs=dict(stop_event=stop, poll_s=0.05))
    thread.start()
    try:
        _wait_for(lambda: worker_seen_s() < 5)
        assert killed.exists() and not ancient.exists()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert sorted(folder.glob("*.alive")) == [killed]


def test_a_running_job_records_when_its_stage_started(home):
    # The pages estimated the time left from what each tab had seen of the bar: a new tab said nothing, and two
    # tabs could say different things.
    import datetime as dt

    from ganaug import worker

    def row():
        with session_scope() as s:
            job = get_job(s, job_id)
            return job.progress, dict(job.stats or {})

    before = dt.datetime.now(dt.timezone.utc)
    job_id = worker.submit("sleep", {"seconds": 60, "steps": 600}, submit_key="paced")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, kwargs=dict(stop_event=stop, poll_s=0.05))
    thread.start()
    try:
        _wait_for(lambda: "stage_started" in row()[1])
        first_progress, first = row()
        _wait_for(lambda: row()[0] > first_progress)  # a later report of the same stage
        stats = row()[1]
    finally:
        stop.set()
        thread.join(timeout=30)
    assert stats["stage"] == "sleep" and stats["stage_from"] == first["stage_from"] == 1 / 600  # its first report
    assert stats["stage_started"] == first["stage_started"]
    assert before <= dt.datetime.fromisoformat(stats["stage_started"]) <= dt.datetime.now(dt.timezone.utc)


def _unscored_batch(dataset: str) -> int:
    """A pending batch of five test images of class 9, recorded as the generator records a batch."""
    from db.models import Batch, Run, Sample
    from ganaug.datasets import dataset_arrays
    from ganaug_core import paths
    from ganaug_core.imageio import save_png

    row, arrays = dataset_arrays(dataset)
    images, labels = arrays.split("test")
    with session_scope() as s:
        run = Run(dataset_id=row.id, status="done", run_dir="runs/t", config={}, config_sha256="c" * 64,
                  code_version="t")
        s.add(run)
        s.flush()
        batch = Batch(run_id=run.id, dataset_id=row.id, class_index=9, count=5, seed=0, checkpoint_sha256="k" * 64,
                      config_sha256="c" * 64, code_version="t", folder="batches/t")
        s.add(batch)
        s.flush()
        for i, img in enumerate(images[labels == 9][:5]):
            rel = f"batches/t/{i:05d}.png"
            s.add(Sample(batch_id=batch.id, class_index=9, seed=i, path=rel, sha256=save_png(img, paths.resolve(rel))))
        return batch.id


@pytest.mark.slow  # trains a short feature extractor
def test_a_scoring_job_cancelled_while_it_runs_stops_with_nothing_half_written(digits, monkeypatch):
    # "Cancel" on a running scoring did nothing: the handler never asked, and the job went on to fit the map and
    # write every score before it ended "cancelled on request" with the batch scored.
    from sqlalchemy import select

    import ganaug_core.scoring
    from db.jobs import request_cancel
    from db.models import Batch, Report, Sample
    from ganaug import evaluation, running_job, worker
    from ganaug_core import paths

    evaluation.ensure_feature_extractor(digits, steps=20)  # a short one, reused as is by the job
    batch_id = _unscored_batch(digits)
    job_id = worker.submit("evaluate", {"batch_id": batch_id}, submit_key="score")
    real_scoring = ganaug_core.scoring.score_samples

    def scores_then_cancel(*args, **kwargs):  # the user clicks Cancel while the scores are being computed
        scores = real_scoring(*args, **kwargs)
        with session_scope(immediate=True) as s:
            request_cancel(s, job_id)
        return scores

    monkeypatch.setattr(ganaug_core.scoring, "score_samples", scores_then_cancel)
    monkeypatch.setattr(running_job, "CANCEL_CHECK_S", 0.0)
    assert worker.run_worker(once=True, poll_s=0.01) == 1
    with session_scope() as s:
        job = get_job(s, job_id)
        assert (job.status, job.error) == ("cancelled", None)
        assert job.message == f"cancelled on request: batch {batch_id} was not scored: none of its scores were stored"
        assert not s.get(Batch, batch_id).scores_computed
        assert s.scalars(select(Sample.realism).where(Sample.batch_id == batch_id)).all() == [None] * 5
        assert s.scalars(select(Report)).all() == []
    assert not (paths.models_dir() / digits / "embedding.npz").exists()  # it stopped before fitting the map


@pytest.mark.slow  # trains a 2-step run
def test_a_generate_job_cancelled_while_it_writes_a_batch_leaves_no_part_of_it(digits, monkeypatch):
    # Generation asked only between two classes: a cancel waited for the whole batch of the class in progress.
    from sqlalchemy import func, select

    import ganaug.batches
    from db.jobs import request_cancel
    from db.models import Batch
    from ganaug import running_job, worker
    from ganaug.runs import default_config, train_run
    from ganaug_core import paths

    run_id = train_run("digits", default_config("digits", resolution=8, width=4, batch_size=8, steps=2))
    job_id = worker.submit("generate", {"run_id": run_id, "classes": [9, 8], "per_class": 300}, submit_key="gen")
    real_save = ganaug.batches.save_png

    def save_then_cancel(*args, **kwargs):  # the user clicks Cancel while the first batch's PNGs are written
        if not calls:
            with session_scope(immediate=True) as s:
                request_cancel(s, job_id)
        calls.append(1)
        return real_save(*args, **kwargs)

    calls: list = []
    monkeypatch.setattr(ganaug.batches, "save_png", save_then_cancel)
    monkeypatch.setattr(running_job, "CANCEL_CHECK_S", 0.0)
    assert worker.run_worker(once=True, poll_s=0.01) == 1
    with session_scope() as s:
        job = get_job(s, job_id)
        assert (job.status, job.run_id) == ("cancelled", run_id)
        # what this job did, not "cancelled after training: run 1 finished (2 steps)": it trained nothing
        assert job.message == f"cancelled while making batches from run {run_id}; classes 9, 8 not generated"
        assert len(calls) == 256  # stopped at its report
        assert s.scalar(select(func.count(Batch.id))) == 0
    assert not list(paths.batches_dir().rglob("*.png"))  # its staging folder is gone too


def _fails_after_first(monkeypatch, module, name: str, error: str, made: list):
    """`module.name` that works once (its results in `made`) and then raises RuntimeError(error)."""
    real = getattr(module, name)

    def once_then_fails(*args, **kwargs):
        if made:
            raise RuntimeError(error)
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(module, name, once_then_fails)


TINY_RUN = dict(resolution=8, width=4, batch_size=8, steps=4, ckpt_every=4, grid_every=4, diversity_every=4)


def test_a_job_failed_after_its_first_batch_names_what_it_recorded_and_what_to_launch_instead(digits, monkeypatch):
    # It said only "RuntimeError: CUDA out of memory": launching it again trained anew and made class 7's batch twice.
    from sqlalchemy import select

    import ganaug.batches
    from db.jobs import first_line
    from db.models import Batch, Run
    from ganaug import worker
    from tests.cli.helpers import ganaug as cli

    made: list = []
    _fails_after_first(monkeypatch, ganaug.batches, "generate_batch", "CUDA out of memory", made)
    job_id = worker.submit("train_generate", dict(dataset=digits, config=TINY_RUN, classes=[7, 8, 9], per_class=2,
                                                  score=False), submit_key="fails")
    assert worker.run_worker(once=True, poll_s=0.01) == 1
    with session_scope() as s:
        job, run = get_job(s, job_id), s.scalars(select(Run)).one()
        assert s.scalars(select(Batch.id)).all() == made
        said = (f"RuntimeError: CUDA out of memory. Before it failed, the job recorded run {run.id} (trained 4 steps; "
                f"last checkpoint {run.checkpoint_path}) and batch {made[0]} (class 7), which awaits review: launching "
                f"it again would train anew and generate class 7 again. Generate only classes 8, 9 from run {run.id} "
                f"instead: “Start from run” {run.id} with “Only generate from it” on the Generate page, or "
                f"`ganaug generate --run {run.id} --class 8 --n 2` for each of them.")
        assert job.status == "failed" and first_line(job.error) == said
        assert "Traceback" in job.error  # the details stay below it, for a bug report
        assert (job.run_id, job.result) == (run.id, {"batch_ids": made})  # for the page's review and "the rest"
    assert said in cli("jobs", "list").stdout


def test_a_worker_stopped_after_a_jobs_first_batch_says_to_generate_only_the_rest(digits, monkeypatch):
    # It said "the worker was stopped while the job ran (classes 8, 9 not generated); submit it again": the same
    # job again trained anew and made class 7's batch a second time.
    from sqlalchemy import select

    import ganaug.batches
    from db.models import Run
    from ganaug import worker

    stop = threading.Event()
    real = ganaug.batches.generate_batch

    def generates_then_the_worker_stops(*args, **kwargs):
        made.append(real(*args, **kwargs))
        stop.set()  # Ctrl-C on the worker, or `ganaug app` quitting
        return made[-1]

    made: list = []
    monkeypatch.setattr(ganaug.batches, "generate_batch", generates_then_the_worker_stops)
    job_id = worker.submit("train_generate", dict(dataset=digits, config=TINY_RUN, classes=[7, 8, 9], per_class=2,
                                                  score=False), submit_key="stopped")
    assert worker.execute_job(job_id, stop) == "failed"
    with session_scope() as s:
        job, run_id = get_job(s, job_id), s.scalars(select(Run.id)).one()
        assert job.error == (
            f"the worker was stopped while the job ran; it stopped after training: run {run_id} finished (4 steps) "
            f"and can generate more; the job made batch {made[0]}, which awaits review; classes 8, 9 not generated; "
            f"generate only those from run {run_id} (“Start from run” with “Only generate from it” on the "
            "Generate page) rather than submitting the job again, which would start over")


def test_a_job_whose_scoring_failed_or_was_cancelled_says_which_batches_to_measure(digits, monkeypatch):
    # A generate job whose scoring failed said only the error: launching it again generated every batch again.
    from db.jobs import first_line
    from db.models import Batch
    from ganaug import evaluation, worker
    from ganaug.runs import default_config, train_run

    run_id = train_run(digits, default_config(digits, resolution=8, width=4, batch_size=8, steps=2))

    def scores_stored_then_metrics_fail(batch_id, **kwargs):
        with session_scope(immediate=True) as s:
            s.get(Batch, batch_id).scores_computed = True
        raise RuntimeError("metrics broke")

    monkeypatch.setattr(evaluation, "measure_batch", scores_stored_then_metrics_fail)
    job_id = worker.submit("generate", dict(run_id=run_id, classes=[9, 8], per_class=2), submit_key="scored")
    assert worker.run_worker(once=True, poll_s=0.01) == 1
    with session_scope() as s:
        line = first_line(get_job(s, job_id).error)
    assert line == ("RuntimeError: metrics broke. Before it failed, the job recorded batches 1, 2 (classes 9, 8), "
                    "which await review; batch 1's scores are stored but not its metrics, batch 2 not scored: "
                    "launching it again would generate them all again. Measure only batches 1, 2 instead: "
                    "`ganaug evaluate batch 1` (it keeps the stored scores), `ganaug evaluate batch 2`, or “Compute "
                    "scores” on the Review page for batch 2.")
    # A scoring job whose metrics failed once its scores were stored says so; one that stored nothing says the error.
    def fails_having_stored_scores_of_batch_2_only(batch_id, **kwargs):
        if batch_id == 2:
            scores_stored_then_metrics_fail(batch_id)
        raise RuntimeError("metrics broke")

    with session_scope(immediate=True) as s:
        s.get(Batch, 1).scores_computed = False
    monkeypatch.setattr(evaluation, "measure_batch", fails_having_stored_scores_of_batch_2_only)
    jobs = [worker.submit("evaluate", {"batch_id": b}, submit_key=f"score-{b}") for b in (2, 1)]
    assert worker.run_worker(once=True, poll_s=0.01) == 2
    with session_scope() as s:
        lines = [first_line(get_job(s, j).error) for j in jobs]
    assert lines == ["RuntimeError: metrics broke. Batch 2's scores are stored but not its metrics: `ganaug evaluate "
                     "batch 2` computes them and keeps the scores (as launching the scoring again would).",
                     "RuntimeError: metrics broke"]
    # Cancelled while it scored its first batch, a generate job said "batches 3, 4 made before it await review;
    # batch 3 was not scored: nothing of it was written; batch 4 not scored", as if batch 3 were gone.
    from ganaug import running_job

    def cancelled_while_scoring(batch_id, **kwargs):
        with session_scope(immediate=True) as s:
            request_cancel(s, cancelled)
        raise evaluation.ScoringStopped(f"batch {batch_id} was not scored: none of its scores were stored")

    monkeypatch.setattr(evaluation, "measure_batch", cancelled_while_scoring)
    monkeypatch.setattr(running_job, "CANCEL_CHECK_S", 0.0)
    cancelled = worker.submit("generate", dict(run_id=run_id, classes=[9, 8], per_class=2), submit_key="cancelled")
    assert worker.run_worker(once=True, poll_s=0.01) == 1
    with session_scope() as s:
        assert get_job(s, cancelled).message == (
            f"cancelled while making batches from run {run_id}; the job made batches 3, 4, which await review; "
            "batches 3, 4 not scored yet: `ganaug evaluate batch 3`, `ganaug evaluate batch 4`, or “Compute "
            "scores” on the Review page")


def test_a_job_that_recorded_part_of_its_work_is_not_told_to_launch_again(home):
    # The disk and database lines ended "launch the job again", also after the job had recorded batches.
    import errno

    from db.jobs import first_line
    from ganaug.job_handlers import FailedPartWay
    from ganaug.job_messages import job_error

    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/home/batches/7/00001.png")
        except OSError as e:
            raise FailedPartWay("Before it failed, the job recorded batch 6 (class 7).") from e
    except FailedPartWay as e:
        line = first_line(job_error(e))
    assert line == ("the disk is full (No space left on device: /home/batches/7/00001.png): free space on that disk "
                    "(“Start from run” on the Generate page gives each run's size on disk). Before it failed, the job "
                    "recorded batch 6 (class 7).")


def _running_with(session, kind: str, params: dict, stats: dict) -> int:
    """A running job whose worker's last heartbeat and progress report are two minutes old."""
    job_id = submit_job(session, kind, params, None).id
    claim_job(session, job_id, 4242)
    job = session.get(Job, job_id)
    job.stats, job.heartbeat_at = stats, dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=120)
    return job_id


def test_a_swept_job_keeps_and_names_the_run_and_batches_its_progress_recorded(db, home, toy):
    # The sweep said "it probably died — submit the job again": the job again trained anew and generated its
    # recorded batches a second time, and the page offered neither those batches nor "Generate the rest".
    from db.jobs import first_line
    from db.models import Run
    from tests.db.helpers import make_batch

    params = dict(dataset="toy", classes=[1, 0], per_class=4)
    with session_scope() as s:
        batch = make_batch(s, home, toy, class_index=1, scored=False)
        run = s.get(Run, batch.run_id)
        run.step = 600
        training = Run(dataset_id=toy.id, status="running", run_dir="runs/2", config={}, config_sha256="c" * 64,
                       code_version="test", step=300, checkpoint_path="runs/2/checkpoint-0000300.pt")
        s.add(training)
        s.flush()
        generating = _running_with(s, "train_generate", params, {"stage": "write", "run_id": run.id,
                                                                 "batch_ids": [batch.id]})
        in_training = _running_with(s, "train_generate", params, {"stage": "train", "run_id": training.id})
        nothing = _running_with(s, "generate", {**params, "run_id": run.id}, {"stage": "generate", "run_id": run.id,
                                                                             "batch_ids": []})
        ids = (run.id, batch.id, training.id)
    with session_scope(immediate=True) as s:
        assert fail_stale_jobs(s, max_age_s=60) == [generating, in_training, nothing]
    run_id, batch_id, training_id = ids
    with session_scope() as s:
        job = get_job(s, generating)
        assert (job.status, job.run_id, job.result) == ("failed", run_id, {"batch_ids": [batch_id]})
        last = utc_time(job.heartbeat_at)  # '2026-12-07 22:04:18 UTC', as every line for people gives a time
        died = f"the worker (pid 4242) stopped sending heartbeats (last: {last})"
        assert first_line(job.error) == (
            f"{died}; it probably died. Before that, the job recorded run {run_id} (trained 600 steps; last "
            f"checkpoint runs/1/ckpt.pt) and batch {batch_id} (class c1), which awaits review: submitting it again "
            f"would train anew and generate class c1 again. Generate only class c0 from run {run_id} instead: "
            f"“Generate the rest from run {run_id}” on the Generate page, or `ganaug generate --run {run_id} --class "
            f"c0 --n 4`. Measure batch {batch_id}, not scored yet: `ganaug evaluate batch {batch_id}`, or “Compute "
            "scores” on the Review page.")
        job = get_job(s, in_training)
        assert (job.run_id, job.result) == (training_id, {})
        assert first_line(job.error).endswith(
            f"; it probably died. Before that, the job recorded run {training_id} (trained 300 steps; last checkpoint "
            f"runs/2/checkpoint-0000300.pt): submitting it again would train anew. Resume run {training_id} instead: "
            f"`ganaug train --resume {training_id}`, or “Start from run” {training_id} on the Generate page.")
        job = get_job(s, nothing)  # a generate job that made no batch: the same job again is the way on
        assert (job.run_id, job.result) == (run_id, {})
        assert job.error.endswith("; it probably died — submit the job again")


def test_a_job_whose_worker_died_after_its_first_batch_is_swept_with_that_batch(digits, monkeypatch):
    # The worker wrote a job's progress at most twice a second and its reports never named the batches made: a
    # worker killed after recording class 7's batch left nothing on the row to say so.
    from sqlalchemy import select, update

    import ganaug.batches
    from db.models import Batch, Run
    from ganaug import running_job, worker

    monkeypatch.setattr(running_job, "HEARTBEAT_S", 3600.0)  # the row's heartbeat comes from the progress reports alone
    dying, release = threading.Event(), threading.Event()
    real = ganaug.batches.generate_batch

    def second_batch_never_comes(*args, **kwargs):
        if made:  # the worker "dies" here: it writes nothing more
            dying.set()
            release.wait(60)
            raise RuntimeError("the process was killed")
        made.append(real(*args, **kwargs))
        return made[-1]

    made: list = []
    monkeypatch.setattr(ganaug.batches, "generate_batch", second_batch_never_comes)
    job_id = worker.submit("train_generate", dict(dataset=digits, config=TINY_RUN, classes=[7, 8, 9], per_class=2,
                                                  score=False), submit_key="dies")
    thread = threading.Thread(target=worker.execute_job, args=(job_id,))
    thread.start()
    try:
        assert dying.wait(120)
        with session_scope(immediate=True) as s:
            s.execute(update(Job).where(Job.id == job_id).values(
                heartbeat_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=120)))
        with session_scope(immediate=True) as s:
            assert fail_stale_jobs(s, max_age_s=60) == [job_id]
    finally:
        release.set()
        thread.join(timeout=60)
    with session_scope() as s:
        job, run_id = get_job(s, job_id), s.scalars(select(Run.id)).one()
        assert s.scalars(select(Batch.id)).all() == made
        assert (job.status, job.run_id, job.result) == ("failed", run_id, {"batch_ids": made})
        assert f"batch {made[0]} (class 7), which awaits review" in job.error
        assert f"Generate only classes 8, 9 from run {run_id} instead" in job.error
