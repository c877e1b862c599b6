"""A home backed up and restored: a database from an older backup beside newer files, and the reverse. Nothing the
database does not know is taken for a killed writer's leftover and deleted; what is missing on either side is named
with what mends it."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from db.engine import dispose_engines
from tests.cli.helpers import assert_bad_input, ganaug, ok_json

TINY = ["--resolution", "8", "--width", "4", "--batch-size", "8"]


def _backup(home: Path, to: Path) -> None:
    """`sqlite3 ganaug.db ".backup TO"`: a consistent copy, whatever the WAL holds."""
    src, dst = sqlite3.connect(home / "ganaug.db"), sqlite3.connect(to)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()


def _restore(home: Path, backup: Path) -> None:
    dispose_engines()
    for suffix in ("-wal", "-shm"):
        Path(f"{home / 'ganaug.db'}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, home / "ganaug.db")


@pytest.mark.slow  # trains a 1-step run and generates twice: 3–6 s on a shared 2-core machine
def test_generate_keeps_a_batch_that_a_database_restored_from_an_older_backup_does_not_know(digits, home, tmp_path):
    assert ganaug("train", "--dataset", digits, "--steps", 1, *TINY).exit_code == 0
    _backup(home, tmp_path / "before-batch-1.db")
    assert ganaug("generate", "--run", 1, "--class", 9, "--n", 2).exit_code == 0
    newer = sorted(p.name for p in (home / "batches" / "1").iterdir())
    assert len(newer) == 2  # its mark of a folder not yet recorded went with its commit
    _restore(home, tmp_path / "before-batch-1.db")
    # The same id again: batches/1 held nothing but samples, so it was taken for a killed generate's leftover and
    # its samples were deleted.
    assert_bad_input(ganaug("generate", "--run", 1, "--class", 9, "--n", 3),
                     f"{home / 'batches' / '1'} exists but is not a recorded batch", "restored from a backup older")
    assert sorted(p.name for p in (home / "batches" / "1").iterdir()) == newer
    said = ganaug("runs", "du")
    assert said.exit_code == 0, said.output
    assert ("batches/1: no batch of the database names it (a database restored from a backup older than it?): "
            "restore the database backed up with it, or move it out of the home") in said.output
    assert json.loads(ganaug("runs", "du", "--json").stdout)["records"]["batches"] == dict(
        missing=[], unrecorded=["batches/1"])


def test_runs_list_and_du_name_a_run_whose_folder_an_older_backup_of_the_files_lacks(digits, home):
    assert ganaug("train", "--dataset", digits, "--steps", 1, *TINY).exit_code == 0
    shutil.rmtree(home / "runs" / "000001")
    listed = ganaug("runs", "list")
    assert (f"its folder {home / 'runs' / '000001'} is gone: `ganaug runs du` says what to restore"
            in " ".join(listed.output.split()))
    assert ok_json("runs", "list")["runs"][0]["folder_missing"] is True
    du = ganaug("runs", "du").output
    assert ("run 1: the database records it, but its folder is gone (files restored from a backup older than the "
            "database?): restore the files backed up with this database") in du


def test_ingest_keeps_a_dataset_folder_that_a_database_restored_from_an_older_backup_does_not_know(home, tmp_path):
    source = tmp_path / "parts"
    for name in ("ok", "crack"):
        (source / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(source / name / f"{i}.png")
    assert ganaug("runs", "list").exit_code == 0  # the database, before the dataset
    _backup(home, tmp_path / "empty.db")
    assert ganaug("data", "ingest", source, "--name", "parts", "--resolution", 8).exit_code == 0
    arrays = (home / "datasets" / "parts" / "arrays.npz").read_bytes()
    _restore(home, tmp_path / "empty.db")
    assert_bad_input(ganaug("data", "ingest", source, "--name", "parts", "--resolution", 8),
                     "is not a recorded dataset", "restored from a backup older")
    assert (home / "datasets" / "parts" / "arrays.npz").read_bytes() == arrays


def test_an_export_inside_the_home_is_found_once_the_home_is_restored_at_another_path(home, tmp_path, monkeypatch):
    from db.engine import session_scope
    from tests.db.helpers import make_dataset

    ok_json("users", "add", "ada", "--role", "admin", "--password", "ada-password")
    with session_scope() as s:
        make_dataset(s, home)
    ok_json("export", "--dataset", "toy", "--out", home / "exports" / "e1", "--user", "ada",
            env={"GANAUG_PASSWORD": "ada-password"})
    dispose_engines()
    moved = tmp_path / "moved"
    shutil.copytree(home, moved, symlinks=True)  # `cp -a` while nothing runs
    shutil.rmtree(home)
    monkeypatch.setenv("GANAUG_HOME", str(moved))
    # It said "not found" beside the folder's old path: the record named the home's old place only.
    [listed] = ok_json("audit", "exports")["exports"]
    assert (listed["folder"], listed["folder_check"]) == (str(moved / "exports" / "e1"), "matches")
    assert ganaug("audit", "folder", moved / "exports" / "e1").exit_code == 0
    assert ganaug("audit", "verify").exit_code == 0
