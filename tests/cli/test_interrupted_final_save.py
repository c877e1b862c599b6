"""Ctrl-C pressed twice during `train`: the first stops the loop between steps, the second lands in the final save
(a checkpoint of 542 MB at 16² with `--width 256`, seen on a shared 2-core machine). The save leaves no temporary file;
the run is kept, cancelled, and `train`, `runs list` and the run's error say from which checkpoint it goes on. It
said "interrupted before a checkpoint could be written" and stored the error "KeyboardInterrupt: ", though the run's
checkpoint of an earlier step was recorded and resumable."""

from __future__ import annotations

import json

from db.engine import session_scope
from db.models import Run
from tests.cli.helpers import ganaug, said_lines

TINY = ["--resolution", "8", "--width", "4", "--batch-size", "8"]


def _second_ctrl_c_in_the_final_save(monkeypatch, saved_first: int) -> list:
    """The trainer's first `saved_first` saves are written; the next one is interrupted (the first Ctrl-C, which the
    loop turns into its stop), and so is the final save after it (the second Ctrl-C)."""
    from ganaug_core.training import loop

    real, calls = loop.save_checkpoint, []

    def save(payload, path):
        calls.append(path.name)
        if len(calls) <= saved_first:
            return real(payload, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "save_checkpoint", save)
    return calls


def test_a_second_ctrl_c_during_the_final_save_names_the_checkpoint_the_run_goes_on_from(digits, home, monkeypatch):
    from ganaug import runs

    with monkeypatch.context() as patched:
        real_config = runs.default_config  # a checkpoint every step: step 1's is recorded before the interrupts
        patched.setattr(runs, "default_config", lambda *a, **k: real_config(*a, **{**k, "ckpt_every": 1}))
        calls = _second_ctrl_c_in_the_final_save(patched, saved_first=1)
        result = ganaug("train", "--dataset", digits, "--steps", 5, *TINY)
    assert calls == ["checkpoint-0000001.pt", "checkpoint-0000002.pt", "checkpoint-0000002.pt"]
    assert result.exit_code == 130 and "Traceback" not in result.output, result.output
    said = " ".join(result.stderr.split())  # wrapped at 80 columns, the command whole
    assert said.endswith("run 1 cancelled: interrupted before the checkpoint of step 2 was written (Ctrl-C or SIGTERM "
                         "while it saved); continue from its last checkpoint (checkpoint-0000001.pt) with `ganaug "
                         "train --resume 1`"), said
    assert all(len(line) <= 80 for line in said_lines(result.stderr)), result.stderr
    checkpoints = home / "runs" / "000001" / "checkpoints"
    assert [p.name for p in checkpoints.iterdir()] == ["checkpoint-0000001.pt"]  # no temporary file left
    with session_scope() as s:
        run = s.get(Run, 1)
        assert (run.status, run.checkpoint_path) == ("cancelled", "runs/000001/checkpoints/checkpoint-0000001.pt")
        assert run.error.startswith("interrupted before the checkpoint of step 2 was written")
    listed = ganaug("runs", "list").stdout  # was only "cancelled step 2/5"
    assert "continue from its last checkpoint (checkpoint-0000001.pt)" in " ".join(listed.split())
    resumed = ganaug("train", "--resume", 1, "--steps", 3, "--json")  # what it said works
    assert resumed.exit_code == 0, resumed.output
    assert (json.loads(resumed.stdout)["resumed_from"], json.loads(resumed.stdout)["step"]) == (1, 3)


def test_a_resume_interrupted_before_its_first_checkpoint_names_the_run_it_continued(digits, home, monkeypatch):
    assert ganaug("train", "--dataset", digits, "--steps", 1, *TINY).exit_code == 0
    _second_ctrl_c_in_the_final_save(monkeypatch, saved_first=0)
    result = ganaug("train", "--resume", 1, "--steps", 2)
    assert result.exit_code == 130 and "Traceback" not in result.output, result.output
    assert " ".join(result.stderr.split()).endswith(
        "run 2 cancelled: interrupted before the checkpoint of step 2 was written (Ctrl-C or SIGTERM while it saved); "
        "resume run 1 again (`ganaug train --resume 1`): this run wrote no checkpoint")
    checkpoints = home / "runs" / "000002" / "checkpoints"
    assert not checkpoints.exists() or list(checkpoints.iterdir()) == []


def _the_stop_said(stderr: str, start: str) -> str:
    """The demo's paragraph on its stopped training, from `start` to the "interrupted by" line, its lines joined:
    wrapped at 80 columns as every note is (it was one line of 200–300), each command whole on one line."""
    said = stderr[stderr.index(start):stderr.rindex("interrupted by")]
    assert max(map(len, said.splitlines())) <= 80, said
    assert all(line.count("`") % 2 == 0 for line in said.splitlines()), said
    return " ".join(said.split())


def test_the_demo_stopped_in_its_final_save_says_what_it_says_of_an_interrupted_training(digits, home, monkeypatch):
    from ganaug import runs
    from ganaug.demo import typed_command

    # The demo's generator, made tiny, with a checkpoint every step: step 1's is recorded before the two Ctrl-Cs.
    tiny = dict(minutes=None, steps=5, resolution=8, width=4, batch_size=8, ckpt_every=1)
    real_config = runs.default_config
    monkeypatch.setattr(runs, "default_config", lambda name, **k: real_config(name, **{**k, **tiny}))
    _second_ctrl_c_in_the_final_save(monkeypatch, saved_first=1)
    result = ganaug("demo", "--prepare-only")
    assert result.exit_code == 130 and "Traceback" not in result.output, result.output
    # It ended with `train`'s words ("… `ganaug train --resume 1`"), not the demo's: which run goes on, from which
    # checkpoint, and that the next demo generates from the run that continues it.
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "interrupted by Ctrl-C (SIGINT)", lines
    cmd = typed_command()
    said = _the_stop_said(result.stderr, "run 1 stopped")
    assert said == (f"run 1 stopped at step 2 before its checkpoint was written (Ctrl-C or SIGTERM while it "
                  f"saved); it goes on from its last checkpoint (checkpoint-0000001.pt): `{cmd} train --resume 1 "
                  f"--minutes 2` trains it further as a new run, which the next `{cmd} demo` generates from "
                  "(without it, the next demo trains a run of its own)"), said
    with session_scope() as s:
        assert s.get(Run, 1).checkpoint_path == "runs/000001/checkpoints/checkpoint-0000001.pt"
    _second_ctrl_c_in_the_final_save(monkeypatch, saved_first=0)  # a run with no checkpoint: nothing to resume
    again = ganaug("demo", "--prepare-only")
    assert again.exit_code == 130 and _the_stop_said(again.stderr, "run 2 stopped") == (
        "run 2 stopped at step 1 before its checkpoint was written (Ctrl-C or SIGTERM while it saved), its first: the "
        f"next `{cmd} demo` trains a run of its own"), again.output
