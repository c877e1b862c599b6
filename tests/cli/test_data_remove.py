"""`ganaug data remove`: a dataset nothing was made from goes whole (rows, folder, models), one in use is refused, and
a removal killed at any point leaves the dataset whole or nothing of it; `data list` marks a dataset whose files
are gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Dataset, RealImage, Report, Run
from tests.cli.helpers import assert_bad_input, ganaug
from tests.core.test_datasets import make_image_folder

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def parts(home, tmp_path):
    """A tiny dataset 'parts' (13 images at 8×8) with a models folder, as `evaluate features` leaves one."""
    source = make_image_folder(tmp_path / "src", per_class=(4, 6, 3))
    assert ganaug("data", "ingest", source, "--name", "parts", "--resolution", "8").exit_code == 0
    (home / "models" / "parts").mkdir(parents=True)
    (home / "models" / "parts" / "feature_extractor.pt").write_bytes(b"x" * 100)
    return source


def rows(name="parts"):
    with session_scope() as s:
        dataset = s.scalar(select(Dataset.id).where(Dataset.name == name))
        images = s.scalar(select(func.count()).select_from(RealImage).where(RealImage.dataset_id == dataset))
        return dataset, images


def test_remove_deletes_rows_folder_and_models_and_frees_the_name(home, parts):
    result = ganaug("data", "remove", "parts", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["dataset"] == "parts" and out["images"] == 13 and out["freed_bytes"] > 100
    assert rows() == (None, 0)
    assert os.listdir(home / "datasets") == [] and not (home / "models" / "parts").exists()
    assert ganaug("data", "ingest", parts, "--name", "parts", "--resolution", "8").exit_code == 0  # the name is free
    assert rows()[1] == 13


def test_remove_unknown_dataset_is_bad_input(home, parts):
    assert_bad_input(ganaug("data", "remove", "part"), "unknown dataset 'part'")
    assert rows()[1] == 13


def _add_run(session, dataset_id):
    session.add(Run(dataset_id=dataset_id, run_dir="runs/1", config={}, config_sha256="0" * 64, code_version="x"))


def _add_report(session, dataset_id):
    session.add(Report(dataset_id=dataset_id, kind="benchmark", path="reports/x", sha256="0" * 64, summary={}))


def _add_export_event(session, dataset_id):
    from db.audit import record_event
    from db.users import add_user

    admin = add_user(session, "ann", "password-1", role="admin")
    record_event(session, admin, "export", "dataset", dataset_id, "an export")


def _add_queued_job(session, dataset_id):
    from db.jobs import submit_job

    submit_job(session, "benchmark", {"dataset": "parts"}, None)


@pytest.mark.parametrize("add, named", [(_add_run, "run 1"), (_add_report, "report 1"),
                                        (_add_export_event, "the decision log's event"),
                                        (_add_queued_job, "queued or running job 1")])
def test_remove_refuses_a_dataset_in_use_and_leaves_it_whole(home, parts, add, named):
    with session_scope(immediate=True) as s:
        add(s, rows()[0])
    assert_bad_input(ganaug("data", "remove", "parts"), "dataset 'parts' is not removed", named)
    assert rows()[1] == 13 and (home / "datasets" / "parts" / "arrays.npz").is_file()
    assert (home / "models" / "parts" / "feature_extractor.pt").is_file()
    assert sorted(os.listdir(home / "datasets")) == ["parts"]  # no .removing- folder left


def test_a_run_recorded_after_the_check_is_refused_by_the_foreign_key(home, parts, monkeypatch):
    """The check and the delete race with a training that starts meanwhile: the database has the last word, before
    any folder moves."""
    from ganaug import datasets

    with session_scope(immediate=True) as s:
        _add_run(s, rows()[0])
    monkeypatch.setattr(datasets, "dataset_references", lambda session, dataset: {})
    assert_bad_input(ganaug("data", "remove", "parts"), "dataset 'parts' is not removed")
    assert rows()[1] == 13 and (home / "datasets" / "parts" / "arrays.npz").is_file()
    assert (home / "models" / "parts" / "feature_extractor.pt").is_file()
    assert sorted(os.listdir(home / "datasets")) == ["parts"]


def _remove_killed(home, where):
    """`data remove parts` in a process that SIGKILLs itself at `where`: after the folders were moved aside (before
    the commit), or once the rows are deleted (before the folders are)."""
    script = textwrap.dedent(f"""
        import os, signal
        import ganaug.datasets as d
        from ganaug.cli import app
        def die(*a, **k):
            os.kill(os.getpid(), signal.SIGKILL)
        if {where!r} == "before commit":
            take = d._take_away
            d._take_away = lambda *a: (take(*a), die())
        else:
            d._settle_removal = die
        app(["data", "remove", "parts"])
    """)
    env = {**os.environ, "GANAUG_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr.decode()
    assert any(p.startswith(".removing-") for p in os.listdir(home / "datasets"))  # what the kill left


def test_removal_killed_before_its_commit_leaves_the_dataset_whole(home, parts):
    _remove_killed(home, "before commit")
    assert rows()[1] == 13
    listed = json.loads(ganaug("data", "list", "--json").stdout)["datasets"]
    assert [(d["name"], d["missing"]) for d in listed] == [("parts", None)]  # its folder is back
    assert os.listdir(home / "datasets") == ["parts"]
    assert (home / "models" / "parts" / "feature_extractor.pt").is_file()


def test_removal_killed_after_its_commit_leaves_nothing(home, parts):
    _remove_killed(home, "after commit")
    assert rows() == (None, 0)
    assert ganaug("data", "ingest", parts, "--name", "parts", "--resolution", "8").exit_code == 0
    assert os.listdir(home / "datasets") == ["parts"]  # the killed removal's folder is gone
    assert not (home / "models" / "parts").exists()


def test_list_marks_a_dataset_whose_files_are_gone_and_remove_forgets_it(home, parts):
    (home / "datasets" / "parts" / "arrays.npz").unlink()
    result = ganaug("data", "list")
    assert "MISSING: its arrays.npz is gone" in result.stdout and "ganaug data remove parts" in result.stdout
    os.rename(home / "datasets" / "parts", home / "elsewhere")
    assert json.loads(ganaug("data", "list", "--json").stdout)["datasets"][0]["missing"] == "folder"
    assert "MISSING: its folder is gone" in ganaug("data", "list").stdout
    assert ganaug("data", "remove", "parts").exit_code == 0
    assert rows() == (None, 0) and (home / "elsewhere").is_dir()  # a folder moved away is not looked for


def test_list_offers_remove_only_where_it_would_succeed(home, parts):
    # It offered "forget it with `ganaug data remove parts`" while a run named the dataset, and the remove refused.
    os.rename(home / "datasets" / "parts", home / "elsewhere")
    with session_scope(immediate=True) as s:
        _add_queued_job(s, rows()[0])
    assert ("[MISSING: its folder is gone; put it back, or forget it with `ganaug data remove parts` once queued or "
            "running job 1 has ended]") in ganaug("data", "list").stdout
    with session_scope(immediate=True) as s:
        _add_run(s, rows()[0])
    listed = ganaug("data", "list").stdout
    assert ("[MISSING: its folder is gone; put it back: run 1 and queued or running job 1 name it, so `ganaug data "
            "remove` keeps it (runs, batches, reports and exports are kept for good)]") in listed
    assert_bad_input(ganaug("data", "remove", "parts"), "dataset 'parts' is not removed", "run 1")
    with session_scope(immediate=True) as s:
        _add_report(s, rows()[0])
    assert "put it back: run 1, report 1 and queued or running job 1 name it" in ganaug("data", "list").stdout


def test_remove_takes_the_datasets_finished_jobs_with_it(home, parts):
    # They were left naming 'parts': a dataset ingested later under that name showed them as its own (in `jobs list`,
    # the Generate page's "your last job", the Evaluate page's last benchmark).
    from db.jobs import cancel_job, claim_job, fail_job, submit_job

    with session_scope(immediate=True) as s:
        failed = submit_job(s, "train_generate", {"dataset": "parts"}, None).id
        claim_job(s, failed, 1)
        fail_job(s, failed, "out of memory")
        cancelled = submit_job(s, "benchmark", {"dataset": "parts"}, None).id
        cancel_job(s, cancelled)
        other = submit_job(s, "benchmark", {"dataset": "other"}, None).id
        cancel_job(s, other)
    result = ganaug("data", "remove", "parts", "--json")
    assert result.exit_code == 0, result.output
    assert ganaug("data", "ingest", parts, "--name", "parts", "--resolution", "8").exit_code == 0
    listed = json.loads(ganaug("jobs", "list", "--json").stdout)["jobs"]
    assert [j["id"] for j in listed] == [other]  # the new 'parts' has no job yet
    assert json.loads(result.stdout).get("jobs") == [failed, cancelled]  # the removal says which went with it


def test_remove_says_in_its_text_how_many_finished_jobs_went_with_it(home, parts):
    # Only `--json` said so: the plain text named the images and the bytes, and the jobs went unmentioned.
    from db.jobs import cancel_job, submit_job

    with session_scope(immediate=True) as s:
        cancel_job(s, submit_job(s, "benchmark", {"dataset": "parts"}, None).id)
    result = ganaug("data", "remove", "parts")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("removed dataset 'parts': 13 images, 1 finished job, ")
