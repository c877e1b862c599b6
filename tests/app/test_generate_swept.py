"""The Generate page on a job whose worker died (swept by `db.jobs.fail_stale_jobs`): what it recorded stays on
offer, and the button goes on from there rather than launching the whole job again."""

from __future__ import annotations

import datetime as dt

from db.engine import session_scope
from tests.app.conftest import app_test, button


def test_a_job_whose_worker_died_while_training_offers_to_resume_its_run_not_to_generate_from_it(users, digits):
    # The swept job kept no run: the page offered nothing, and the same job again trained from step 0. Given the run,
    # "Generate the rest from run N" would have generated from a half-trained checkpoint.
    from db.jobs import claim_job, fail_stale_jobs, submit_job
    from db.models import Dataset, Job, Run
    from sqlalchemy import select

    with session_scope(immediate=True) as s:
        dataset_id = s.scalar(select(Dataset.id).where(Dataset.name == digits))
        run = Run(dataset_id=dataset_id, status="failed", run_dir="runs/test", config={}, config_sha256="c" * 64,
                  code_version="test", step=5, total_steps=10, checkpoint_path="runs/test/checkpoints/c5.pt",
                  checkpoint_sha256="k" * 64)
        s.add(run)
        s.flush()
        job_id = submit_job(s, "train_generate", {"dataset": digits, "classes": [8, 9]}, None,
                            requested_by=users["rita"]["id"]).id
        claim_job(s, job_id, 4242)
        job = s.get(Job, job_id)
        job.stats = {"stage": "train", "run_id": run.id}
        job.heartbeat_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=600)
        run_id = run.id
    with session_scope(immediate=True) as s:
        assert fail_stale_jobs(s, 60) == [job_id]
    at = app_test(users["rita"], "generate.py")
    assert any(f"Resume run {run_id} instead" in e.value for e in at.error)
    assert f"Generate the rest from run {run_id}" not in [b.label for b in at.button]
    button(at, f"Resume run {run_id}").click().run()
    assert at.selectbox(key="gen_resume").value == run_id and not at.checkbox(key="gen_only").value
    assert at.multiselect(key="gen_classes").value == [8, 9]
