"""A team writing while it checks, exports and sweeps: a colleague's decision that lands between a check's read of the
decision log and its read of the state tables is no tampering; one that withdraws a sample while an export is copied
refuses the export, signed or not; and a job whose worker was cut off from the database with everyone else (a
PostgreSQL restart, a network outage) is no dead worker's once it answers again.

On PostgreSQL every statement used to see the database as it was when that statement began, so `audit verify` read
the log before a colleague's tag and the tables after it, and said "STATE DIFFERS" (exit 1); the gate alike warned
of a batch "approved in the table but not in the log". The colleague's decision is made here, deterministically,
right after the check's walk of the log, through the function the check calls."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

import db.audit
import db.gate
import db.jobs as db_jobs
from db.engine import session_scope
from db.jobs import claim_job, fail_stale_jobs, get_job, server_started, submit_job
from db.errors import DecisionError
from db.models import Job, db_now
from db.review import approve_batch, revoke_batch, tag_sample
from tests.cli.helpers import ganaug
from tests.db.helpers import make_batch, sample_ids

REAL_WALK = db.audit.verify_chain


def _then(decide):
    """`verify_chain`, after whose walk of the log a colleague's decision `decide(session)` is committed."""
    def walk_then_decide(session, *args, **kwargs):
        report = REAL_WALK(session, *args, **kwargs)
        with session_scope(immediate=True) as other:  # another connection: a colleague's app or command
            decide(other)
        return report
    return walk_then_decide


def test_audit_verify_while_a_colleague_tags_a_sample_reads_one_moment(home, toy, people, monkeypatch):
    with session_scope(immediate=True) as s:
        first = sample_ids(s, make_batch(s, home, toy, n=2).id)[0]
    colleague_tags = _then(lambda s: tag_sample(s, first, "blur", people["rex"]))
    monkeypatch.setattr(db.audit, "verify_chain", colleague_tags)
    result = ganaug("audit", "verify", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["state_mismatches"] == []
    monkeypatch.setattr(db.audit, "verify_chain", REAL_WALK)
    again = json.loads(ganaug("audit", "verify", "--json").stdout)
    assert again["ok"] is True and again["checked"] == report["checked"] + 1  # the tag, in the tables and the log


def test_the_gate_while_a_colleague_approves_a_batch_warns_of_no_tampering(home, toy, people, monkeypatch):
    from ganaug.export import gated_set

    with session_scope(immediate=True) as s:
        b = make_batch(s, home, toy, n=2).id
    monkeypatch.setattr(db.gate, "verify_chain", _then(lambda s: approve_batch(s, b, people["rex"])))
    excluded = gated_set("toy").excluded
    assert excluded == {"in a pending batch": 2}  # as the log it was gated on says; the next export admits them
    monkeypatch.setattr(db.gate, "verify_chain", REAL_WALK)
    assert gated_set("toy").counts[1]["synthetic"] == 2


def test_an_unsigned_export_during_which_a_colleague_revoked_its_batch_writes_nothing(home, toy, people, tmp_path):
    # A signed export's record refused this already (test_export_after_review.py); one nobody signed was written
    # with the revoked batch's samples, stamped as of the log before the revocation.
    from ganaug.export import export_gated_set

    with session_scope(immediate=True) as s:
        b = make_batch(s, home, toy, n=3).id
        approve_batch(s, b, people["rex"])
    revoked = []

    def revoke_while_copying(progress) -> None:  # after the gate, while the images are written
        if not revoked:
            with session_scope(immediate=True) as s:
                revoked.append(revoke_batch(s, b, people["ada"], "checkerboard").id)

    out = tmp_path / "exports" / "gated"
    with pytest.raises(DecisionError, match=f"^ada revoked the approval of batch {b} at .*; nothing was exported"):
        export_gated_set("toy", out, progress=revoke_while_copying)
    assert revoked and list(out.parent.iterdir()) == []
    summary = export_gated_set("toy", out)  # again: the log's state now, without the batch
    assert summary["counts"]["1"]["synthetic"] == 0 and summary["excluded"] == {"in a revoked batch": 3}


def test_a_worker_back_from_a_database_outage_gives_running_jobs_time_to_beat_before_it_sweeps(db, capsys):
    # It polled every second through the outage, so its first sweep came before the other worker's next heartbeat
    # (seconds away) and failed a job that went on to its end. The outage here is this process's engine pointing
    # nowhere, as a cut network's is: the server, up all along, cannot tell.
    from ganaug import running_job, worker
    from tests.db.helpers import database_gone
    from tests.db.test_jobs import _status, _wait_for

    with session_scope(immediate=True) as s:
        elsewhere = submit_job(s, "sleep", {}, None).id
        claim_job(s, elsewhere, 11)  # another machine's worker runs it; its last beat was before the outage
        s.get(Job, elsewhere).heartbeat_at = db_now(s) - dt.timedelta(seconds=2 * running_job.STALE_AFTER_S)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, kwargs=dict(stop_event=stop, poll_s=0.05))
    try:
        with database_gone(db):
            thread.start()
            _wait_for(lambda: "trying again" in capsys.readouterr().err)
        with session_scope(immediate=True) as s:
            after = submit_job(s, "sleep", {"seconds": 0.01, "steps": 1}, None).id
        _wait_for(lambda: _status(after) == "done", timeout=30)  # back at work, and past where it swept
    finally:
        stop.set()
        thread.join(timeout=30)
    assert _status(elsewhere) == "running"


def test_a_job_is_not_swept_before_its_worker_could_beat_since_the_server_restarted(db, monkeypatch):
    if not db.startswith("postgresql"):
        pytest.skip("a SQLite file has no server to restart")
    monkeypatch.setattr(db_jobs, "server_started", server_started)  # the `db` fixture's is a server up for long
    with session_scope(immediate=True) as s:
        up_since = server_started(s)
        job_id = submit_job(s, "sleep", {}, None).id
        claim_job(s, job_id, 11)
        # Its last beat came just before the server went down; the worker beats again once it is back.
        s.get(Job, job_id).heartbeat_at = up_since - dt.timedelta(minutes=2)
        up_for = (db_now(s) - up_since).total_seconds()
    with session_scope(immediate=True) as s:
        assert fail_stale_jobs(s, max_age_s=up_for + 60) == []  # up for less than the limit: not yet
    with session_scope(immediate=True) as s:
        assert get_job(s, job_id).status == "running"
        assert fail_stale_jobs(s, max_age_s=0.001) == [job_id]  # up for longer, and still no beat: it died
