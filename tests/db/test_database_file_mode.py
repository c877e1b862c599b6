"""A SQLite file named by GANAUG_DB_URL, outside the 0700 home, holds the password hashes: its owner's only."""

from __future__ import annotations

import os
import stat

from db.engine import dispose_engines, session_scope
from db.users import add_user


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_database_file_outside_the_home_is_created_for_its_owner_only(home, tmp_path, monkeypatch):
    # With the usual umask 022 SQLite created it 0644: any account on the machine could read the hashes.
    shared = tmp_path / "shared"
    shared.mkdir()
    db_file = shared / "team.db"
    monkeypatch.setenv("GANAUG_DB_URL", f"sqlite:///{db_file}")
    old = os.umask(0o022)
    try:
        dispose_engines()
        with session_scope(immediate=True) as s:
            add_user(s, "ada", "ada-password", role="admin")
        made = {p.name: _mode(p) for p in shared.glob("team.db*")}  # while open: the WAL files are there too
    finally:
        os.umask(old)
        dispose_engines()
    assert made == {"team.db": 0o600, "team.db-wal": 0o600, "team.db-shm": 0o600}


def test_an_existing_database_file_keeps_its_mode(home, tmp_path, monkeypatch):
    # A team that shares one SQLite file on purpose (a group-readable 0640, say) is not overruled.
    db_file = tmp_path / "team.db"
    db_file.touch()
    db_file.chmod(0o640)
    monkeypatch.setenv("GANAUG_DB_URL", f"sqlite:///{db_file}")
    dispose_engines()
    try:
        with session_scope(immediate=True) as s:
            add_user(s, "ada", "ada-password", role="admin")
    finally:
        dispose_engines()
    assert _mode(db_file) == 0o640
