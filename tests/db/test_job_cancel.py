"""Cancel on a running benchmark or scoring stops it within a step, leaves nothing half-written, and the job records
who cancelled it. A real worker runs each job; asserted on what ran, never on seconds."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.jobs import get_job, request_cancel


def _cancel(job_id: int, by: str) -> None:
    with session_scope(immediate=True) as s:
        request_cancel(s, job_id, by=by)


def test_a_benchmark_job_cancelled_while_a_classifier_trains_stops_before_its_next_arm(digits, home, monkeypatch):
    # The benchmark asked between arms only: a Cancel while an arm's classifier trained (35 s at 32² on a busy
    # machine with the full budget) waited for it and for its scores; at 32² the job stopped 36 s after the click.
    from db.models import Report
    from ganaug import running_job, worker
    from ganaug_core.benchmark import harness
    from ganaug_core.benchmark.classifier import Budget

    monkeypatch.setattr("ganaug.benchmarking.QUICK_BUDGET", Budget(steps=200, batch_size=16, width=4))
    job_id = worker.submit("benchmark", {"dataset": digits, "arms": ["real", "oversample"], "seeds": 1, "quick": True})
    built, scored = [], []
    real_build = harness.build_training_set

    def build_then_cancel(arm, *args, **kwargs):  # alice clicks Cancel as the first arm starts
        built.append(arm)
        _cancel(job_id, "alice")
        return real_build(arm, *args, **kwargs)

    monkeypatch.setattr(harness, "build_training_set", build_then_cancel)
    monkeypatch.setattr(harness, "predict_proba", lambda *a: scored.append(1))
    monkeypatch.setattr(running_job, "CANCEL_CHECK_S", 0.0)
    assert worker.run_worker(once=True, poll_s=0.01) == 1
    assert built == ["real"] and scored == []  # stopped inside the first classifier: never scored, no next arm
    with session_scope() as s:
        job = get_job(s, job_id)
        assert (job.status, job.error) == ("cancelled", None)
        assert job.message == "cancelled on request before it finished; it recorded nothing"
        assert job.result["cancelled_by"] == "alice" and job.result["cancel_asked"]
        assert s.scalar(select(func.count(Report.id))) == 0
    reports = home / "reports"
    assert not reports.exists() or not any(reports.rglob("*"))  # no report, no staging folder


def test_a_second_cancel_keeps_who_asked_first(home):
    from db.jobs import claim_job, submit_job

    with session_scope(immediate=True) as s:
        job_id = submit_job(s, "sleep", {}, None).id
        claim_job(s, job_id, 1)
    _cancel(job_id, "alice")
    _cancel(job_id, "bob")  # a second tab's click, while the job has not reached its next safe point yet
    with session_scope() as s:
        job = get_job(s, job_id)
        assert (job.status, job.cancel_requested, job.result["cancelled_by"]) == ("running", True, "alice")


@pytest.mark.slow  # trains a short feature extractor, and the child starts
def test_a_scoring_job_cancelled_while_its_map_fits_ends_the_fit_and_writes_nothing(digits, monkeypatch):
    # The map's fit (UMAP) could not be stopped: a Cancel during a large dataset's first scoring waited minutes for
    # it. Large fits now run in a child process, which the Cancel kills.
    from db.models import Batch, Sample
    from ganaug import evaluation, running_job, worker
    from ganaug_core import embedding, embedding_child, paths
    from tests.db.test_jobs import _unscored_batch

    evaluation.ensure_feature_extractor(digits, steps=20)  # a short one, reused as is by the job
    batch_id = _unscored_batch(digits)
    job_id = worker.submit("evaluate", {"batch_id": batch_id})
    children = []
    real_popen = subprocess.Popen

    def start_then_cancel(*args, **kwargs):  # bob clicks Cancel once the map's fit has started
        children.append(real_popen(*args, **kwargs))
        _cancel(job_id, "bob")
        return children[-1]

    monkeypatch.setattr(embedding, "IN_CHILD_FROM", 4)  # the demo's 1,300 training images fit in a child too
    monkeypatch.setattr(embedding_child.subprocess, "Popen", start_then_cancel)
    monkeypatch.setattr(running_job, "CANCEL_CHECK_S", 0.0)
    assert worker.run_worker(once=True, poll_s=0.01) == 1
    assert len(children) == 1 and children[0].returncode == -9  # killed as it fitted
    with session_scope() as s:
        job = get_job(s, job_id)
        assert (job.status, job.result["cancelled_by"]) == ("cancelled", "bob")
        assert job.message == f"cancelled on request: batch {batch_id} was not scored: none of its scores were stored"
        assert not s.get(Batch, batch_id).scores_computed
        assert s.scalars(select(Sample.realism).where(Sample.batch_id == batch_id)).all() == [None] * 5
    models = paths.models_dir() / digits
    assert not (models / "embedding.npz").exists() and not list(models.glob(".embedding.npz*"))


def test_a_cancel_that_meets_the_jobs_end_leaves_its_result(db, monkeypatch):
    # PostgreSQL: the job's worker finished it between the Cancel's read of the row and its write, and the write put
    # the result read before (no run, no batches) over the finished job's. SQLite's immediate session keeps the
    # worker out meanwhile, so the interleaving below cannot happen there.
    if db.startswith("sqlite"):
        pytest.skip("SQLite's immediate transaction serialises the Cancel and the job's end")
    import db.jobs as jobs
    from db.jobs import claim_job, finish_job, submit_job

    with session_scope() as s:
        job_id = submit_job(s, "sleep", {}, "k").id
        assert claim_job(s, job_id, 123)
    real_now, ended = jobs.db_now, []

    def now_while_the_worker_ends_it(session):  # the worker's commit lands after the Cancel read the row
        if not ended:
            ended.append(1)
            with session_scope() as other:
                finish_job(other, job_id, {"run_id": 7, "batch_ids": [3]})
        return real_now(session)

    monkeypatch.setattr(jobs, "db_now", now_while_the_worker_ends_it)
    _cancel(job_id, "alice")
    with session_scope() as s:
        job = get_job(s, job_id)
        assert (job.status, job.result) == ("done", {"run_id": 7, "batch_ids": [3]})
