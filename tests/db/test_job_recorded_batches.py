"""A batch names its job in the transaction that records it (`note_recorded_batch`), on SQLite and PostgreSQL: a
worker killed before its next report leaves a job whose sweep keeps the batch (tests/cli/test_kill_points.py kills
a real one)."""

from __future__ import annotations

from db.engine import session_scope
from db.jobs import claim_job, fail_stale_jobs, get_job, note_recorded_batch, submit_job
from tests.db.helpers import make_batch


def test_a_batch_noted_with_its_commit_is_kept_by_the_sweep_and_a_finished_job_is_left_alone(db, home, toy):
    with session_scope(immediate=True) as s:
        job_id = submit_job(s, "generate", {"classes": [1, 0], "per_class": 4}, None).id
        claim_job(s, job_id, 4242)
        done_id = submit_job(s, "generate", {}, None).id  # queued, never running: nothing to note on it
    with session_scope(immediate=True) as s:
        first = make_batch(s, home, toy, class_index=1, scored=False)
        note_recorded_batch(s, job_id, first.run_id, first.id)
        note_recorded_batch(s, job_id, first.run_id, first.id)  # named once however often noted
        note_recorded_batch(s, done_id, first.run_id, first.id)
    with session_scope() as s:
        job = get_job(s, job_id)
        assert (job.stats["run_id"], job.stats["batch_ids"]) == (first.run_id, [first.id])
        assert get_job(s, done_id).stats in ({}, None)
    with session_scope(immediate=True) as s:
        assert fail_stale_jobs(s, 0) == [job_id]
    with session_scope() as s:
        job = get_job(s, job_id)
        assert job.result == {"batch_ids": [first.id]} and job.run_id == first.run_id
        assert f"the job recorded batch {first.id} (class c1)" in job.error
        assert "Generate only class c0 from run" in job.error
