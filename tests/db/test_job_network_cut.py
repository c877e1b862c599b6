"""A worker cut off from the database alone (a network cut between its machine and the PostgreSQL server, while the
app and the other workers still reach it) keeps its job: no sweep fails it while the server keeps the worker's
connection, and its end is recorded when the network is back. A worker killed outright closes its connection, and
its job is swept as before; one that comes back after a sweep failed its job anyway runs it on to its end.

The worker reaches the server through a TCP proxy in this process. A cut closes the worker's side of each
connection and refuses new ones (or answers them with nothing, as a network that drops packets), and keeps the
server's side open, as the server sees a cut network: nothing arrives and nothing closes."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import pytest
from sqlalchemy.engine import make_url

from db.engine import get_engine, session_scope
from db.job_lease import JobLease, leased
from db.jobs import claim_job, fail_stale_jobs, get_job, job_detail, submit_job
from db.models import Job, db_now
from tests.cli.helpers import ganaug


class CuttableLink:
    """A TCP proxy to `host:port` on 127.0.0.1:`self.port`, on an event loop of its own thread."""

    def __init__(self, host: str, port: int, dropping: bool = False):
        self.target = (host, port)
        self.dropping = dropping  # a cut answers new connections with nothing at all, as one that drops packets
        self.cut_off = False
        self.links: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []  # (worker's side, server's side)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="cuttable-link")
        self.thread.start()
        self.server = self._call(asyncio.start_server(self._link, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    async def _link(self, from_worker, to_worker) -> None:
        if self.cut_off:  # nothing gets through
            while self.dropping and self.cut_off:
                await asyncio.sleep(0.05)
            to_worker.transport.abort()
            return
        from_server, to_server = await asyncio.open_connection(*self.target)
        self.links.append((to_worker, to_server))
        try:
            await asyncio.gather(self._pipe(from_worker, to_server), self._pipe(from_server, to_worker))
        except asyncio.CancelledError:  # the link closed for good
            pass

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        if not self.cut_off:  # an end that the far side sees; a cut's is seen by nobody
            writer.transport.abort()

    async def _cut(self) -> None:
        self.cut_off = True
        for to_worker, _ in self.links:
            to_worker.transport.abort()

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self.cut_off = False

    async def _close(self) -> None:
        self.server.close()
        for to_worker, to_server in self.links:
            to_worker.transport.abort()
            to_server.transport.abort()
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        self._call(self._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _held_until(event: threading.Event, monkeypatch) -> None:
    """The `sleep` job starts sleeping only once `event` is set: what the test does while the job runs is done
    before it can end, however late a busy machine wakes the test's thread (a job of half a second ended first)."""
    from ganaug import job_handlers

    real = job_handlers.HANDLERS["sleep"]

    def held(params, progress, should_stop):
        assert event.wait(timeout=60)
        return real(params, progress, should_stop)

    monkeypatch.setitem(job_handlers.HANDLERS, "sleep", held)


def _job(url, job_id):
    with session_scope(url) as s:
        return get_job(s, job_id)


def _postgresql(db):
    if not db.startswith("postgresql"):
        pytest.skip("a SQLite file sits on the worker's own machine: no network between them")


def test_a_worker_cut_off_from_the_database_keeps_its_job_and_records_its_end(db, monkeypatch):
    _postgresql(db)
    from ganaug import running_job, worker

    monkeypatch.setattr(running_job, "HEARTBEAT_S", 0.1)
    cut = threading.Event()
    _held_until(cut, monkeypatch)  # its steps and its end come during the cut
    server = make_url(db)
    link = CuttableLink(server.host, server.port)
    through = server.set(host="127.0.0.1", port=link.port).render_as_string(hide_password=False)
    with session_scope(db) as s:
        job_id = submit_job(s, "sleep", {"seconds": 0.6, "steps": 6}, None).id
    monkeypatch.setenv("GANAUG_DB_URL", through)  # the worker's machine: its every connection goes through the link
    ended = []
    thread = threading.Thread(target=lambda: ended.append(worker.execute_job(job_id)))
    try:
        thread.start()
        with session_scope(db) as s:  # the app, on the server's own network, sees the worker's lease
            _wait_for(lambda: leased(s, [job_id]) == {job_id})
        link.cut()
        cut.set()
        time.sleep(0.5)  # no heartbeat gets through meanwhile
        with session_scope(db, immediate=True) as s:
            assert fail_stale_jobs(s, max_age_s=0.3) == []  # was [job_id]: failed while it ran on
        assert _job(db, job_id).status == "running"
        link.restore()
        thread.join(timeout=30)
    finally:
        cut.set()
        link.restore()
        thread.join(timeout=30)
        link.close()
    job = _job(db, job_id)
    assert ended == ["done"]
    assert (job.status, job.error, job.result) == ("done", None, {"slept_steps": 6, "stopped": False})


def test_a_killed_worker_s_job_is_swept_once_its_lease_ends_and_says_why_it_waits(db, home):
    _postgresql(db)
    from ganaug.running_job import STALE_AFTER_S
    from pages.jobs import fail_if_worker_died

    with session_scope(immediate=True) as s:
        job_id = submit_job(s, "sleep", {}, None).id
        claim_job(s, job_id, 11)
    lease = JobLease(get_engine(), job_id)  # the worker's connection: the server keeps it while nothing closes it
    assert lease.hold() and lease.hold()
    # The server drops a connection whose worker went silent (a machine down, a long cut) after about 10 minutes.
    assert lease._conn.exec_driver_sql("SHOW tcp_keepalives_idle").scalar() in ("60", "1min")
    with session_scope(immediate=True) as s:
        s.get(Job, job_id).heartbeat_at = db_now(s) - 3 * dt.timedelta(seconds=STALE_AFTER_S)
    try:
        listed = ganaug("jobs", "list")
        assert listed.exit_code == 0, listed.output
        line = next(line for line in listed.output.splitlines() if line.split()[0] == str(job_id))
        assert " running " in line and "no heartbeat for 3 min — its worker is out of reach of the database" in line
        with session_scope() as s:
            shown = fail_if_worker_died(job_detail(s, job_id))  # the job's panel, on the Generate page
        assert shown["status"] == "running" and shown["message"].startswith("no heartbeat for 3 min — ")
    finally:
        lease.release()  # the worker killed outright: its connections close, and the server ends its lease
    with session_scope(immediate=True) as s:
        assert fail_stale_jobs(s, max_age_s=STALE_AFTER_S) == [job_id]


def test_a_worker_back_after_a_sweep_runs_its_job_on_to_its_end(db, monkeypatch):
    """On PostgreSQL, as after a cut longer than the server keeps the worker's connection (its lease gone)."""
    from ganaug import running_job, worker

    monkeypatch.setattr(running_job, "HEARTBEAT_S", 0.05)
    monkeypatch.setattr("db.jobs.leased", lambda session, job_ids: set())
    swept = threading.Event()
    _held_until(swept, monkeypatch)  # it sleeps its half second after the sweep
    with session_scope(immediate=True) as s:
        job_id = submit_job(s, "sleep", {"seconds": 0.5, "steps": 5}, None).id
    ended = []
    thread = threading.Thread(target=lambda: ended.append(worker.execute_job(job_id)))
    thread.start()
    try:
        _wait_for(lambda: _job(None, job_id).status == "running")
        with session_scope(immediate=True) as s:
            assert fail_stale_jobs(s, max_age_s=0) == [job_id]  # failed; its worker beats again within 0.05 s
    finally:
        swept.set()
        thread.join(timeout=30)
    job = _job(None, job_id)
    assert ended == ["done"]
    assert (job.status, job.error, job.finished_at is not None) == ("done", None, True)
    assert job.result == {"slept_steps": 5, "stopped": False} and "swept" not in job.stats


@pytest.mark.slow  # ≈ 3 s: the job's first try waits out libpq's shortest connect timeout (2 s)
def test_a_worker_cut_off_works_on_without_waiting_on_the_database_at_each_step(db, monkeypatch):
    # On a network that drops packets every connection attempt waits out its connect timeout (10 s): the job's
    # progress reports and cancel checks tried at each step, and its handler crawled at one step per timeout.
    _postgresql(db)
    from ganaug import job_handlers, running_job, worker
    from ganaug_core.progress import Progress

    monkeypatch.setattr(running_job, "HEARTBEAT_S", 0.1)
    cut, handled = threading.Event(), threading.Event()

    def steps(params, progress, should_stop):  # a stage's last report is tried at once: none here
        cut.wait(timeout=30)
        for step in range(60):
            time.sleep(0.01)
            progress(Progress("step", step + 1, 0))
            assert not should_stop()
        handled.set()
        return {"steps": 60}

    monkeypatch.setitem(job_handlers.HANDLERS, "sleep", steps)
    monkeypatch.setattr("db.engine.sleep", lambda s: time.sleep(0.05))  # the end's next try, once the link is back
    server = make_url(db)
    link = CuttableLink(server.host, server.port, dropping=True)
    through = server.set(host="127.0.0.1", port=link.port, query={"connect_timeout": "2"})
    with session_scope(db) as s:
        job_id = submit_job(s, "sleep", {}, None).id
    monkeypatch.setenv("GANAUG_DB_URL", through.render_as_string(hide_password=False))
    thread = threading.Thread(target=worker.execute_job, args=(job_id,))
    try:
        thread.start()
        with session_scope(db) as s:
            _wait_for(lambda: leased(s, [job_id]) == {job_id})
        link.cut()
        cut.set()
        _wait_for(handled.is_set, timeout=30)  # 60 steps of 10 ms, each of which waited 2 s for the database
    finally:
        link.restore()
        thread.join(timeout=30)
        link.close()
    assert _job(db, job_id).status == "done"


def test_a_lease_not_taken_gives_its_connection_back_to_the_pool(db, monkeypatch):
    # A lease whose connection failed between connecting and locking (a network that drops packets now and then)
    # left it checked out of the pool until a garbage collection: one more at each heartbeat, where the pool holds
    # 5 + 10. The server refusing a setting takes the same path here.
    _postgresql(db)
    import gc

    monkeypatch.setattr("db.job_lease.KEEPALIVE_COUNT", -1)  # outside the server's range: the SET fails
    engine = get_engine()
    before = engine.pool.checkedout()
    gc.disable()  # what this checks is what happens before a collection
    try:
        assert [JobLease(engine, job_id).hold() for job_id in (1, 2, 3)] == [False] * 3
        assert engine.pool.checkedout() == before  # was before + 3
    finally:
        gc.enable()


def test_a_lease_taken_after_the_job_ended_is_given_up(db, monkeypatch):
    # The job's end waits HEARTBEAT_S + 5 s for its heartbeat thread, then releases the lease. A thread held up longer
    # (taking the lease on a network that drops packets waits out a connect timeout, 10 s) took it after that and
    # kept it, a connection out of the pool, for a job that had ended.
    from ganaug import running_job

    may_take, taken = threading.Event(), threading.Event()

    class SlowLease:
        held = False

        def hold(self) -> bool:
            may_take.wait(timeout=10)
            self.held = True
            taken.set()
            return True

        def release(self) -> None:
            self.held = False

    ctx = running_job.RunningJob(1, threading.Event())
    ctx.lease = SlowLease()
    monkeypatch.setattr(ctx._beat, "join", lambda timeout=None: None)  # the wait for the thread ran out
    with ctx:
        pass
    may_take.set()  # only now does the thread get its lease
    threading.Thread.join(ctx._beat, timeout=10)
    assert taken.is_set() and not ctx._beat.is_alive()
    assert not ctx.lease.held  # was held, the thread gone


def test_a_swept_job_launched_again_meanwhile_is_not_revived_and_its_worker_stops(db, monkeypatch):
    # The sweep's message told its reader to submit the job again; when the first worker came back it set its job
    # running again too, and the two did the same work (two scorings of one batch, two trainings of one run).
    from ganaug import job_handlers, running_job, worker

    monkeypatch.setattr(running_job, "HEARTBEAT_S", 0.05)
    monkeypatch.setattr("db.jobs.leased", lambda session, job_ids: set())
    swept, stopped = threading.Event(), []

    def steps(params, progress, should_stop):
        swept.wait(timeout=30)
        for step in range(200):
            if should_stop():
                stopped.append(step)
                break
            time.sleep(0.02)
        return {"steps": step}

    monkeypatch.setitem(job_handlers.HANDLERS, "sleep", steps)
    with session_scope(immediate=True) as s:
        job_id = submit_job(s, "sleep", {"seconds": 1}, None).id
    thread = threading.Thread(target=worker.execute_job, args=(job_id,))
    with session_scope(immediate=True) as s:
        assert claim_job(s, job_id, 1)  # so that the sweep comes before this worker's first beat
    monkeypatch.setattr(worker, "claim_job", lambda s, job_id, pid: True)
    with session_scope(immediate=True) as s:
        s.execute(Job.__table__.update().where(Job.id == job_id).values(heartbeat_at=db_now(s) - dt.timedelta(hours=1)))
        assert fail_stale_jobs(s, max_age_s=60) == [job_id]
        again = submit_job(s, "sleep", {"seconds": 1}, None).id  # "submit the job again"
    thread.start()
    swept.set()
    thread.join(timeout=30)
    assert stopped and stopped[0] < 199  # told to stop at its next safe point
    job = _job(None, job_id)
    assert job.status == "failed" and "swept" in job.stats  # not revived
    assert _job(None, again).status == "queued"


def test_a_lease_whose_worker_sends_nothing_ends_although_its_connection_stays_open(db, monkeypatch):
    # A frozen worker (SIGSTOP, a hung process): its machine answers the server's keepalive probes, so its lease held
    # for good and its job was never swept. The server now ends a lease connection on which no query came for as long.
    _postgresql(db)
    monkeypatch.setattr("db.job_lease.IDLE_LIMIT_MS", 500)
    lease = JobLease(get_engine(), 987654)
    assert lease.hold()
    with session_scope() as s:
        assert leased(s, [987654]) == {987654}
    try:
        _wait_for(lambda: not leased_now(987654), timeout=10)  # nothing sent on it: the server closes it
    finally:
        lease.release()


def leased_now(job_id: int) -> bool:
    with session_scope() as s:
        return bool(leased(s, [job_id]))
