"""What a process killed outright (`kill -9`, the OOM killer, a power cut) leaves, and what the next command makes of
it: real subprocesses, real signals, a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from db.engine import session_scope
from db.models import Run
from tests.cli.helpers import assert_bad_input, ganaug

TINY = ["--resolution", "8", "--width", "4", "--batch-size", "8"]
ROOT = Path(__file__).resolve().parents[2]


def _env(home: Path) -> dict:
    return {**os.environ, "GANAUG_HOME": str(home), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the process ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.1)


def killed_writer(folder: Path, prefix: str) -> Path:
    """A process that makes a held folder, writes a file in it and is killed with SIGKILL: what it leaves."""
    code = ("import os, signal, sys; from pathlib import Path; from ganaug.held_folders import HeldFolder; "
            "h = HeldFolder.create(Path(sys.argv[1]), sys.argv[2]); (h.path / 'half.png').write_bytes(b'x'); "
            "print(h.path, flush=True); os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", code, str(folder), prefix], capture_output=True, text=True,
                          env=_env(folder), timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = Path(proc.stdout.strip())
    assert (left / "half.png").exists()
    return left


def _runs() -> dict[int, dict]:
    result = ganaug("runs", "list", "--json")
    assert result.exit_code == 0, result.output
    return {r["run"]: r for r in json.loads(result.stdout)["runs"]}


@pytest.mark.slow
def test_a_training_killed_outright_is_marked_failed_not_left_running(digits, home):
    proc = subprocess.Popen([sys.executable, "-m", "ganaug", "train", "--dataset", digits, "--steps", "100000", *TINY],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(home), cwd=ROOT)
    stats = home / "runs" / "000001" / "stats.jsonl"
    try:
        _wait_for(lambda: stats.exists() and stats.read_text().strip(), proc, "training step")
        assert _runs()[1]["status"] == "running"  # alive: its process holds the run folder
    finally:
        proc.kill()
        proc.wait(timeout=60)
    run = _runs()[1]  # it had stayed "running" for good
    assert run["status"] == "failed", run
    assert "stopped without finishing" in run["error"]
    with session_scope() as s:
        assert s.get(Run, 1).finished_at is not None
    text = ganaug("runs", "list").stdout.splitlines()  # not only in --json: why, and how to go on, below its line
    assert text[0].split() == ["run", "dataset", "status", "progress", "created", "(UTC)", "on", "disk"]  # what each column is
    assert "failed" in text[1] and "stopped without finishing" in text[2]


def test_generate_does_not_call_a_killed_run_still_training(digits, home):
    from db.datasets import get_dataset
    from ganaug.held_folders import HeldFolder

    with HeldFolder.create(home / "runs", ".staging-") as held:  # the folder exists, nobody trains in it any more
        pass
    with session_scope() as s:
        run = Run(dataset_id=get_dataset(s, digits).id, status="running", run_dir=f"runs/{held.path.name}", config={},
                  config_sha256="c" * 64, code_version="t", step=125, total_steps=3000)
        s.add(run)
        s.flush()
        run_id = run.id
    result = ganaug("generate", "--run", run_id, "--class", "1", "--n", 2)
    assert_bad_input(result, f"run {run_id} has no checkpoint yet")
    assert "still training" not in result.output
    with session_scope() as s:
        assert s.get(Run, run_id).status == "failed"


def test_a_folder_held_by_a_living_process_is_never_swept(home):
    from ganaug.held_folders import sweep_abandoned

    code = ("import sys; from pathlib import Path; from ganaug.held_folders import HeldFolder; "
            "h = HeldFolder.create(Path(sys.argv[1]), '.staging-'); print(h.path, flush=True); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(home / "batches")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=_env(home))
    try:
        held = Path(proc.stdout.readline().strip())
        assert sweep_abandoned(home / "batches", ".staging-") == [] and held.is_dir()
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert sweep_abandoned(home / "batches", ".staging-") == [held] and not held.exists()


def test_the_staging_folders_of_killed_commands_are_removed_by_the_next_ones(digits, home):
    left = {where: killed_writer(home / where, ".staging-") for where in ("datasets", "runs", "batches")}
    mine = home / "batches" / ".staging-notes"  # not a name ganaug makes: never touched
    mine.mkdir()
    assert ganaug("data", "ingest", "demo:digits", "--name", "again", "--resolution", "8").exit_code == 0
    assert not left["datasets"].exists()
    result = ganaug("train", "--dataset", digits, "--steps", 1, *TINY, "--json")
    assert result.exit_code == 0, result.output
    assert not left["runs"].exists()
    run_id = json.loads(result.stdout)["run_id"]
    assert ganaug("generate", "--run", run_id, "--class", 9, "--n", 2).exit_code == 0
    assert not left["batches"].exists()
    assert sorted(p.name for p in (home / "batches").iterdir()) == [".staging-notes", "1"]


@pytest.mark.slow
def test_a_generate_killed_while_writing_leaves_nothing_after_the_next_one(digits, home):
    result = ganaug("train", "--dataset", digits, "--steps", 1, *TINY, "--json")
    assert result.exit_code == 0, result.output
    proc = subprocess.Popen([sys.executable, "-m", "ganaug", "generate", "--run", "1", "--class", "9", "--n", "100000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(home), cwd=ROOT)
    batches = home / "batches"

    def writing() -> bool:
        return batches.exists() and any(p.name.startswith(".staging-") and any(p.iterdir()) for p in batches.iterdir())

    try:
        _wait_for(writing, proc, "PNG written")
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert ganaug("generate", "--run", 1, "--class", 9, "--n", 2).exit_code == 0
    assert [p.name for p in batches.iterdir()] == ["1"]


def test_an_export_killed_outright_is_cleaned_up_by_the_next_export_to_the_same_folder(digits, home, tmp_path):
    left = killed_writer(tmp_path, ".gated.partial-")
    mine = tmp_path / ".gated.partial-keep"
    mine.mkdir()
    result = ganaug("export", "--dataset", digits, "--out", tmp_path / "gated")
    assert result.exit_code == 0, result.output
    assert not left.exists() and mine.exists() and (tmp_path / "gated" / "manifest.csv").exists()


def test_a_database_locked_too_long_is_one_line_and_leaves_no_dataset(home, monkeypatch):
    import db.engine

    assert ganaug("data", "list").exit_code == 0  # the database exists, migrated
    monkeypatch.setattr(db.engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    db.engine.dispose_engines()
    other = sqlite3.connect(home / "ganaug.db", isolation_level=None)  # another process's long write, say
    other.execute("BEGIN IMMEDIATE")
    try:
        result = ganaug("data", "ingest", "demo:digits", "--name", "digits", "--resolution", "8")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert_bad_input(result, "the database is locked", "try again")
    assert [p.name for p in (home / "datasets").iterdir()] == []
    assert ganaug("data", "ingest", "demo:digits", "--name", "digits", "--resolution", "8").exit_code == 0


@pytest.mark.slow
def test_a_worker_killed_mid_training_leaves_its_job_and_run_failed_once_another_starts(digits, home):
    from db.jobs import get_job
    from ganaug import worker

    config = dict(resolution=8, width=4, batch_size=8, steps=100000)
    job_id = worker.submit("train_generate", {"dataset": digits, "config": config, "classes": []})
    proc = subprocess.Popen([sys.executable, "-m", "ganaug", "worker", "--poll", "0.1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**_env(home), "GANAUG_HEARTBEAT_S": "0.2"}, cwd=ROOT)
    stats = home / "runs" / "000001" / "stats.jsonl"
    try:
        _wait_for(lambda: stats.exists() and stats.read_text().strip(), proc, "training step")
    finally:
        proc.kill()
        proc.wait(timeout=60)
    env = {**_env(home), "GANAUG_STALE_AFTER_S": "0.5"}
    time.sleep(0.6)  # the heartbeat is older than the stale limit the next worker is given
    subprocess.run([sys.executable, "-c", "from ganaug.worker import run_worker; run_worker(once=True)"],
                   env=env, cwd=ROOT, timeout=120, check=True)
    with session_scope() as s:
        assert get_job(s, job_id).status == "failed"
        run = s.get(Run, 1)
        assert run.status == "failed" and "stopped without finishing" in run.error


def _file_size_limit(limit: int):
    def apply() -> None:  # in the child: writes past `limit` bytes fail with EFBIG, as on a full disk
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_checkpoint_that_cannot_be_written_is_one_line_and_the_run_failed(digits, home):
    assert ganaug("runs", "list").exit_code == 0  # the database exists, migrated, before the limit applies
    proc = subprocess.run([sys.executable, "-m", "ganaug", "train", "--dataset", digits, "--steps", "1",
                           "--resolution", "8", "--width", "128", "--batch-size", "8"], capture_output=True, text=True,
                          env=_env(home), cwd=ROOT, timeout=300, preexec_fn=_file_size_limit(1_000_000))
    assert proc.returncode == 2, proc.stderr  # it was torch's "RuntimeError: ... unexpected pos" and a traceback
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: run 1 failed: File too large: ")
    assert "checkpoint-0000001.pt" in proc.stderr
    run = _runs()[1]
    assert run["status"] == "failed" and "File too large" in run["error"]
    assert list((home / "runs" / "000001" / "checkpoints").iterdir()) == []  # no temporary file left


def test_jobs_list_does_not_show_a_dead_workers_job_running(home):
    import datetime as dt

    from sqlalchemy import update

    from db.jobs import claim_job, submit_job
    from db.models import Job

    with session_scope(immediate=True) as s:
        job_id = submit_job(s, "sleep", {}, None).id
        claim_job(s, job_id, worker_pid=999999)
        long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)  # its worker was killed an hour ago
        s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=long_ago))
    result = ganaug("jobs", "list", "--json")  # with no worker running to sweep it, it had stayed "running"
    assert result.exit_code == 0, result.output
    job = json.loads(result.stdout)["jobs"][0]
    assert job["status"] == "failed" and "stopped sending heartbeats" in job["error"]
