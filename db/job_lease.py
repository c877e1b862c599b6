"""A running job's lease on PostgreSQL: while its worker runs it, the worker holds an advisory lock named by the job on
a connection of its own, and the sweep (`db.jobs.fail_stale_jobs`) leaves alone a job whose lease is held.

A heartbeat that stopped cannot tell a dead worker from one cut off from the database (a network cut between its machine
and the server, while the app and the other workers still reach it): the job runs on there, and a sweep that failed it
left its end, its run and its batches meeting a `failed` row. The server can tell the two apart better: a worker that is
killed, or stops, closes its connections and so ends its lease at once, and its job is swept as before; a cut leaves the
server's end of the connection open. The server then drops it when its probes go unanswered for about SILENT_LIMIT_S (a
machine that went down, a cut that lasts), or when no query has come on it for as long (a worker frozen or hung, whose
machine still answers the probes), ending the lease, and the job is swept. A worker back from a shorter cut beats again
and keeps its job. On SQLite, a file on the worker's own machine, there is no lease and no cut.

Through a connection pooler that hands one server connection to many clients between transactions (PgBouncer's
transaction mode), a session's advisory lock is not its own: the team's URL must reach the server, or a pooler in
session mode.
"""

from __future__ import annotations

import sys
from typing import Iterable, Optional

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

# The first of the two keys (pg_advisory_lock(int, int)); the job's id is the second. The single-key locks of the
# migrations, the log and the sign-ins live in another key space.
LEASE_KEY = 0x67616E  # "gan"

# How the server probes a worker's lease connection once it has been quiet (the worker runs a query on it each
# heartbeat): after KEEPALIVE_IDLE_S, then every KEEPALIVE_INTERVAL_S, dropping it after KEEPALIVE_COUNT unanswered.
KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT = 60, 30, 18
SILENT_LIMIT_S = KEEPALIVE_IDLE_S + KEEPALIVE_INTERVAL_S * KEEPALIVE_COUNT  # 10 min
# Why so long, when a dead worker's heartbeat is swept after 60 s: this is also how long a job of a machine gone (or a
# worker killed during a cut) stays "running", but the server cannot tell that machine from one cut off, and the lease
# is there to spare the latter. A shorter limit fails the job of every worker cut off for longer; the failed job tells
# the team to launch it again, and the worker, back, then stops its own at its next safe point (`db.jobs.redone_by`),
# its work since the cut lost. How busy a worker is does not matter: its kernel answers the probes.
# And how long the server keeps a lease connection on which no query came (PostgreSQL 14+'s idle_session_timeout):
# a worker that is frozen (SIGSTOP, `docker pause`, a hung process) no longer renews its lease, but its machine still
# answers the keepalive probes, so without this its job was never swept. The worker queries it every heartbeat.
IDLE_LIMIT_MS = SILENT_LIMIT_S * 1000
# The probes wait while the server has sent something that is not yet acknowledged (the answer to the heartbeat's
# query, when the cut comes between): the kernel sent it again for ≈ 15 min instead (tcp_retries2), and the lease held
# half as long again. PostgreSQL 12+'s tcp_user_timeout ends such a connection after SILENT_LIMIT_S as well; with it
# set, Linux drops a connection whose probes went unanswered once that long has passed (not after KEEPALIVE_COUNT).
SEND_LIMIT_MS = SILENT_LIMIT_S * 1000


class JobLease:
    """The worker's hold on one running job (PostgreSQL only; on SQLite every call does nothing)."""

    def __init__(self, engine: Engine, job_id: int):
        self.engine = engine
        self.job_id = job_id
        self._conn: Optional[Connection] = None

    def hold(self) -> bool:
        """Take the lease, or check that this worker still holds it; True when it does. Never waits: where the
        server still keeps this worker's connection from before a cut, that one holds it (the job is leased all the
        same), and a later call takes it once the server has dropped that one."""
        if self.engine.dialect.name != "postgresql":
            return False
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # a cut closed it on this side: take the lease again on a new connection
                self.release()
        conn = None
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            for name, value in (("tcp_keepalives_idle", KEEPALIVE_IDLE_S),
                                ("tcp_keepalives_interval", KEEPALIVE_INTERVAL_S),
                                ("tcp_keepalives_count", KEEPALIVE_COUNT)):
                conn.execute(text(f"SET {name} = {int(value)}"))
            _version_limits(conn)
            if conn.scalar(text("SELECT pg_try_advisory_lock(:k, :job)"), {"k": LEASE_KEY, "job": self.job_id}):
                self._conn = conn
                return True
            _drop(conn)  # its settings are the lease's: not for the pool's next user
        except Exception as e:  # out of reach now: the next heartbeat tries again
            _drop(conn)  # not left checked out of the pool, a beat at a time, until a garbage collection
            print(f"worker: job {self.job_id}: no lease on the database yet: {str(e).strip().splitlines()[0]}",
                  file=sys.stderr, flush=True)
        return False

    def release(self) -> None:
        """Give the lease up by closing its connection (the server ends the lock with it; an explicit unlock would
        only wait on a cut network)."""
        conn, self._conn = self._conn, None
        _drop(conn)


def _version_limits(conn: Connection) -> None:
    """SEND_LIMIT_MS and IDLE_LIMIT_MS on the lease's connection, where the server knows the setting (PostgreSQL 12
    and 14 and later)."""
    if conn.dialect.server_version_info >= (12,):
        conn.execute(text(f"SET tcp_user_timeout = {int(SEND_LIMIT_MS)}"))
    if conn.dialect.server_version_info >= (14,):
        conn.execute(text(f"SET idle_session_timeout = {int(IDLE_LIMIT_MS)}"))


def _drop(conn: Optional[Connection]) -> None:
    """Close a lease's connection for good: not back into the pool, which would keep the session and its lock."""
    if conn is not None:
        try:
            conn.invalidate()
            conn.close()
        except Exception:
            pass


def leased(session, job_ids: Iterable[int]) -> set[int]:
    """Those of `job_ids` whose lease a connection the server keeps open holds: their workers are alive, or cut off
    from the database for less than SILENT_LIMIT_S. Empty on SQLite."""
    wanted = [int(j) for j in job_ids]
    if not wanted or session.get_bind().dialect.name != "postgresql":
        return set()
    rows = session.execute(text(
        "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = :k "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"), {"k": LEASE_KEY})
    held = {int(r[0]) for r in rows}
    return {j for j in wanted if j in held}
