"""Apply alembic migrations from code: `get_engine()` calls `upgrade` once per process and URL.

Several processes may start at once (the app, the worker, eight CLI writers in a test), so the upgrade runs
under a lock: a file lock beside a SQLite database, an advisory lock on PostgreSQL.

Two upgrades cannot run from just any process, and each says in one line what to run instead: a database that a
newer ganaug already migrated (this one cannot go back, nor know that schema), and, on PostgreSQL, a team's role
that may not alter the tables (README, "A team on PostgreSQL": the owner migrates, then grants the new tables).
"""

from __future__ import annotations

import shlex
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import URL, Engine, text
from sqlalchemy.exc import DBAPIError

from db.errors import DatabaseUnavailable
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
    current = current_revision(engine)
    if revision == "head" and current == head_revision():
        return
    _refuse_unknown(engine, current)
    with _migration_lock(engine):
        try:
            command.upgrade(alembic_config(engine), revision)
        except DBAPIError as e:
            if engine.dialect.name == "postgresql" and getattr(e.orig, "sqlstate", None) == "42501":
                raise DatabaseUnavailable(_owner_must_migrate(engine, current, e)) from None
            raise


def _refuse_unknown(engine: Engine, current: str | None) -> None:
    """A revision this checkout has no migration for was written by a newer ganaug: say so, not alembic's traceback."""
    if current is None:
        return
    try:
        ScriptDirectory(str(MIGRATIONS)).get_revision(current)
    except CommandError:
        raise DatabaseUnavailable(
            f"the database {_shown(engine)} has schema revision {current}, which this ganaug does not know (its newest "
            f"is {head_revision()}): a newer ganaug migrated it; update this checkout (`git pull`, then `make setup`) "
            "rather than use an older one on it") from None


def _owner_must_migrate(engine: Engine, current: str | None, e: DBAPIError) -> str:
    """The two commands a PostgreSQL team's role cannot run itself: the owner migrates, then grants the new tables."""
    url = engine.url
    with engine.connect() as conn:
        role = url.username or conn.scalar(text("SELECT current_user"))  # a URL without one: libpq's default
        # No tables yet: the database's own owner (it was "their owner OWNER", a placeholder, in the message)
        owner = (conn.scalar(text("SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() "
                                  "AND tablename = 'alembic_version'"))
                 or conn.scalar(text("SELECT pg_get_userbyid(datdba) FROM pg_database "
                                     "WHERE datname = current_database()")))
    migrate, grant = owners_commands(url, role, owner)
    reason = (str(e.orig).strip().splitlines() or ["permission denied"])[0]
    has = f"has schema {current}" if current else "has no tables yet"
    return (f"the database {_shown(engine)} {has} and this ganaug needs {head_revision()}, "
            f"but role {role} may not change its tables ({reason}): migrate it once as their owner {owner}, "
            f"`{migrate}`, then give {role} its rights on the new tables again, `{grant}`")


def owners_commands(url: URL, role: str, owner: str) -> tuple[str, str]:
    """What the owner runs in a shell after an upgrade: the migration, then the team's grants. The role goes into
    the SQL as a quoted identifier: unquoted, PostgreSQL folds `Team` to another role, `team`, and `ga-team` is a
    syntax error. Each piece is quoted for the shell too, so a `'` in a name cannot end a `-c` early."""
    owner_url = url.set(username=owner, password="PASSWORD").render_as_string(hide_password=False)
    who = sql_identifier(role)
    statements = [f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {who}",
                  f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {who}",
                  f"REVOKE UPDATE, DELETE ON events FROM {who}",
                  # The schema's revision is the owner's to set: with UPDATE on it, the team's role could stop every
                  # command of the team ("a newer ganaug migrated it") with one statement.
                  f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {who}"]
    psql = ["psql", "-h", url.host or "localhost", "-p", str(url.port or 5432), "-U", owner, url.database or ""]
    for statement in statements:
        psql += ["-c", statement]
    return f"GANAUG_DB_URL={shlex.quote(owner_url)} ganaug users list", shlex.join(psql)


def sql_identifier(name: str) -> str:
    """`name` as PostgreSQL reads an identifier verbatim: in double quotes, each of its own doubled."""
    return '"' + name.replace('"', '""') + '"'


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
