"""The db suite runs twice: on a SQLite file and on PostgreSQL (when GANAUG_TEST_PG_URL, or a postgresql
GANAUG_DB_URL, names a server; the role needs CREATEDB).

`db` gives each test a fresh, migrated database: a new SQLite file in the test's GANAUG_HOME, or a new database
created on the PostgreSQL server and dropped afterwards. Tests that exercise SQLite itself (raw file edits,
many processes on one file) use the `home` fixture directly.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from contextlib import contextmanager
from typing import Iterator, Optional

import pytest

# Read at import, before the `home` fixture clears GANAUG_DB_URL for the SQLite cases.
PG_URL = os.environ.get("GANAUG_TEST_PG_URL") or (
    os.environ.get("GANAUG_DB_URL") if os.environ.get("GANAUG_DB_URL", "").startswith("postgresql") else None
)
LONG_UP = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)  # a server start before any heartbeat a test makes
PG_SKIP = "PostgreSQL not configured: set GANAUG_TEST_PG_URL (source .ci/postgres.sh) to run these cases"


def _pg_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def scratch_database(prefix: str, template: Optional[str] = None) -> Iterator[str]:
    """A new PostgreSQL database (a copy of `template`, else empty), its URL; dropped afterwards, with this process's
    engines disposed first."""
    from sqlalchemy import create_engine, text

    from db.engine import dispose_engines

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield _pg_url(name)
    finally:
        dispose_engines()
        _drop(admin, name)
        admin.dispose()


def _drop(admin, name: str, tries: int = 20) -> None:
    """DROP DATABASE … WITH (FORCE), tried again for a few seconds: an autovacuum worker that just connected to the
    new database is the server's own process, which a role that is not a superuser may not terminate."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    for attempt in range(tries):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError:
            if attempt == tries - 1:
                raise
            time.sleep(0.25)


@pytest.fixture(scope="session")
def pg_template():
    """A migrated database to copy per test: CREATE DATABASE ... TEMPLATE is far faster than migrating each time."""
    from sqlalchemy import create_engine, text

    from db.migrate import upgrade

    name = f"ganaug_tmpl_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(_pg_url(name))
    upgrade(engine)
    engine.dispose()  # a template must have no open connections while it is copied
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request, home, monkeypatch):
    """A fresh migrated database for one test; yields its URL (GANAUG_DB_URL is set to it for PostgreSQL)."""
    from db.engine import dispose_engines, get_engine

    if request.param == "sqlite":
        get_engine()
        yield f"sqlite:///{home / 'ganaug.db'}"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    # The sweep spares jobs while the server has been up for less than their stale limit (`db.jobs.fail_stale_jobs`);
    # the tests' heartbeats, made minutes old, would outdate a cluster the suite started a minute ago.
    monkeypatch.setattr("db.jobs.server_started", lambda session: LONG_UP)
    with scratch_database("ganaug_t", request.getfixturevalue("pg_template")) as url:
        monkeypatch.setenv("GANAUG_DB_URL", url)
        dispose_engines()
        get_engine()
        yield url


@pytest.fixture
def toy(db, home):
    """A small dataset 'toy': 6 + 3 train and 2 + 2 test images of classes 0 and 1, real PNG files."""
    from db.engine import session_scope
    from tests.db.helpers import make_dataset

    with session_scope() as s:
        return make_dataset(s, home)


@pytest.fixture
def people(db):
    """An admin 'ada', a reviewer 'rex' and a disabled reviewer 'dan' (passwords: '<name>-password')."""
    from db.engine import session_scope
    from db.users import add_user, set_active

    with session_scope(immediate=True) as s:
        ada = add_user(s, "ada", "ada-password", role="admin")
        rex = add_user(s, "rex", "rex-password", role="reviewer", by=ada)
        dan = add_user(s, "dan", "dan-password", role="reviewer", by=ada)
        set_active(s, "dan", False, by=ada)
    return dict(ada=ada, rex=rex, dan=dan)
