"""Many writers on one database, a writer killed mid-transaction: nothing lost, nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.audit import verify_chain
from db.engine import session_scope
from db.models import Batch, Event, Sample, SampleTag
from db.users import add_user
from tests.db.helpers import make_batch, sample_ids

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 8
DECISIONS = {"sqlite": 100, "postgresql": 50}  # per process; benchmarks/db_speed.py runs the full 8 × 1,000


def _python(*args: str, pause: str = "30") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "GANAUG_TEST_PAUSE": pause}
    return subprocess.Popen([sys.executable, "-m", "tests.db.writers", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_eight_processes_record_every_decision_and_keep_the_chain(db, home, toy):
    with session_scope(immediate=True) as s:
        admin = add_user(s, "ada", "ada-password", role="admin")
        for i in range(PROCESSES):
            add_user(s, f"r{i}", f"r{i}-password", by=admin)
        targets = sample_ids(s, make_batch(s, home, toy, n=PROCESSES).id)
    with session_scope() as s:
        before = s.scalar(select(func.count()).select_from(Event))
    n = DECISIONS[db.split(":")[0].split("+")[0]]
    procs = [_python("decide", db, str(home), f"r{i}", f"r{i}-password", str(targets[i]), str(n))
             for i in range(PROCESSES)]
    outputs = [p.communicate(timeout=240) for p in procs]
    for (out, err), p in zip(outputs, procs):
        assert p.returncode == 0 and out.split()[:1] == ["ok"], err[-2000:] or out
        assert "database is locked" not in err
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == before + PROCESSES * n
        per_actor = dict(s.execute(select(Event.actor, func.count()).where(Event.action.in_(("tag", "untag")))
                                   .group_by(Event.actor)).all())
        assert per_actor == {f"r{i}": n for i in range(PROCESSES)}
        assert s.scalar(select(func.count()).select_from(SampleTag)) == 0  # every tag was followed by its untag
        report = verify_chain(s)
    assert report.ok, report.message


def test_sigkill_in_the_middle_of_a_batch_leaves_none_of_it(db, home, toy, tmp_path):
    marker = tmp_path / "halfway"
    proc = _python("insert-batch", db, str(home), str(toy.id), "1000", str(marker))
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the writer never reached the middle of the batch"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Sample)) == 0
        assert s.scalar(select(func.count()).select_from(Batch)) == 0
    if db.startswith("sqlite"):
        import sqlite3

        con = sqlite3.connect(home / "ganaug.db")
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()


def test_an_uninterrupted_batch_is_all_there(db, home, toy, tmp_path):
    proc = _python("insert-batch", db, str(home), str(toy.id), "1000", str(tmp_path / "m"), pause="0")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and out.strip() == "committed", err[-2000:]
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Sample)) == 1000


def _commit_a_job_from_another_connection() -> None:
    import sqlite3

    from db.engine import database_url

    other = sqlite3.connect(database_url().removeprefix("sqlite:///"), timeout=5)
    other.execute("INSERT INTO jobs (kind, params, status, progress, message, stats, result, cancel_requested, "
                  "created_at) VALUES ('train', '{}', 'queued', 0, '', '{}', '{}', 0, '2026-01-01')")
    other.commit()
    other.close()


def test_a_plain_session_that_reads_then_writes_fails_when_another_writer_commits_in_between(home):
    # Why tests/conftest.py refuses such sessions: SQLite answers at once, without waiting out the busy timeout.
    from sqlalchemy.exc import OperationalError

    from db.models import Job

    with pytest.raises(OperationalError, match="database is locked"):
        with session_scope() as s:
            s.scalars(select(Job)).all()  # the read snapshot starts here
            _commit_a_job_from_another_connection()
            s.add(Job(kind="train", params={}, status="queued"))
            s.flush()


def test_an_immediate_session_that_reads_then_writes_makes_the_other_writer_wait(home):
    import threading

    from db.models import Job

    with session_scope() as s:  # migrates, so the other writer finds the table
        s.scalars(select(Job)).all()
    other = threading.Thread(target=_commit_a_job_from_another_connection)
    with session_scope(immediate=True) as s:
        s.scalars(select(Job)).all()
        other.start()
        other.join(timeout=0.5)
        assert other.is_alive()  # blocked on our write lock, not failing
        s.add(Job(kind="train", params={}, status="queued"))
    other.join(timeout=10)
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 2


def test_the_suite_records_a_session_of_our_code_that_reads_then_writes(home):
    # The guard in tests/conftest.py, shown to fire: code compiled as if it lived in ganaug/ opens a plain session.
    from tests import conftest

    code = (
        "from sqlalchemy import select\n"
        "from db.engine import session_scope\n"
        "from db.models import Job\n"
        "with session_scope() as s:\n"
        "    s.scalars(select(Job)).all()\n"
        "    s.add(Job(kind='train', params={}, status='queued'))\n"
    )
    exec(compile(code, str(Path(__file__).resolve().parents[2] / "ganaug" / "example.py"), "exec"), {})
    found, conftest.read_then_write[:] = list(conftest.read_then_write), []
    assert len(found) == 1 and found[0].startswith("INSERT INTO jobs after a read") and "ganaug/example.py" in found[0]


def test_a_database_gone_after_the_command_opened_it_is_one_line_and_exit_2(db, people):
    # A PostgreSQL server restarted or cut off mid-command raised OperationalError past `cli_errors`: a traceback.
    from tests.cli.helpers import assert_bad_input, ganaug
    from tests.db.helpers import database_gone

    with database_gone(db):
        result = ganaug("review", "pending")
    assert_bad_input(result, "error: the database ", " failed: ", "***@" if db.startswith("postgresql") else "sqlite:")
    assert ganaug("review", "pending").exit_code == 0  # and back once it answers again


def test_a_role_without_rights_on_the_log_is_one_line_and_records_nothing(db, people, toy, home):
    from sqlalchemy import text

    from db.engine import get_engine
    from tests.cli.helpers import assert_bad_input, run
    from tests.db.helpers import make_batch

    if not db.startswith("postgresql"):
        pytest.skip("privileges on a table are PostgreSQL's")
    with session_scope() as s:
        sample = sample_ids(s, make_batch(s, home, toy).id)[0]
    with get_engine().connect() as conn:  # the owner may take its own rights away, as an admin would another's
        conn.execute(text("REVOKE INSERT ON events FROM CURRENT_USER"))
        conn.commit()
    result = run("review", "tag", sample, "blur", "--user", "rex", env={"GANAUG_PASSWORD": "rex-password"})
    assert_bad_input(result, "refused: permission denied for table events", "GANAUG_DB_URL")
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(SampleTag)) == 0


def test_a_server_that_accepts_but_never_answers_is_one_line_not_a_hang(home, monkeypatch):
    # libpq waits for a connection without limit: a hung server (or a firewall dropping packets) held `ganaug` for
    # good, and the job worker's every try with it.
    import socket
    import threading

    import db.engine
    from db.errors import DatabaseUnavailable

    pytest.importorskip("psycopg")
    monkeypatch.setattr(db.engine, "PG_CONNECT_TIMEOUT_S", 1, raising=False)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # the kernel accepts the connection; nobody ever says a word on it
    url = f"postgresql+psycopg://nobody:secret@127.0.0.1:{silent.getsockname()[1]}/ganaug"
    said: list[BaseException] = []

    def connect() -> None:
        try:
            db.engine.get_engine(url)
        except BaseException as e:  # noqa: BLE001 - the test reads it
            said.append(e)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout=120)  # the 1 s limit, with room for a busy machine
    silent.close()
    assert not thread.is_alive(), "still waiting for a server that never answers"
    assert len(said) == 1 and isinstance(said[0], DatabaseUnavailable), said
    assert str(said[0]) == ("cannot open the database postgresql+psycopg://nobody:***@127.0.0.1:"
                            f"{url.rsplit(':', 1)[1].split('/')[0]}/ganaug: connection timeout expired")


def test_a_postgres_url_as_hosting_providers_write_it_says_how_to_write_it(home):
    # "Can't load plugin: sqlalchemy.dialects:postgres" named no way out: the scheme SQLAlchemy knows is postgresql.
    from db.engine import get_engine
    from db.errors import DatabaseUnavailable

    with pytest.raises(DatabaseUnavailable) as refused:
        get_engine("postgres://team:secret@db.example.org:5432/ganaug")
    assert str(refused.value) == ("cannot use the database URL postgres://team:***@db.example.org:5432/ganaug: Can't "
                                  "load plugin: sqlalchemy.dialects:postgres; write it postgresql+psycopg://…")
