"""Engine and sessions. The URL is GANAUG_DB_URL, or a SQLite file in GANAUG_HOME.

SQLite is opened in WAL mode with a busy timeout so that readers never block the writer and concurrent writers
wait instead of failing; migrations are applied automatically the first time an engine is made for a URL.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from contextlib import contextmanager
from time import sleep
from typing import Callable, Iterator, Optional, TypeVar

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.exc import DatabaseError as SQLAlchemyDatabaseError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from db.errors import DatabaseUnavailable
from ganaug_core.errors import FREE_SPACE
from ganaug_core.paths import home

SQLITE_BUSY_TIMEOUT_MS = 30_000
# libpq waits for a connection without limit by default: a server whose machine hangs, or a firewall that drops
# packets, held every command (and each of the worker's tries) for good. A URL's own `?connect_timeout=` wins.
PG_CONNECT_TIMEOUT_S = 10
# Once connected, libpq kept the kernel's defaults: a query sent into a network cut (a machine gone, a firewall that
# drops packets) was sent again for ≈ 15 min (tcp_retries2) before it failed, and one whose answer the cut swallowed
# waited for the first keepalive probe, after 2 h. Both now fail after PG_SILENT_S without a word from the server's
# machine, whose kernel acknowledges and answers the probes however long a query runs: a slow server is not a gone
# one. Well inside the lease's SILENT_LIMIT_S (db/job_lease.py): a worker cut off for less has given up its stuck
# connections and opens new ones as soon as the network is back, rather than wait on one in the kernel's backoff (up
# to 2 min between tries), and so beats before the server drops its lease. The URL's own settings win
# (`?tcp_user_timeout=`, `?keepalives_idle=`, …).
PG_SILENT_S = 60
PG_KEEPALIVES_IDLE_S, PG_KEEPALIVES_INTERVAL_S = 30, 10  # probes from 30 s of silence; TCP_USER_TIMEOUT then drops
# the connection once PG_SILENT_S have passed with no answer (Linux lets it override the probes' count)
PG_KEEPALIVES_COUNT = max(1, (PG_SILENT_S - PG_KEEPALIVES_IDLE_S) // PG_KEEPALIVES_INTERVAL_S)
# The server's side of the same connection kept the server kernel's defaults: a client gone mid-transaction (a laptop
# closed, a CLI's machine down, a cut) kept its locks, the decision log's advisory lock among them (`db.audit`), and so
# blocked every other decision until the server's first keepalive probe, after 2 h. Set on each new connection where the
# server's built-in default is in effect: a value from the URL or PGOPTIONS (`?options=-c tcp_keepalives_idle=…`),
# the role or database (ALTER ROLE … SET) or the server's postgresql.conf (its DBA's) is left as it is; through
# pg_settings, which has no tcp_user_timeout before PostgreSQL 12: one query per connection, not per checkout. Not as
# `options` at startup, which costs nothing: a server before 12 refuses a connection that names tcp_user_timeout, a
# PgBouncer one whose options it does not track, and libpq ignores PGOPTIONS once `options` is given. Through a pooler
# they reach its connection to the server; the pooler's own settings (PgBouncer's tcp_user_timeout) watch the client.
_PG_SERVER_LIMITS = {"tcp_keepalives_idle": PG_KEEPALIVES_IDLE_S, "tcp_keepalives_interval": PG_KEEPALIVES_INTERVAL_S,
                     "tcp_keepalives_count": PG_KEEPALIVES_COUNT, "tcp_user_timeout": PG_SILENT_S * 1000}
_PG_SET_SERVER_LIMITS = (
    "SELECT set_config(name, ours.value, false) FROM pg_settings JOIN (VALUES "
    + ", ".join(f"('{name}', '{value}')" for name, value in _PG_SERVER_LIMITS.items())
    + ") AS ours(name, value) USING (name) WHERE source = 'default'")

T = TypeVar("T")
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def database_url() -> str:
    return os.environ.get("GANAUG_DB_URL") or f"sqlite:///{home() / 'ganaug.db'}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # The driver's own transaction handling is switched off so that we can issue BEGIN IMMEDIATE ourselves
    # (see `begin_immediate`); SQLAlchemy's docs describe this recipe for pysqlite.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _sqlite_begin(conn) -> None:
    immediate = conn.get_execution_options().get("ganaug_immediate")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def get_engine(url: Optional[str] = None, migrate: bool = True) -> Engine:
    """One engine per URL per process, migrated to the current schema on first use."""
    url = url or database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            try:
                if url.startswith("sqlite"):
                    _create_private(url)
                    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
                    event.listen(engine, "connect", _sqlite_pragmas)
                    event.listen(engine, "begin", _sqlite_begin)
                elif url.startswith("postgresql"):
                    engine = create_engine(url, pool_pre_ping=True, connect_args=_pg_connect_args(make_url(url)))
                    event.listen(engine, "connect", _pg_server_limits)
                else:
                    engine = create_engine(url, pool_pre_ping=True)
            except (ArgumentError, ValueError, ImportError) as e:  # a URL that does not parse (ValueError: its port
                # is not a number); a dialect or driver not installed
                # postgres:// is what hosting providers hand out; SQLAlchemy knows the dialect as postgresql
                hint = "; write it postgresql+psycopg://…" if url.split(":", 1)[0] == "postgres" else ""
                raise DatabaseUnavailable(f"cannot use the database URL {_shown(url)}: {_first_line(e)}{hint}",
                                          lasting=True) from None
            if migrate:
                from db.migrate import upgrade

                try:
                    upgrade(engine)  # the first connection
                except DatabaseUnavailable as e:  # a newer ganaug's schema; a role that may not migrate: lasting
                    engine.dispose()
                    e.lasting = True
                    raise
                except (OperationalError, InterfaceError, SQLAlchemyDatabaseError) as e:
                    engine.dispose()
                    orig = getattr(e, "orig", None) or e
                    raise DatabaseUnavailable(f"cannot open the database {_shown(url)}: {_reason(orig, url)}",
                                              lasting=_refused_for_good(orig)) from None
            _engines[url] = engine
        return engine


def _pg_connect_args(url) -> dict:
    """libpq's limits on a connection (PG_CONNECT_TIMEOUT_S, PG_SILENT_S), those the URL sets left to it. Only the
    libpq drivers know them; tcp_user_timeout needs a libpq of PostgreSQL 12 or later (the server's version does not
    matter: the setting is this side's socket's)."""
    args: dict = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    libpq = _libpq_version(url.get_driver_name())
    if libpq is not None:
        args.update(keepalives=1, keepalives_idle=PG_KEEPALIVES_IDLE_S, keepalives_interval=PG_KEEPALIVES_INTERVAL_S,
                    keepalives_count=PG_KEEPALIVES_COUNT)
        if libpq >= 120000:
            args["tcp_user_timeout"] = PG_SILENT_S * 1000
    return {k: v for k, v in args.items() if k not in url.query}


def _pg_server_limits(dbapi_conn, _record) -> None:
    """The server's side of a new connection gives up on a silent client as this side does on it (_PG_SERVER_LIMITS).
    Committed: a setting made in a transaction that rolls back is undone, and the pool's reset rolls back. A query
    the server refuses leaves the server's defaults: a role that may not read pg_settings (a hardened server revokes
    it) opened no connection at all, every page and command "cannot open the database", for an extra: without it the
    server keeps a gone client's locks until its kernel's first probe, as it did before. A connection that is gone
    fails in the rollback, as it should."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute(_PG_SET_SERVER_LIMITS)
    except Exception:  # the driver's own error classes: psycopg 3's or psycopg2's
        dbapi_conn.rollback()
        return
    finally:
        cur.close()
    dbapi_conn.commit()


def _libpq_version(driver: str) -> Optional[int]:
    """The version of the libpq that `driver` talks through (120000: 12.0), or None for a driver without libpq."""
    try:
        if driver == "psycopg":
            import psycopg

            return psycopg.pq.version()
        if driver == "psycopg2":
            import psycopg2.extensions

            return psycopg2.extensions.libpq_version()
    except ImportError:  # the driver's own error comes at create_engine, as before
        return None
    return None


def _create_private(url: str) -> None:
    """Create a SQLite URL's file, if it does not exist yet, for its owner only (0600), as the home is (0700,
    `ganaug_core.paths.home`): it holds the password hashes, and SQLite made it with the umask's 0644, readable by
    every account, when GANAUG_DB_URL named a file outside the home. SQLite gives its -wal, -shm and -journal files
    the database file's mode. A file that exists keeps its mode; a folder that does not exist is left to SQLite's own
    error."""
    parsed = make_url(url)
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:") or parsed.query.get("uri"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:  # it exists (kept as it is), or cannot be made (SQLite says why)
        pass


# What a server that is starting up, shutting down or full answers at connection time: it passes.
_PASSING_REFUSALS = ("starting up", "shutting down", "in recovery", "not yet accepting", "too many clients",
                     "connection slots")


def _refused_for_good(orig: BaseException) -> bool:
    """A server's own refusal of the connection that no wait ends: a wrong password, a role or database that does
    not exist, an address pg_hba.conf refuses. libpq gives these as text (no SQLSTATE) with the server's FATAL."""
    text = str(orig)
    return "FATAL:" in text and not any(p in text for p in _PASSING_REFUSALS)


# A password may also sit in the query (`?password=`, `&sslpassword=`: libpq reads both), in a libpq keyword string
# (`host=db password=...`, which does not parse as a URL), or in a URL that does not parse (`user:pw@host/db`, no
# scheme; a port that is not a number): SQLAlchemy's hide_password masks none of these, and the line reaches the
# terminal, the worker's log and, through a page's database error, the browser of anyone who opens the sign-in page.
_SECRET_IN_QUERY = re.compile(r"(password=)('[^']*'|[^&\s]*?(?=['\"]?(?:$|[&\s])))", re.IGNORECASE)  # a quote
# that closes the repr of a string that does not parse is kept
_SECRET_IN_USERINFO = re.compile(r"([^\s:/@'\"]+:)[^\s@/]+@")


def _shown(url: str) -> str:
    """The URL for a message, every password in it masked."""
    try:
        text = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        text = repr(url)
    return _SECRET_IN_QUERY.sub(r"\1***", _SECRET_IN_USERINFO.sub(r"\1***@", text))


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


# SQLite's result codes (`sqlite3.Error.sqlite_errorcode`) for a disk with no room: SQLITE_FULL, a file or its WAL
# that cannot grow ("database or disk is full"), and SQLITE_IOERR_SHMSIZE, no room for the 32 KiB index a WAL
# database needs beside it to be opened at all ("disk I/O error", which reads as a failing drive). Another I/O error
# counts where the disk has less than SQLITE_ROOM left.
_SQLITE_FULL, _SQLITE_IOERR, _SQLITE_IOERR_SHMSIZE = 13, 10, 4874
SQLITE_ROOM = 64 * 1024


def _reason(orig: BaseException, url: str) -> str:
    """The driver's first line; for a SQLite file that has no room to write, where and what to free. On a full disk
    every command stopped at "cannot open the database …: disk I/O error", `runs du` and `runs prune` too, though
    the same error asked them to free space."""
    said = _first_line(orig)
    code = getattr(orig, "sqlite_errorcode", None)
    if not isinstance(code, int) or not url.startswith("sqlite"):
        return said
    folder = os.path.dirname(os.path.abspath(make_url(url).database or "."))
    try:
        stat = os.statvfs(folder)
        free: Optional[int] = stat.f_bavail * stat.f_frsize
    except OSError:
        free = None
    full = free is not None and free < SQLITE_ROOM
    if code not in (_SQLITE_FULL, _SQLITE_IOERR_SHMSIZE) and not (code & 0xFF == _SQLITE_IOERR and full):
        return said
    where = (f"the disk holding it is full ({free:,} bytes free in {folder})" if full
             else f"no room to write beside it in {folder} (a quota or `ulimit -f`)")
    if code == _SQLITE_FULL:
        return f"{said}: {where}: {FREE_SPACE}, then run it again"
    return (f"{said}: {where}: SQLite opens the database only with 32 kB to write beside it, so no ganaug command "
            "runs, `ganaug runs prune` neither: delete or move other files on that disk, then run it again")


def database_failure(e: BaseException) -> Optional[str]:
    """One line for an error that is the database's, not the input's or the code's, else None: a server that went
    away after the command opened it (a restart, a cut network), one that cannot be opened, a role without rights
    on a table."""
    if isinstance(e, DatabaseUnavailable):
        return str(e)
    if isinstance(e, (OperationalError, InterfaceError)):
        return f"the database {_shown(database_url())} failed: {_reason(e.orig or e, database_url())}"
    if isinstance(e, SQLAlchemyDatabaseError) and getattr(e.orig, "sqlstate", None) == "42501":
        # PostgreSQL's insufficient_privilege: the role in the URL may not read or write this table
        return (f"the database {_shown(database_url())} refused: {_first_line(e.orig)} (ask its owner to grant "
                "the role in GANAUG_DB_URL its rights)")
    return None


def once_answering(record: Callable[[Session], T], waiting: str, give_up: Callable[[], bool] = lambda: False,
                   poll_s: float = 1.0) -> T:
    """`record(session)` in a write session, tried again every `poll_s` while the database fails (a PostgreSQL
    server restarting or out of reach), so that what is already done (a saved checkpoint, a job's end) is recorded
    rather than lost; `waiting` is printed once on stderr, with why. Raises as soon as the error is not the
    database's, or when `give_up()` says so (a worker asked to stop)."""
    said = False
    while True:
        try:
            with session_scope(immediate=True) as s:
                return record(s)
        except Exception as e:
            message = database_failure(e)
            if message is None or give_up():
                raise
            if not said:
                print(f"{waiting}: {message}", file=sys.stderr, flush=True)
                said = True
            sleep(poll_s)


def dispose_engines() -> None:
    """Forget cached engines: the tests switch GANAUG_HOME (and so the database) between cases."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(url: Optional[str] = None, immediate: bool = False, snapshot: bool = False) -> Iterator[Session]:
    """A session that commits on success, rolls back on error and always closes.

    `immediate=True` takes SQLite's write lock at BEGIN, so a read-then-write (the audit chain's last hash, a
    state check before a decision) cannot interleave with another writer; on PostgreSQL callers add row or
    advisory locks instead. Every session that reads and then writes needs it: in WAL mode a plain BEGIN that
    has read must upgrade its snapshot to write, and if another connection committed meanwhile (a job's
    heartbeat, say) SQLite fails at once with "database is locked", without waiting out the busy timeout. The
    test suite records any session that does so (tests/conftest.py).

    `snapshot=True`, for a session that only reads: every statement sees the database as its first one did. A check
    that reads the log and then the state tables (`ganaug audit verify`, the gate) compares one moment, not the log
    before a colleague's decision with the tables after it, which read as tables edited behind the log's back
    ("STATE DIFFERS", exit 1, on a team writing meanwhile). PostgreSQL's default, READ COMMITTED, takes a new
    snapshot per statement, so it is asked for REPEATABLE READ; SQLite's deferred transaction already keeps the
    snapshot of its first read.
    """
    engine = get_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        if immediate:
            session.connection(execution_options={"ganaug_immediate": True})
        elif snapshot and engine.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
