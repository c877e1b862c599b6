"""A resume launched from the Generate page starts from the run's last recorded checkpoint, as `ganaug train --resume`
does: the page says so where it offers the resume, times the budget from that checkpoint's step, and the job says
which checkpoint, written but never recorded, it did not use."""

from __future__ import annotations

import json

from sqlalchemy import select

from db.engine import session_scope
from db.models import Job
from tests.app.conftest import app_test, button

LAYOUT = {"arch": "dcgan", "edge_convs": True, "resolution": 16, "width": 16, "batch_size": 32}  # the form's, at 16²


def died_run(home, dataset: str) -> int:
    """A run whose process died at reported step 300 of 1,000: its last recorded checkpoint is step 200's, and one
    of step 250 was written but never recorded. Its stats time it at 5 steps/s."""
    from db.models import Dataset, Run

    folder = home / "runs" / "died"
    (folder / "checkpoints").mkdir(parents=True)
    for step in (200, 250):
        (folder / "checkpoints" / f"checkpoint-{step:07d}.pt").write_bytes(b"\0" * 64)
    lines = [{"step": 25, "elapsed_s": 17.0}, {"step": 125, "elapsed_s": 37.0}, {"step": 225, "elapsed_s": 57.0}]
    (folder / "stats.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    with session_scope(immediate=True) as s:
        run = Run(dataset_id=s.scalar(select(Dataset.id).where(Dataset.name == dataset)), status="failed",
                  run_dir="runs/died", config=LAYOUT, config_sha256="c" * 64, code_version="test", step=300,
                  total_steps=1000, checkpoint_path="runs/died/checkpoints/checkpoint-0000200.pt",
                  checkpoint_sha256="k" * 64)
        s.add(run)
        s.flush()
        return run.id


def test_the_form_offers_a_resume_from_the_recorded_checkpoint_and_times_it_from_there(users, digits, home):
    run_id = died_run(home, digits)
    at = app_test(users["rita"], "generate.py")
    assert [o for o in at.selectbox(key="gen_resume").options
            if o.startswith(f"run {run_id} · failed at step 300 of 1,000 · resumes from step 200 · ")]
    at.selectbox(key="gen_resume").set_value(run_id)
    at.number_input(key="gen_budget").set_value(500.0).run()
    # 300 steps from step 200 at 5 steps/s; it said 40 s, counting from the step the run reported.
    assert f"≈ 60 s of training at the pace of run {run_id} (5.0 steps/s), then generating and scoring." in [
        c.value for c in at.caption]
    said = [w.value for w in at.warning if "never recorded" in w.value]
    assert said == [f"Resuming run {run_id} from step 200, its last recorded checkpoint: "
                    "runs/died/checkpoints/checkpoint-0000250.pt was written after it but never recorded (its "
                    "process was killed before recording it), so no recorded sha256 vouches for its bytes and it is "
                    "not used."]
    assert str(home) not in said[0]  # every reviewer sees the page: no server path

    at.number_input(key="gen_budget").set_value(200.0)
    button(at, "Launch run").click().run()
    assert (f"Run {run_id} resumes from step 200, its last recorded checkpoint: ask for more steps than that to "
            "train it further, or tick “Only generate from it”.") in [e.value for e in at.error]
    at.number_input(key="gen_budget").set_value(250.0)  # refused as "already at step 300", which it is not
    button(at, "Launch run").click().run()
    assert not at.error and not at.exception
    with session_scope() as s:
        assert s.scalars(select(Job)).one().params["resume_run"] == run_id


def test_a_run_that_reported_steps_past_its_checkpoint_says_where_its_resume_starts(users, digits, home):
    run_id = died_run(home, digits)
    (home / "runs" / "died" / "checkpoints" / "checkpoint-0000250.pt").unlink()  # nothing unrecorded: steps lost
    at = app_test(users["rita"], "generate.py")
    at.selectbox(key="gen_resume").set_value(run_id).run()
    assert [w.value for w in at.warning if "resumes from step" in w.value] == [
        f"Run {run_id} resumes from step 200, its last recorded checkpoint: the 100 steps it reported after it were "
        "never saved (its process stopped first)."]


def test_a_resume_job_says_which_checkpoint_it_did_not_use(users, digits, home):
    from db.models import Run
    from ganaug import worker
    from ganaug.runs import default_config, train_run
    from ganaug_core.imageio import sha256_file

    run_id = train_run(digits, default_config(digits, resolution=8, width=4, batch_size=8, steps=2, ckpt_every=1))
    first = home / "runs" / f"{run_id:06d}" / "checkpoints" / "checkpoint-0000001.pt"
    with session_scope(immediate=True) as s:  # as if killed between writing step 2's checkpoint and recording it
        run = s.get(Run, run_id)
        run.checkpoint_path, run.checkpoint_sha256 = f"runs/{run_id:06d}/checkpoints/{first.name}", sha256_file(first)
    job_id = worker.submit("train_generate", {"dataset": digits, "config": {"steps": 3}, "resume_run": run_id,
                                              "classes": [], "per_class": 0}, requested_by=users["rita"]["id"])
    assert worker.run_worker(once=True, poll_s=0.01) == 1
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert job.status == "done", job.error
        note = job.result["resume_note"]
        assert job.stats["resume_note"] == note
    assert note == (f"resuming run {run_id} from step 1, its last recorded checkpoint: runs/{run_id:06d}/checkpoints/"
                    "checkpoint-0000002.pt was written after it but never recorded (its process was killed before "
                    "recording it), so no recorded sha256 vouches for its bytes and it is not used")
    at = app_test(users["rita"], "generate.py")  # her newest job, followed
    assert any(w.value.startswith(f"Resuming run {run_id} from step 1, its last recorded checkpoint") for w in at.warning)
