"""`ganaug runs du` and `ganaug runs prune`: what a home holds, and taking back what finished runs no longer need
without losing a checkpoint a batch, a resume or a run still training depends on."""

from __future__ import annotations

import fcntl
import json
import os

import pytest

from db.engine import session_scope
from db.models import Run
from ganaug_core import paths
from tests.cli.helpers import assert_bad_input, ganaug

TINY = dict(resolution=8, width=4, batch_size=8, stats_every=1, diversity_every=1)


def train(steps=4, every=1, progress=None, **extra) -> int:
    """A tiny run writing a checkpoint and a grid every `every` steps."""
    from ganaug.runs import default_config, train_run

    cfg = default_config("digits", steps=steps, ckpt_every=every, grid_every=every, **TINY, **extra)
    return train_run("digits", cfg, **({"progress": progress} if progress else {}))


def run_dir(run_id: int):
    with session_scope() as s:
        return paths.resolve(s.get(Run, run_id).run_dir)


def files(run_id: int) -> list[str]:
    """Every file and folder of the run folder, relative to it."""
    root = run_dir(run_id)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def checkpoints(run_id: int) -> list[str]:
    return sorted(p.name for p in (run_dir(run_id) / "checkpoints").iterdir())


def ok(*args) -> dict:
    result = ganaug(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def batch_from_step(step: int):
    """A progress callback that generates a batch of class 9 when training reports `step`: the run is still
    training, so the batch records the checkpoint before it (the loop reports a step before saving it)."""
    from ganaug.batches import generate_batch

    made: list[int] = []

    def progress(p):
        if p.done == step and not made:
            made.append(generate_batch(p.stats["run_id"], 9, 3, 1))

    return progress, made


def test_du_reports_each_runs_checkpoints_and_grids_and_the_home_by_part(digits, home):
    run_id = train(steps=3)
    folder = run_dir(run_id)
    ckpts = sorted((folder / "checkpoints").glob("checkpoint-*.pt"))
    grids = [p for p in (folder / "grids").rglob("*") if p.is_file()]
    out = ok("runs", "du")
    row = out["runs"][0]
    assert (row["run"], row["checkpoints"], row["grid_steps"]) == (run_id, 3, 3)
    assert row["checkpoint_bytes"] == sum(p.stat().st_size for p in ckpts) > 0
    assert row["grid_bytes"] == sum(p.stat().st_size for p in grids) > 0
    everything = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert row["total_bytes"] == everything == row["checkpoint_bytes"] + row["grid_bytes"] + row["other_bytes"]
    h = out["home"]
    assert h["runs_bytes"] >= everything and h["datasets_bytes"] > 0 and h["database_bytes"] > 0
    assert h["total_bytes"] >= h["runs_bytes"] + h["datasets_bytes"] + h["database_bytes"]
    assert ok("runs", "list")["runs"][0]["size_bytes"] == everything
    text = ganaug("runs", "du").stdout
    assert f"home {home}:" in text and "runs prune --all --dry-run" in text


def test_prune_keeps_the_latest_the_referenced_and_the_newest_checkpoints_and_reproduce_and_resume_still_work(
        digits, home):
    progress, made = batch_from_step(3)
    run_id = train(steps=4, progress=progress)
    batch_id = made[0]
    before = files(run_id)
    assert checkpoints(run_id) == [f"checkpoint-000000{i}.pt" for i in (1, 2, 3, 4)]

    dry = ok("runs", "prune", "--run", run_id, "--dry-run")
    assert files(run_id) == before  # a dry run deletes nothing
    plan = dry["runs"][0]
    assert plan["kept"] == {"checkpoint-0000002.pt": f"batch {batch_id}", "checkpoint-0000004.pt": "latest"}
    assert [p for p in plan["delete"] if p.startswith("checkpoints/")] == [
        "checkpoints/checkpoint-0000001.pt", "checkpoints/checkpoint-0000003.pt"]
    assert dry["dry_run"] and dry["freed_bytes"] == plan["freed_bytes"] > 0
    assert "nothing was deleted" in ganaug("runs", "prune", "--run", run_id, "--dry-run").stdout
    assert ok("runs", "prune", "--all", "--keep-last", 2, "--dry-run")["runs"][0]["kept"][
        "checkpoint-0000003.pt"] == "newest 2"

    pruned = ok("runs", "prune", "--run", run_id)
    assert pruned["freed_bytes"] == plan["freed_bytes"] and pruned["runs"][0]["delete"] == plan["delete"]
    assert checkpoints(run_id) == ["checkpoint-0000002.pt", "checkpoint-0000004.pt"]
    grids = sorted(p.name for p in (run_dir(run_id) / "grids").iterdir())
    assert grids == ["step0000004", "step0000004.png"]  # the newest grid step, which the app shows
    assert not (run_dir(run_id) / ".pruning").exists()

    reproduced = ganaug("audit", "reproduce", batch_id, "--json")
    assert reproduced.exit_code == 0, reproduced.output
    assert json.loads(reproduced.stdout)["reproduced"] == 3
    resumed = ganaug("train", "--resume", run_id, "--steps", 5, "--json")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["step"] == 5
    again = ok("runs", "prune", "--run", run_id)
    assert again["freed_bytes"] == 0 and "nothing to delete" in ganaug("runs", "prune", "--run", run_id).stdout


def test_prune_leaves_a_run_still_training_alone(digits, home):
    from ganaug.disk import prune

    seen: list = []

    def progress(p):  # halfway through the run, prune every run
        if p.done == 3 and not seen:
            seen.append((prune(None), checkpoints(p.stats["run_id"])))

    run_id = train(steps=4, progress=progress)
    (plan,), kept = seen[0]
    assert (plan.run, plan.skipped, plan.delete) == (run_id, "still training", [])
    assert kept == [f"checkpoint-000000{i}.pt" for i in (1, 2)]  # nothing of it deleted
    assert checkpoints(run_id) == [f"checkpoint-000000{i}.pt" for i in (1, 2, 3, 4)]


def test_a_run_marked_running_whose_folder_its_process_holds_is_skipped(digits, home):
    run_id = train(steps=2)
    with session_scope() as s:
        s.get(Run, run_id).status = "running"
    fd = os.open(run_dir(run_id), os.O_RDONLY | os.O_DIRECTORY)  # as its training process holds it
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        out = ok("runs", "prune", "--all")
        assert "run 1: still training, left alone" in ganaug("runs", "prune", "--all", "--dry-run").stdout
    finally:
        os.close(fd)
    assert out["runs"][0]["skipped"] == "still training" and len(checkpoints(run_id)) == 2
    # Nobody holds it now: the process died, so the run is marked failed and pruned, its latest checkpoint kept.
    out = ok("runs", "prune", "--all")
    assert out["runs"][0]["status"] == "failed" and out["runs"][0]["skipped"] is None
    assert checkpoints(run_id) == ["checkpoint-0000002.pt"]
    with session_scope() as s:
        assert s.get(Run, run_id).status == "failed"


def test_a_prune_killed_midway_loses_nothing_referenced_and_the_next_removes_its_leftovers(digits, home, monkeypatch):
    from ganaug import disk

    progress, made = batch_from_step(2)
    run_id = train(steps=3, progress=progress)

    def killed(path, *a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(disk.shutil, "rmtree", killed)  # killed after the moves, before the removal
        disk.prune([run_id])
    assert checkpoints(run_id) == ["checkpoint-0000001.pt", "checkpoint-0000003.pt"]
    assert (run_dir(run_id) / ".pruning").is_dir()
    assert ganaug("audit", "reproduce", made[0]).exit_code == 0
    out = ok("runs", "prune", "--run", run_id)
    assert out["runs"][0]["delete"] == [".pruning"] and out["runs"][0]["leftovers"] == 1
    assert not (run_dir(run_id) / ".pruning").exists()


def test_prune_waits_for_a_batch_being_generated(digits, home):
    from ganaug.held_folders import HeldFolder
    from ganaug.runs import STAGING
    from ganaug.disk import BATCH_STAGING

    assert BATCH_STAGING == STAGING
    train(steps=2)
    held = HeldFolder.create(paths.batches_dir(), STAGING)  # as `generate` holds its batch until it is recorded
    try:
        assert_bad_input(ganaug("runs", "prune", "--all"), "a batch is being generated")
        assert ok("runs", "prune", "--all", "--dry-run")["runs"][0]["checkpoints"] == 1
    finally:
        held.release()
    assert ok("runs", "prune", "--all")["runs"][0]["checkpoints"] == 1


def test_bad_input_is_one_line_and_exit_2(digits, home):
    run_id = train(steps=1)
    assert_bad_input(ganaug("runs", "prune", "--run", 99), "unknown run 99")
    assert_bad_input(ganaug("runs", "prune", "--all", "--keep-last", 0), "--keep-last must be at least 1")
    assert_bad_input(ganaug("runs", "prune"), "give --run N")
    assert_bad_input(ganaug("runs", "prune", "--run", run_id, "--all"), "not both")
    assert_bad_input(ganaug("runs", "du", "--run", 99), "unknown run 99")
    assert_bad_input(ganaug("runs", "prune", "--run", "x"), "--run")
    assert checkpoints(run_id) == ["checkpoint-0000001.pt"]


def test_a_prune_while_a_batch_is_drawn_from_a_checkpoint_it_deletes_fails_that_batch_whole(digits, home, monkeypatch):
    """`generate` on a run still training draws from its checkpoint of the moment; should the run end and a prune
    delete that checkpoint before the batch is recorded, the batch must not be recorded naming a deleted file."""
    from sqlalchemy import func, select

    import ganaug.batches
    from db.models import Batch
    from ganaug.cli.common import UserError
    from ganaug.disk import prune
    from ganaug_core.imageio import sha256_file

    run_id = train(steps=3)
    second = run_dir(run_id) / "checkpoints" / "checkpoint-0000002.pt"
    with session_scope() as s:  # the run as it was at step 2, still training
        run = s.get(Run, run_id)
        latest = (run.checkpoint_path, run.checkpoint_sha256)
        run.checkpoint_path, run.checkpoint_sha256 = paths.relative_to_home(second), sha256_file(second)
    upsample = ganaug.batches.upsample_images

    def run_ends_and_a_prune_runs(images, side):  # after the samples were drawn, before the batch is written
        with session_scope() as s:
            s.get(Run, run_id).checkpoint_path, s.get(Run, run_id).checkpoint_sha256 = latest
        prune([run_id])
        return upsample(images, side)

    monkeypatch.setattr(ganaug.batches, "upsample_images", run_ends_and_a_prune_runs)
    with pytest.raises(UserError, match="checkpoint checkpoint-0000002.pt was pruned while the batch was generated"):
        ganaug.batches.generate_batch(run_id, 9, 3, 1)
    assert not second.exists()
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Batch)) == 0
    assert [p.name for p in paths.batches_dir().iterdir()] == []
