"""`kill -9` at exact points of a generate, train, ingest or export: the process kills itself right after the call
named, so the point is the same every time (no sleep races). What the next command, the sweep and the job's row make
of it."""

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


def _parts(tmp_path: Path) -> Path:
    import numpy as np
    from PIL import Image

    source = tmp_path / "parts"
    for name in ("ok", "crack"):
        (source / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(source / name / f"{i}.png")
    return source


@pytest.mark.slow  # the killed command's subprocess imports the CLI: 3–7 s on a shared 2-core machine
def test_an_ingest_killed_between_placing_its_folder_and_its_commit_does_not_block_the_next(home, tmp_path):
    source = _parts(tmp_path)
    kill = KILL_AFTER_STAGED_RENAME.replace('self.name.startswith(".staging-")', 'self.parent.name.startswith(".staging-")')
    kill = kill.replace('.parent.name == "batches"', '.parent.name == "datasets"')
    _killed(home, kill, f"import sys; from ganaug.cli import main; sys.argv = ['ganaug', 'data', 'ingest', "
            f"{str(source)!r}, '--name', 'parts', '--resolution', '8']; main()")
    assert json.loads(ganaug("data", "list", "--json").stdout)["datasets"] == []
    assert (home / "datasets" / "parts" / "arrays.npz").is_file()  # placed, never recorded
    result = ganaug("data", "ingest", source, "--name", "parts", "--resolution", 8)
    # Was refused: "datasets/parts already exists on disk but is not a recorded dataset ...; move it away first".
    assert result.exit_code == 0, result.output
    assert [p.name for p in (home / "datasets").iterdir()] == ["parts"]  # its writer's staging folder is gone
    assert ganaug("data", "report", "parts").exit_code == 0
    from ganaug.datasets import dataset_arrays

    assert len(dataset_arrays("parts")[1].labels) == 6  # its arrays.npz matches the sha256 recorded


def test_a_folder_under_a_datasets_name_that_ganaug_did_not_write_is_still_refused(home, tmp_path):
    source = _parts(tmp_path)
    mine = home / "datasets" / "parts"
    (mine / "train" / "000").mkdir(parents=True)
    (mine / "arrays.npz").write_bytes(b"")
    (mine / "train" / "000" / "000000.png").write_bytes(b"")
    (mine / "notes.txt").write_text("mine")
    result = ganaug("data", "ingest", source, "--name", "parts", "--resolution", 8)
    assert result.exit_code == 2 and "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert f"{mine} already exists on disk but is not a recorded dataset" in last and "move it away first" in last
    assert (mine / "notes.txt").read_text() == "mine"


def test_a_recorded_datasets_folder_reached_by_another_spelling_is_kept(home, tmp_path, monkeypatch):
    # On a Mac's (or Windows') file system datasets/parts *is* datasets/Parts, and resolve() keeps the case typed;
    # a link and a resolve() that leaves it be stand in for that here. Taken for a killed ingest's leftover (no
    # dataset is named 'parts', and it holds only what ingest writes), the recorded dataset's images were deleted
    # (seen with a bind mount in the place of the link).
    from ganaug.datasets import _left_by_a_killed_ingest, dataset_arrays
    from ganaug_core import paths

    source = _parts(tmp_path)
    assert ganaug("data", "ingest", source, "--name", "Parts", "--resolution", 8).exit_code == 0
    (home / "datasets" / "parts").symlink_to(home / "datasets" / "Parts")
    monkeypatch.setattr(paths, "relative_to_home", lambda p: Path(os.path.abspath(p)).relative_to(home).as_posix())
    assert not _left_by_a_killed_ingest(home / "datasets" / "parts")
    result = ganaug("data", "ingest", source, "--name", "parts", "--resolution", 8)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        f"error: --name 'parts': this file system takes {home / 'datasets' / 'parts'} for the folder of dataset "
        "'Parts' (as a Mac's or Windows' does names that differ only in case); choose another --name")
    assert len(dataset_arrays("Parts")[1].labels) == 6


@pytest.mark.slow  # the killed train's subprocess imports torch: 7–17 s on a shared 2-core machine
def test_a_train_killed_between_placing_its_run_folder_and_its_commit_does_not_block_the_next(digits, home):
    kill = KILL_AFTER_STAGED_RENAME.replace('.parent.name == "batches"', '.parent.name == "runs"')
    _killed(home, kill, "import sys; from ganaug.cli import main; sys.argv = ['ganaug', 'train', '--dataset', "
            f"{digits!r}, '--steps', '1', {', '.join(map(repr, TINY))}]; main()")
    assert [p.name for p in (home / "runs").iterdir()] == ["000001"]  # config.json in place, no row
    assert json.loads(ganaug("runs", "list", "--json").stdout)["runs"] == []
    _trained(digits)  # the same id again (SQLite reuses it): was "runs/000001 exists but is not a recorded run"
    assert [p.name for p in (home / "runs").iterdir()] == ["000001"]
    runs = json.loads(ganaug("runs", "list", "--json").stdout)["runs"]
    assert [(r["run"], r["status"]) for r in runs] == [(1, "done")]


def test_a_folder_under_a_runs_id_that_ganaug_did_not_write_is_still_refused(digits, home):
    (home / "runs" / "000001").mkdir(parents=True)
    (home / "runs" / "000001" / "config.json").write_text("{}")
    (home / "runs" / "000001" / "notes.txt").write_text("mine")
    result = ganaug("train", "--dataset", digits, "--steps", 1, *TINY)
    assert result.exit_code != 0 and "exists but is not a recorded run" in result.output
    assert (home / "runs" / "000001" / "notes.txt").read_text() == "mine"
    assert [p.name for p in (home / "runs").iterdir()] == ["000001"]  # the refused run left no folder of its own


# In the child: the trainer's second checkpoint is written whole (its temporary file renamed into place), then the
# process dies before recording it.
KILL_AFTER_SECOND_CHECKPOINT = """
import os, signal
from ganaug_core.training import loop
real, saved = loop.save_checkpoint, []
def killed(*args, **kwargs):
    result = real(*args, **kwargs)
    saved.append(result)
    if len(saved) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return result
loop.save_checkpoint = killed
"""


@pytest.mark.slow  # the killed train's subprocess imports torch and trains: 12–16 s on a shared 2-core machine
def test_a_resume_says_it_ignores_a_checkpoint_written_but_never_recorded(digits, home):
    _killed(home, KILL_AFTER_SECOND_CHECKPOINT,
            "from ganaug.runs import default_config, train_run; "
            f"train_run({digits!r}, default_config({digits!r}, steps=2, ckpt_every=1, resolution=8, width=4, "
            "batch_size=8))")
    ckpts = home / "runs" / "000001" / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-0000001.pt", "checkpoint-0000002.pt"]
    result = ganaug("train", "--resume", 1, "--steps", 3, "--json")
    assert result.exit_code == 0, result.output
    # No recorded sha256 vouches for step 2's bytes (anyone who can write the folder could have put it there), so
    # the resume starts from step 1 and says why.
    assert (f"note: resuming run 1 from step 1, its last recorded checkpoint: {ckpts / 'checkpoint-0000002.pt'} was "
            "written after it but never recorded (its process was killed before recording it), so no recorded "
            "sha256 vouches for its bytes and it is not used") in " ".join(result.stderr.split())
    assert json.loads(result.stdout)["step"] == 3


@pytest.mark.slow  # the killed command's subprocess imports the CLI: 3–7 s on a shared 2-core machine
def test_an_export_killed_between_placing_its_folder_and_its_commit_is_refused_saying_why(home, tmp_path):
    from tests.db.helpers import make_dataset

    out, dataset = tmp_path / "gated", "toy"
    assert ganaug("users", "add", "ada", "--role", "admin", "--password", "ada-password").exit_code == 0
    with session_scope() as s:
        make_dataset(s, home)
    _killed(home, KILL_AFTER_CALL.format(module="ganaug.export", name="_move_into_place"),
            "import os, sys; os.environ['GANAUG_PASSWORD'] = 'ada-password'; from ganaug.cli import main; "
            f"sys.argv = ['ganaug', 'export', '--dataset', {dataset!r}, '--out', {str(out)!r}, '--user', 'ada']; "
            "main()")
    assert (out / "manifest.csv").is_file() and json.loads(ganaug("audit", "exports", "--json").stdout)["exports"] == []
    event = (out / "export_event.txt").read_text().split()[0]
    result = ganaug("export", "--dataset", dataset, "--out", out)
    # Was "… already exists and is not an empty folder; choose another --out", which did not say it was an export.
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        f"error: --out {out} holds an export that was never recorded: its export_event.txt names event {event}, "
        "which the decision log does not hold (an export killed outright between placing its folder and recording "
        f"its event leaves one; `ganaug audit folder {out}` says more). It is not removed, since the log's newest "
        "event deleted leaves the same: move it away or choose another --out")
    assert (out / "manifest.csv").is_file()
