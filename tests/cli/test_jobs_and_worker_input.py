"""`ganaug jobs list --status` and `ganaug worker --poll` refuse bad input with one line and exit 2.

A mistyped status listed nothing and exited 0 ("no jobs": read as "nothing failed"); a poll of 0, below 0 or NaN
made the worker look at the database in a tight loop, and an infinite one ended in an error about integers the
database stores."""

from __future__ import annotations

import pytest

from db.engine import session_scope
from db.jobs import STATES, fail_job, submit_job
from tests.cli.helpers import ok_json, refused, run


@pytest.mark.parametrize("status", ["bogus", "Failed", "fail"])
def test_jobs_list_refuses_a_status_no_job_can_have(home, status):
    with session_scope(immediate=True) as s:
        fail_job(s, submit_job(s, "evaluate", {"batch_id": 1}, "key").id, "boom")
    line = refused("jobs", "list", "--status", status)
    assert line == f"error: --status must be one of {', '.join(STATES)}, not {status!r}"
    assert [j["status"] for j in ok_json("jobs", "list", "--status", "failed")["jobs"]] == ["failed"]


@pytest.mark.parametrize("poll", ["0", "-1", "nan", "inf", "1e12"])
def test_worker_refuses_a_poll_interval_that_is_not_a_few_seconds(home, monkeypatch, poll):
    import ganaug.worker

    ran = []
    monkeypatch.setattr(ganaug.worker, "run_worker", lambda **kwargs: ran.append(kwargs))
    assert refused("worker", "--poll", poll).startswith("error: --poll must be a number of seconds above 0 and at")
    assert ran == []


def test_worker_takes_a_sensible_poll_interval(home, monkeypatch):
    import ganaug.worker

    ran = []
    monkeypatch.setattr(ganaug.worker, "run_worker", lambda **kwargs: ran.append(kwargs))
    assert run("worker", "--poll", "0.1").exit_code == 0
    assert ran == [{"poll_s": 0.1, "command": "ganaug worker"}]
