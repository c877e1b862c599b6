"""A full disk under the SQLite database. On a 40 MB tmpfs with no byte free every command, `runs du` and `runs prune`
too, said "cannot open the database …: disk I/O error" (SQLite could not make the 32 KiB index a WAL database needs
beside it), which reads as a failing drive; with a few kB free a decision said "… failed: database or disk is full",
naming nothing to free. Each now says the disk is full, where, and what frees it; nothing was recorded, and with room
again the same command works and the log verifies."""

from __future__ import annotations

import os
from types import SimpleNamespace

from sqlalchemy import event

from tests.cli.helpers import assert_bad_input, ganaug
from tests.full_disk import files_end_at

FREE_SPACE = "free space (`ganaug runs du`, `ganaug runs prune --all`), then run it again"


def _no_byte_free(monkeypatch):
    real = os.statvfs
    monkeypatch.setattr(os, "statvfs", lambda p: SimpleNamespace(**{**{k: getattr(real(p), k) for k in dir(real(p))
                                                                        if k.startswith("f_")}, "f_bavail": 0}))


def test_a_database_that_cannot_be_opened_on_a_full_disk_says_the_disk_is_full(home, monkeypatch):
    from db.engine import dispose_engines

    assert ganaug("runs", "list").exit_code == 0
    dispose_engines()  # its -shm file goes with the last connection: the next one must make it again
    with files_end_at(3):  # SQLite's own error, SQLITE_IOERR_SHMSIZE, as on the tmpfs (its -shm stopped at 3 bytes)
        quota = ganaug("runs", "list")
        _no_byte_free(monkeypatch)
        full = ganaug("runs", "prune", "--all")
    assert_bad_input(quota, f"cannot open the database sqlite:///{home}/ganaug.db: disk I/O error: no room to write "
                     f"beside it in {home} (a quota or `ulimit -f`): SQLite opens the database only with 32 kB")
    assert_bad_input(full, f"disk I/O error: the disk holding it is full (0 bytes free in {home}): SQLite opens the "
                     "database only with 32 kB to write beside it, so no ganaug command runs, `ganaug runs prune` "
                     "neither: delete or move other files on that disk, then run it again")
    monkeypatch.undo()
    assert ganaug("runs", "list").exit_code == 0


def test_a_decision_on_a_database_that_cannot_grow_says_what_to_free_and_records_nothing(home, monkeypatch):
    from db.engine import get_engine

    monkeypatch.setenv("GANAUG_PASSWORD", "alice-password-1")
    assert ganaug("users", "add", "alice", "--role", "admin").exit_code == 0
    engine = get_engine()

    def cannot_grow(dbapi_conn, _record):  # SQLite's SQLITE_FULL, "database or disk is full", as on the tmpfs
        dbapi_conn.execute("PRAGMA max_page_count = 1")  # raised to the file's size: no page more

    event.listen(engine, "connect", cannot_grow)
    engine.dispose()
    description = "x" * 20_000  # more than a page's room
    _no_byte_free(monkeypatch)
    assert_bad_input(ganaug("tags", "add", "glare", "--description", description, "--user", "alice"),
                     f"failed: database or disk is full: the disk holding it is full (0 bytes free in {home}): "
                     + FREE_SPACE)
    event.remove(engine, "connect", cannot_grow)
    engine.dispose()
    assert "glare" not in ganaug("tags", "list").output
    assert ganaug("tags", "add", "glare", "--description", description, "--user", "alice").exit_code == 0
    assert ganaug("audit", "verify").exit_code == 0
