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
