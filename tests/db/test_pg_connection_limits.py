"""How long a PostgreSQL connection waits on a server's machine that went silent (a network cut, a machine gone):
asked of the connections themselves (libpq's effective parameters, the socket's options, the server's settings), not
of the arguments we pass."""

from __future__ import annotations

import os
import socket

import pytest
from sqlalchemy import text

from db.engine import PG_KEEPALIVES_COUNT, PG_KEEPALIVES_IDLE_S, PG_KEEPALIVES_INTERVAL_S, PG_SILENT_S, get_engine
from db.job_lease import SILENT_LIMIT_S, JobLease


def _limits(dbapi_connection) -> dict:
    """What libpq and the kernel hold for this connection's socket."""
    pgconn = dbapi_connection.pgconn
    effective = {o.keyword.decode(): o.val.decode() for o in pgconn.info if o.val is not None}
    sock = socket.socket(fileno=os.dup(pgconn.socket))
    try:
        return {"libpq": {k: effective.get(k) for k in ("tcp_user_timeout", "keepalives_idle")},
                "user_timeout_ms": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
                "keepalive": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                "keepalive_idle_s": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)}
    finally:
        sock.close()  # the duplicate only


def _server_limits(conn) -> list[str]:
    return [conn.execute(text(f"SHOW {name}")).scalar() for name in
            ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count", "tcp_user_timeout")]


@pytest.mark.parametrize("db", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_connection_gives_up_on_a_silent_server_within_a_minute_and_the_server_on_a_lease_s_worker_in_ten(db):
    # A query sent into a network cut was sent again for ≈ 15 min (Linux's tcp_retries2: TCP_USER_TIMEOUT was 0), and
    # one whose answer the cut swallowed waited for the kernel's first keepalive probe, after 2 h (TCP_KEEPIDLE 7200).
    if not hasattr(socket, "TCP_USER_TIMEOUT"):
        pytest.skip("TCP_USER_TIMEOUT is Linux's")
    assert PG_SILENT_S < SILENT_LIMIT_S  # a worker back from a cut the lease outlived finds its connections anew
    engine = get_engine()
    with engine.connect() as conn:  # a page's, a command's or the worker's session: the pool's connections
        assert _limits(conn.connection.dbapi_connection) == {
            "libpq": {"tcp_user_timeout": str(PG_SILENT_S * 1000), "keepalives_idle": "30"},
            "user_timeout_ms": PG_SILENT_S * 1000, "keepalive": 1, "keepalive_idle_s": 30}
        conn.execute(text("SELECT pg_advisory_xact_lock(1)"))  # a decision's transaction, here rolled back
        pooled = conn.connection.dbapi_connection
    ours = [str(v) for v in (PG_KEEPALIVES_IDLE_S, PG_KEEPALIVES_INTERVAL_S, PG_KEEPALIVES_COUNT, PG_SILENT_S * 1000)]
    with engine.connect() as conn:  # the same connection back from the pool, reset (rolled back) between
        # The server's side of it: a client gone while holding the log's lock blocked every decision for ≈ 2 h.
        assert conn.connection.dbapi_connection is pooled and _server_limits(conn) == ours
    # The URL's own options win over ours, the others still set.
    mine = get_engine(f"{db}?options=-c%20tcp_keepalives_idle%3D7", migrate=False)
    try:
        with mine.connect() as conn:
            assert _server_limits(conn) == ["7"] + ours[1:]
            # A role that may not read pg_settings (REVOKE … FROM PUBLIC; here a table of that name read first)
            # opened no connection at all, for the sake of these limits.
            conn.execute(text("CREATE SCHEMA shadow; CREATE TABLE shadow.pg_settings (name text)"))
            conn.commit()
    finally:
        mine.dispose()
    denied = get_engine(f"{db}?options=-c%20search_path%3Dshadow,pg_catalog", migrate=False)
    try:
        with denied.connect() as conn:
            assert _server_limits(conn)[0] != ours[0] and conn.scalar(text("SELECT count(*) FROM pg_settings")) == 0
    finally:
        denied.dispose()
    lease = JobLease(engine, 4242)
    assert lease.hold()
    try:
        assert _limits(lease._conn.connection.dbapi_connection)["user_timeout_ms"] == PG_SILENT_S * 1000
        # The server's side of the lease: its reply to a heartbeat's query caught by a cut no longer keeps it 15 min.
        assert lease._conn.execute(text("SHOW tcp_user_timeout")).scalar() == str(SILENT_LIMIT_S * 1000)
    finally:
        lease.release()
