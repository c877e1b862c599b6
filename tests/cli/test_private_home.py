"""A new GANAUG_HOME is its owner's only: it holds the images (patients' perhaps) and the database with its password
hashes, and the usual umask (022) would let every account of a shared machine read them."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.cli.helpers import notes, ok_json, run


def test_a_new_home_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    home = tmp_path / "team" / "home"
    monkeypatch.setenv("GANAUG_HOME", str(home))
    old = os.umask(0o022)
    try:
        ok_json("data", "list")
    finally:
        os.umask(old)
    assert home.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "team").stat().st_mode & 0o777 == 0o755  # a folder above it is the user's business


def _tiny_folder(root):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("crack", "ok"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


@pytest.fixture
def open_home(monkeypatch):
    """A home other accounts can reach: in a folder of /tmp open to them (pytest's own tmp_path lies in a 0700
    folder, which keeps every home below it out of their reach)."""
    from db.engine import dispose_engines

    above = Path(tempfile.mkdtemp(prefix="ganaug-open-home-", dir="/tmp"))
    above.chmod(0o711)
    home = above / "home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GANAUG_HOME", str(home))
    monkeypatch.delenv("GANAUG_DB_URL", raising=False)
    dispose_engines()
    yield home
    dispose_engines()
    shutil.rmtree(above)


def test_a_home_made_by_hand_gets_private_folders_and_one_note(open_home, tmp_path):
    """A home made with `mkdir` (0755) kept its mode, and what ganaug made in it too: ingesting into one left
    datasets/ 0755 and its images 0644, patient images readable by every account of the machine."""
    home = open_home
    home.chmod(0o755)
    old = os.umask(0o022)
    try:
        result = run("data", "ingest", _tiny_folder(tmp_path / "scans"), "--name", "scans")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert (home / "datasets").stat().st_mode & 0o777 == 0o700  # what lies inside is out of other accounts' reach
    assert notes(result.stderr) == [
        f"note: GANAUG_HOME {home} is open to every account of this machine (mode 0755), and it holds the images "
        f"and the database: `chmod 700 {home}` makes it its owner's only"]  # once, though the command used it often
    assert (home / "datasets" / "scans").is_dir()


def test_only_a_home_others_may_enter_is_noted_and_a_group_keeps_its_share(open_home):
    home = open_home
    for mode, said in ((0o700, []), (0o750, []), (0o711, ["chmod 700"]), (0o2775, ["chmod o-rwx"])):
        home.chmod(mode)
        result = run("users", "list")
        assert result.exit_code == 0, result.output
        fixes = [n.split("`")[1].rsplit(" ", 1)[0] for n in notes(result.stderr)]
        assert fixes == said, (oct(mode), result.stderr)
    assert "makes it its owner's and its group's only" in notes(result.stderr)[0]


def test_a_home_inside_a_folder_others_cannot_enter_is_not_noted(home):
    # pytest's tmp_path lies in a 0700 folder: a 0755 home there is out of other accounts' reach, as one inside a
    # user's 0750 home folder is; noting it was a false alarm.
    home.chmod(0o755)
    result = run("users", "list")
    assert result.exit_code == 0, result.output
    assert notes(result.stderr) == []
