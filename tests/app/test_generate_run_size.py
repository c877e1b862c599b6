"""The Generate page's "Start from run" picker says what each run holds on disk."""

from __future__ import annotations

from tests.app.conftest import app_test, make_batch


def test_the_run_picker_shows_each_runs_size_on_disk(users, digits, home):
    make_batch(digits, 9, 1)  # run 1 (runs/test): done at step 10
    checkpoints = home / "runs" / "test" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "last.pt").write_bytes(b"\0" * 1_200_000)
    (home / "runs" / "test" / "config.json").write_bytes(b"\0" * 34_000)
    at = app_test(users["rita"], "generate.py")
    assert "run 1 · done, 10 steps · 1.2 MB on disk" in at.selectbox(key="gen_resume").options
