"""A job's panel says who cancelled it and how long it took to stop: Cancel asked while the job runs is seen at its
next safe point, so the reviewer who clicked (and a colleague who opens the page later) sees both."""

from __future__ import annotations

from sqlalchemy import select

from db.engine import session_scope
from db.jobs import cancel_job, claim_job
from db.models import Job
from tests.app.conftest import app_test, button


def test_a_cancelled_benchmark_says_who_cancelled_it_and_when_it_stopped(users, digits):
    at = app_test(users["rita"], "evaluate.py")
    at.multiselect(key="eval_arms").set_value(["real", "oversample"])
    button(at, "Run the benchmark").click().run()
    with session_scope(immediate=True) as session:
        job = session.scalars(select(Job)).one()
        claim_job(session, job.id, 1)  # a worker took it: a Cancel now asks it to stop
    at.run()
    button(at, "Cancel").click().run()
    assert not at.exception
    said = [c.value for c in at.caption]
    assert ("Cancel requested by rita; the worker stops at the classifier's next training step and writes no report."
            in said)
    with session_scope(immediate=True) as session:  # the worker reached its next step and stopped
        cancel_job(session, job.id, "cancelled on request before it finished; it recorded nothing")
    at.run()
    assert not at.exception
    panel = next(c.value for c in at.caption if c.value.startswith("Launched by rita"))
    assert "Cancelled by rita at " in panel and " UTC; it stopped " in panel and " s later." in panel
