"""A full disk: the command stops with one line that says where it was writing and what to do, and leaves nothing
half-written. The disk fills up by a stand-in for the PNG writer (no test may mount a small file system); the same
commands on a real 6–20 MB tmpfs said the same (README, "Backing up and moving a home")."""

from __future__ import annotations

import errno

import pytest

from tests.cli.helpers import assert_bad_input, ganaug

TINY = ["--resolution", "8", "--width", "4", "--batch-size", "8"]


@pytest.mark.slow  # trains a 1-step run first: 2–5 s on a shared 2-core machine
def test_generate_on_a_full_disk_says_where_and_leaves_no_batch(digits, home, monkeypatch):
    from ganaug import batches

    assert ganaug("train", "--dataset", digits, "--steps", 1, *TINY).exit_code == 0
    real, written = batches.save_png, []

    def fills_the_disk(img, path):
        if len(written) == 2:  # PIL writes through a file object: the error carries no file name
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(path)
        return real(img, path)

    monkeypatch.setattr(batches, "save_png", fills_the_disk)
    # It said "error: No space left on device", naming no place to free.
    assert_bad_input(ganaug("generate", "--run", 1, "--class", 9, "--n", 4),
                     f"No space left on device (writing in GANAUG_HOME {home})",
                     "free space (`ganaug runs du`, `ganaug runs prune --all`) and run it again")
    assert written and not any(p.exists() for p in written)
    assert [p.name for p in (home / "batches").iterdir()] == []
    assert ganaug("review", "pending").output.strip() == "no batch is waiting for review"


def _checkpoint_writes_fill_the_disk(monkeypatch):
    """A checkpoint's bytes meet a full disk: `save_checkpoint` writes them through `os.fdopen` into a temporary
    file beside the checkpoint, and that file's write fails as a full disk's does. Other files are written as ever."""
    import os

    real = os.fdopen

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    def fdopen(fd, *args, **kwargs):
        f = real(fd, *args, **kwargs)
        return FullDisk(f) if "/checkpoints/.checkpoint-" in os.readlink(f"/proc/self/fd/{fd}") else f

    monkeypatch.setattr(os, "fdopen", fdopen)


@pytest.mark.slow  # trains three 1-step runs: 1.5 s on a shared 2-core machine
def test_train_on_a_full_disk_keeps_its_failed_run_with_one_line_that_says_what_to_free(digits, home, monkeypatch):
    import json

    assert ganaug("train", "--dataset", digits, "--steps", 1, *TINY).exit_code == 0
    _checkpoint_writes_fill_the_disk(monkeypatch)
    free = "free space (`ganaug runs du`, `ganaug runs prune --all`), then "
    full = f"the disk is full (No space left on device: {home}/runs/000002/checkpoints/checkpoint-0000001.pt)"
    # It said "… what the command was writing was removed: … run it again" of a run that was kept, and the run's
    # error read "OSError: [Errno 28] No space left on device: '…'".
    assert_bad_input(ganaug("train", "--dataset", digits, "--steps", 1, *TINY),
                     f"error: run 2 failed: {full}: {free}train again: the run wrote no checkpoint")
    full = full.replace("000002/checkpoints/checkpoint-0000001", "000003/checkpoints/checkpoint-0000002")
    assert_bad_input(ganaug("train", "--resume", 1, "--steps", 2), f"error: run 3 failed: {full}: {free}resume run 1 "
                     "again (`ganaug train --resume 1`): this run wrote no checkpoint")
    failed = {r["run"]: r for r in json.loads(ganaug("runs", "list", "--json").stdout)["runs"] if r["status"] == "failed"}
    assert sorted(failed) == [2, 3] and failed[2]["error"].startswith("the disk is full (No space left on device: ")
    listed = ganaug("runs", "list").output
    assert f"{full}: {free}resume run 1 again" in " ".join(listed.split()) and "Errno" not in listed  # wrapped at 80


@pytest.mark.slow  # trains a 1-step run and a job's 2-step one: 2–4 s on a shared 2-core machine
def test_a_training_job_on_a_full_disk_advises_the_apps_reader_in_the_apps_words(digits, home, monkeypatch):
    """The job's error, shown on the app's page to whoever launched it, said "free space (`ganaug runs du`, `ganaug
    runs prune --all`), then … (`ganaug train --resume 1`)": commands a reviewer of the app has no shell for. The
    run's own error, read by `ganaug runs list`, keeps them."""
    import json

    from db.engine import session_scope
    from db.jobs import first_line, get_job
    from ganaug.worker import run_worker, submit

    assert ganaug("train", "--dataset", digits, "--steps", 1, *TINY).exit_code == 0
    _checkpoint_writes_fill_the_disk(monkeypatch)
    job_id = submit("train_generate", dict(dataset=digits, config=dict(resolution=8, width=4, batch_size=8, steps=2),
                                           classes=[9], per_class=2, resume_run=1), submit_key="full")
    assert run_worker(once=True, poll_s=0.01) == 1
    with session_scope() as s:
        job = get_job(s, job_id)
        said = (job.status, first_line(job.error))
    full = f"the disk is full (No space left on device: {home}/runs/000002/checkpoints/checkpoint-0000002.pt)"
    assert said == ("failed", f"run 2 failed: {full}: free space on that disk (“Start from run” on the Generate page "
                              "gives each run's size on disk), then resume run 1 again (“Start from run” 1 on the "
                              "Generate page): this run wrote no checkpoint")
    [run] = [r for r in json.loads(ganaug("runs", "list", "--json").stdout)["runs"] if r["run"] == 2]
    assert run["error"] == (f"{full}: free space (`ganaug runs du`, `ganaug runs prune --all`), then resume run 1 "
                            "again (`ganaug train --resume 1`): this run wrote no checkpoint")
