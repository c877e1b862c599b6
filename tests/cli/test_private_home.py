"""A new GANAUG_HOME is its owner's only: it holds the images (patients' perhaps) and the database with its password
hashes, and the usual umask (022) would let every account of a shared machine read them."""

from __future__ import annotations

import os

from tests.cli.helpers import ok_json


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
