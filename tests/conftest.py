"""Shared fixtures: every test gets its own GANAUG_HOME (a real folder, a real SQLite file)."""

from __future__ import annotations

import os
import re
import shutil
import traceback
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh GANAUG_HOME with its own SQLite database for this test."""
    from db.engine import dispose_engines

    path = tmp_path / "home"
    path.mkdir(mode=0o700)  # as ganaug makes one: a 0755 home has every command note that others may read it
    monkeypatch.setenv("GANAUG_HOME", str(path))
    monkeypatch.delenv("GANAUG_DB_URL", raising=False)
    dispose_engines()
    yield path
    dispose_engines()


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    # Every test that makes accounts (the app tests' `users` makes two) paid the production scrypt cost, 0.1–0.3 s a
    # hash: about half of an app test's set-up. A hash records its own cost, so signing in checks it all the same.
    monkeypatch.setattr("db.users.SCRYPT_N", 2**10)


@pytest.fixture(scope="session")
def digits_template(tmp_path_factory):
    """The demo dataset ingested once per session at 16×16; `digits` copies its database and links its images
    (ingesting takes seconds per test)."""
    from db.engine import dispose_engines
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    template = tmp_path_factory.mktemp("digits-template")
    saved = {k: os.environ.get(k) for k in ("GANAUG_HOME", "GANAUG_DB_URL")}
    os.environ["GANAUG_HOME"] = str(template)
    os.environ.pop("GANAUG_DB_URL", None)
    try:
        dispose_engines()
        ingest_dataset("demo:digits", "digits", IngestOptions(resolution=16))
        dispose_engines()  # closing the last connection checkpoints the WAL into ganaug.db
    finally:
        dispose_engines()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    pristine = tmp_path_factory.mktemp("digits-pristine")
    shutil.copytree(template / "datasets", pristine, dirs_exist_ok=True)
    _digits_files[template] = (pristine, _stamps(template / "datasets"))
    return template


# The template's images and arrays (~1,450 files) are hard-linked into each test's home, not copied: a copy took
# 0.3–0.5 s of every one of the ~250 tests that use `digits`, a link a few milliseconds. Tests read them; one that
# writes one in place (a tampering test) writes the template's too, so after each test a file whose size, mtime or
# mode changed is put back from a pristine copy (the test's home keeps what it wrote).
_digits_files: dict[Path, tuple[Path, dict]] = {}  # template → (pristine copy of its datasets/, {file: stamp})


def _stamps(folder: Path) -> dict:
    return {p.relative_to(folder): (st.st_size, st.st_mtime_ns, st.st_mode)
            for p in folder.rglob("*") if p.is_file() for st in [p.stat()]}


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(src, dst)


def _restore_written_in_place(template: Path) -> None:
    pristine, stamps = _digits_files[template]
    for rel, stamp in stamps.items():
        path = template / "datasets" / rel
        st = path.stat()
        if (st.st_size, st.st_mtime_ns, st.st_mode) != stamp:
            path.unlink()  # the test's link keeps its own bytes
            shutil.copy2(pristine / rel, path)


@pytest.fixture
def digits(home, digits_template):
    """The demo dataset ingested at 16×16 (small and fast) under the name 'digits': the session's home, its database
    copied, its images and arrays hard-linked (see `_digits_files`)."""
    from db.engine import dispose_engines

    dispose_engines()
    assert not (home / "ganaug.db").exists(), "request `digits` before anything opens the database"
    shutil.copytree(digits_template, home, dirs_exist_ok=True,
                    ignore=lambda folder, names: ["datasets"] if Path(folder) == digits_template else [])
    shutil.copytree(digits_template / "datasets", home / "datasets", copy_function=_link_or_copy)
    yield "digits"
    _restore_written_in_place(digits_template)


@pytest.fixture
def tiny_quick_budget(monkeypatch):
    """A --quick benchmark whose classifiers take a few small steps, for tests of what a benchmark runs, counts and
    records rather than of how well its classifier learns (the quick budget's 150 steps per arm took minutes)."""
    from ganaug_core.benchmark.classifier import Budget

    monkeypatch.setattr("ganaug.benchmarking.QUICK_BUDGET", Budget(steps=6, batch_size=16, width=4))


# --- SQLite: no deferred transaction may read and then write ---------------------------------------------------
#
# In WAL mode a transaction opened with a plain BEGIN that has read, then writes, must upgrade its read snapshot to
# the write lock. If any other connection committed in between, SQLite answers SQLITE_BUSY at once, without the
# busy timeout: "database is locked" while a job's heartbeat thread or another process writes now and then. Such
# a session must be `session_scope(immediate=True)`. This guard records every such transaction the suite runs, so
# the race shows on every run rather than once in a while (the browser test's worker failed on it).

_READ_SQL = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)
_WRITE_SQL = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
TESTS = Path(__file__).resolve().parent
DB = TESTS.parent / "db"
_deferred: dict[int, list] = {}  # DBAPI connection in a deferred transaction → [who began it, has it read yet]
read_then_write: list[str] = []


def _opener() -> str:
    """Whose session this is: the innermost frame of our code outside `db/` (db functions take their caller's)."""
    stack = traceback.extract_stack()
    if any(f.filename == str(DB / "migrate.py") for f in stack):
        return "?"  # migrations run under a file lock
    for f in reversed(stack):
        if (not f.filename.startswith("/") or "/site-packages/" in f.filename or f.filename.startswith(str(DB))
                or f.filename.endswith("tests/conftest.py")):
            continue
        return f"{f.filename}:{f.lineno} ({f.name})"
    return "?"


@event.listens_for(Engine, "begin")
def _track_begin(conn) -> None:
    # A connection the pool reset without a commit or rollback event must not carry its last transaction's state.
    _deferred.pop(id(conn.connection.dbapi_connection), None)
    if conn.dialect.name != "sqlite" or conn.get_execution_options().get("ganaug_immediate"):
        return
    opener = _opener()
    if not opener.startswith((str(TESTS), "?")):  # a test's own set-up session races nothing
        _deferred[id(conn.connection.dbapi_connection)] = [opener, False]


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _track_end(conn) -> None:
    if conn.dialect.name == "sqlite":
        _deferred.pop(id(conn.connection.dbapi_connection), None)


@event.listens_for(Engine, "before_cursor_execute")
def _track_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    state = _deferred.get(id(conn.connection.dbapi_connection)) if conn.dialect.name == "sqlite" else None
    if state is None:
        return
    if _READ_SQL.match(statement):
        state[1] = True
    elif _WRITE_SQL.match(statement) and state[1]:
        read_then_write.append(f"{' '.join(statement.split()[:3])} after a read, in the session of {state[0]}")
        state[1] = False  # one report per transaction


@pytest.fixture(autouse=True)
def no_read_then_write():
    read_then_write.clear()
    yield
    found = sorted(set(read_then_write))
    read_then_write.clear()
    assert not found, "deferred SQLite transactions that read, then wrote (use session_scope(immediate=True)):\n" + "\n".join(found)
