"""Apply alembic migrations from code: `get_engine()` calls `upgrade` once per process and URL.

Several processes may start at once (the app, the worker, eight CLI writers in a test), so the upgrade runs
under a lock: a file lock beside a SQLite database, an advisory lock on PostgreSQL.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from ganaug_core.paths import file_lock

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x6A6E6175  # any constant shared by all ganaug processes


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _migration_lock(engine: Engine):
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with file_lock(Path(engine.url.database).with_suffix(".migrate.lock")):
            yield
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
    else:
        yield


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the newest schema)."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), revision)
