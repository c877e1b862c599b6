"""`kill -9` at exact points of a generation: the process kills itself right after the call named, so the point
is the same every time (no sleep races). What the next command, the sweep and the job's row make of it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.jobs import fail_stale_jobs, get_job
from db.models import Batch, Sample
from tests.cli.helpers import ganaug

TINY = ["--resolution", "8", "--width", "4", "--batch-size", "8"]
ROOT = Path(__file__).resolve().parents[2]

# Run in the child before `then`: `module.name` is replaced by a call that SIGKILLs its process once the real one
# returns (or, with `target`, once a staged batch folder is renamed into place: before the batch's commit).
KILL_AFTER_CALL = """
import importlib, os, signal
module = importlib.import_module({module!r})
real = getattr(module, {name!r})
def killed(*args, **kwargs):
    result = real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
setattr(module, {name!r}, killed)
"""
KILL_AFTER_STAGED_RENAME = """
import os, pathlib, signal
real = pathlib.Path.rename
def killed(self, target):
    result = real(self, target)
    if self.name.startswith(".staging-") and pathlib.Path(target).parent.name == "batches":
        os.kill(os.getpid(), signal.SIGKILL)
    return result
pathlib.Path.rename = killed
"""


def _killed(home: Path, setup: str, then: str) -> None:
    env = {**os.environ, "GANAUG_HOME": str(home), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", setup + then], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]


def _trained(digits: str) -> None:
    result = ganaug("train", "--dataset", digits, "--steps", 1, *TINY, "--json")
    assert result.exit_code == 0, result.output


def _batches_on_disk_and_rows(home: Path) -> tuple[dict, dict]:
    """{folder: its PNGs} under batches/ (staging folders too) and {batch folder: its samples' files}."""
    disk = {p.name: sorted(f.name for f in p.iterdir()) for p in (home / "batches").iterdir()}
    with session_scope() as s:
        rows = {b.folder.split("/")[-1]: sorted(p.split("/")[-1] for p in s.scalars(
            select(Sample.path).where(Sample.batch_id == b.id))) for b in s.scalars(select(Batch))}
    return disk, rows


@pytest.mark.slow  # a worker in a subprocess imports torch and generates: 2–6 s on a shared 2-core machine
def test_a_worker_killed_between_a_batchs_commit_and_its_report_leaves_the_job_naming_the_batch(digits, home):
    from ganaug import worker

    _trained(digits)
    job_id = worker.submit("generate", {"run_id": 1, "classes": [8, 9], "per_class": 2, "score": False})
    _killed(home, KILL_AFTER_CALL.format(module="ganaug.batches", name="generate_batch"),
            "from ganaug.worker import run_worker; run_worker(once=True)")
    with session_scope(immediate=True) as s:
        assert fail_stale_jobs(s, 0) == [job_id]  # the next worker's sweep, once the heartbeat is old
    with session_scope() as s:
        job = get_job(s, job_id)
        # Batch 1 (class 8) was committed and awaits review; the job said it recorded nothing ("submit the job again",
        # which makes class 8 a second time) and the Generate page offered no batch of it.
        assert job.status == "failed" and job.result == {"batch_ids": [1]} and job.run_id == 1
        assert "recorded batch 1 (class 8)" in job.error and "Generate only class 9 from run 1" in job.error
    disk, rows = _batches_on_disk_and_rows(home)
    assert disk == rows and list(rows) == ["1"] and len(rows["1"]) == 2


def test_a_generate_killed_between_placing_its_folder_and_its_commit_does_not_block_the_next(digits, home):
    _trained(digits)
    _killed(home, KILL_AFTER_STAGED_RENAME, "import sys; from ganaug.cli import main; "
            "sys.argv = ['ganaug', 'generate', '--run', '1', '--class', '9', '--n', '2']; main()")
    assert [p.name for p in (home / "batches").iterdir()] == ["1"]  # PNGs in place, no row: it was never recorded
    assert json.loads(ganaug("review", "pending", "--json").stdout)["batches"] == []
    result = ganaug("generate", "--run", 1, "--class", 9, "--n", 3)  # the same id again (SQLite reuses it)
    assert result.exit_code == 0, result.output  # was "batches/1 exists but is not a recorded batch; move it away"
    disk, rows = _batches_on_disk_and_rows(home)
    assert disk == rows and list(rows) == ["1"] and len(rows["1"]) == 3
    assert ganaug("audit", "verify").exit_code == 0


def test_a_folder_under_a_batchs_id_that_ganaug_did_not_write_is_still_refused(digits, home):
    _trained(digits)
    (home / "batches" / "1").mkdir(parents=True)
    (home / "batches" / "1" / "notes.txt").write_text("mine")
    result = ganaug("generate", "--run", 1, "--class", 9, "--n", 2)
    assert result.exit_code != 0 and "exists but is not a recorded batch" in result.output
    assert (home / "batches" / "1" / "notes.txt").read_text() == "mine"


def test_an_ingest_killed_between_placing_its_folder_and_its_commit_is_refused_clearly_and_leaves_no_staging(
        home, tmp_path):
    import numpy as np
    from PIL import Image

    source = tmp_path / "parts"
    for name in ("ok", "crack"):
        (source / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(source / name / f"{i}.png")
    kill = KILL_AFTER_STAGED_RENAME.replace('self.name.startswith(".staging-")', 'self.parent.name.startswith(".staging-")')
    kill = kill.replace('.parent.name == "batches"', '.parent.name == "datasets"')
    _killed(home, kill, f"import sys; from ganaug.cli import main; sys.argv = ['ganaug', 'data', 'ingest', "
            f"{str(source)!r}, '--name', 'parts', '--resolution', '8']; main()")
    assert json.loads(ganaug("data", "list", "--json").stdout)["datasets"] == []
    result = ganaug("data", "ingest", source, "--name", "parts", "--resolution", 8)
    assert result.exit_code == 2 and "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert "parts already exists on disk but is not a recorded dataset (an ingest killed" in last, last
    assert "move it away first" in last
    assert [p.name for p in (home / "datasets").iterdir()] == ["parts"]  # its writer's staging folder is gone
