"""The generate form: errors next to the fields, exactly one job per submission, live progress and cancel, a budget
default per unit, no job from a disabled account."""

from __future__ import annotations

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Job
from tests.app.conftest import app_test, button, disable, make_batch, worker_beating


def job_count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Job))


def test_invalid_fields_get_messages_and_no_job(users, digits):
    at = app_test(users["rita"], "generate.py")
    at.multiselect(key="gen_classes").set_value([])
    at.number_input(key="gen_per_class").set_value(0)
    at.number_input(key="gen_budget").set_value(0.0)
    button(at, "Launch run").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert "Choose at least one class to generate." in errors
    assert any(e.startswith("Samples per class must be between 1") for e in errors)
    assert any(e.startswith("Steps must be a whole number between 1") for e in errors)
    assert "The run was not launched: fix the fields marked above." in errors
    assert job_count() == 0


def test_field_errors_follow_the_fields_once_a_launch_was_refused(users, digits):
    at = app_test(users["rita"], "generate.py")
    at.multiselect(key="gen_classes").set_value([])
    at.number_input(key="gen_per_class").set_value(0)
    button(at, "Launch run").click().run()
    not_launched = "The run was not launched: fix the fields marked above."
    assert {e.value for e in at.error} >= {"Choose at least one class to generate.", not_launched}
    assert any(e.value.startswith("Samples per class") for e in at.error)

    at.number_input(key="gen_per_class").set_value(8).run()  # fixed: its error goes, the other one stays
    assert [e.value for e in at.error] == ["Choose at least one class to generate.", not_launched]
    at.number_input(key="gen_seed").set_value(-1).run()  # broken after the refusal: said at once
    assert any(e.value.startswith("The seed must be between") for e in at.error)
    at.number_input(key="gen_seed").set_value(3)
    at.multiselect(key="gen_classes").set_value([9]).run()
    assert not at.error and job_count() == 0  # nothing left to fix; nothing launched without a click

    at.number_input(key="gen_budget").set_value(20.0)
    button(at, "Launch run").click().run()
    assert not at.exception and not at.error and job_count() == 1


def test_double_submit_makes_one_job_then_cancel(users, digits):
    at = app_test(users["rita"], "generate.py")
    at.multiselect(key="gen_classes").set_value([8, 9])
    at.number_input(key="gen_per_class").set_value(8)
    at.number_input(key="gen_budget").set_value(20.0)
    at.selectbox(key="gen_arch").set_value("dcgan")
    button(at, "Launch run").click().run()
    button(at, "Launch run").click().run()  # a second click on the same form: the same job
    assert not at.exception
    assert job_count() == 1
    with session_scope() as session:
        job = session.scalars(select(Job)).one()
        assert job.kind == "train_generate" and job.status == "queued"
        assert job.params["dataset"] == "digits" and job.params["classes"] == [8, 9]
        assert job.params["per_class"] == 8 and job.params["config"]["steps"] == 20
        assert job.requested_by == users["rita"]["id"]
    assert at.session_state["generate_job"] == job.id
    assert any(s.value.startswith(f"Job {job.id}: queued") for s in at.header)

    button(at, "Cancel").click().run()
    with session_scope() as session:
        assert session.get(Job, job.id).status == "cancelled"  # still queued: cancelled at once
    assert any(s.value.startswith(f"Job {job.id}: cancelled") for s in at.header)

    button(at, "Prepare another run").click().run()
    button(at, "Launch run").click().run()  # a deliberate new submission is a new job
    assert job_count() == 2


def test_the_dcgan_layout_choice_reaches_the_job(users, digits):
    at = app_test(users["rita"], "generate.py")
    at.number_input(key="gen_budget").set_value(20.0)
    advanced = at.expander[0]  # the network's settings, folded away under their measured defaults
    assert advanced.label == "Advanced: network and augmentation" and not advanced.proto.expanded
    assert {w.key for w in advanced.selectbox} == {"gen_arch", "gen_augment"}
    assert advanced.checkbox(key="gen_edge_convs").value is True
    advanced.checkbox(key="gen_edge_convs").uncheck()
    button(at, "Launch run").click().run()
    assert not at.exception and not at.error
    with session_scope() as session:
        assert session.scalars(select(Job)).one().params["config"]["edge_convs"] is False

    button(at, "Prepare another run").click().run()
    at.selectbox(key="gen_arch").set_value("resnet").run()
    assert at.checkbox(key="gen_edge_convs").disabled  # the residual family always has them
    button(at, "Launch run").click().run()
    assert not at.exception and not at.error
    with session_scope() as session:
        job = session.scalars(select(Job).order_by(Job.id.desc())).first()
        assert job.params["config"]["arch"] == "resnet" and job.params["config"]["edge_convs"] is True


def launched_and_finished(user, result: dict):
    """The Generate page after launching a run whose job a (pretend) worker then finished with `result`."""
    from db.jobs import claim_job, finish_job

    at = app_test(user, "generate.py")
    at.number_input(key="gen_budget").set_value(20.0)
    button(at, "Launch run").click().run()
    with session_scope(immediate=True) as session:
        job_id = session.scalars(select(Job.id)).one()
        assert claim_job(session, job_id, worker_pid=1)
        finish_job(session, job_id, result)
    at.run()
    assert not at.exception
    return at, job_id


def test_a_finished_run_with_collapsed_classes_warns_before_review(users, digits):
    at, job_id = launched_and_finished(users["rita"], {"run_id": None, "batch_ids": [3, 4],
                                                       "collapsed_classes": ["1", "8", "9"]})
    assert any("batches 3 and 4 are ready for review" in s.value for s in at.success)  # not "batches [3, 4]"
    assert [w.value for w in at.warning if "flagged classes 8, 9: their samples" in w.value]  # of those it generated
    # one class is "class 1", not "class(es) 1"
    assert any("also flagged class 1, which this run generated no batch of" in c.value for c in at.caption)
    # The job's end redrew the whole page once, so "Recent runs" below shows it too.
    assert at.session_state[f"gen_job_ended_{job_id}"] is True
    assert list(at.dataframe[0].value["status"]) == ["done"]


def test_a_run_that_ended_young_notes_its_alike_classes_instead_of_warning(users, digits):
    at, _ = launched_and_finished(users["rita"], {"run_id": 2, "batch_ids": [3], "collapsed_classes": ["8"],
                                                  "run_step": 86})
    # It warned "possible mode collapse" of a run of 86 steps, whose every class still looks alike.
    assert not [w.value for w in at.warning if "flagged class" in w.value]
    assert [i.value for i in at.info if i.value.startswith("Samples of class 8 still vary much less")
            and "after only 86 steps that is expected" in i.value]


def test_the_budget_default_follows_its_unit(users, digits):
    at = app_test(users["rita"], "generate.py")
    assert at.number_input(key="gen_budget").value == 1500
    at.number_input(key="gen_budget").set_value(300.0).run()
    at.radio(key="gen_budget_kind").set_value("minutes").run()
    assert at.number_input(key="gen_budget").value == 2.0
    button(at, "Launch run").click().run()
    assert not at.exception and not at.error
    with session_scope() as session:
        config = session.scalars(select(Job)).one().params["config"]
        assert (config["minutes"], config["steps"]) == (2.0, None)
    at.radio(key="gen_budget_kind").set_value("steps").run()
    assert at.number_input(key="gen_budget").value == 300.0  # what was typed for steps comes back


def test_a_disabled_account_cannot_launch_a_run(users, digits):
    at = app_test(users["rita"], "generate.py")
    at.number_input(key="gen_budget").set_value(20.0)
    disable("rita")
    button(at, "Launch run").click().run()
    assert not at.exception
    assert job_count() == 0
    # The page run that follows the click signs her out before anything else is drawn.
    assert [e.value for e in at.error] == ["account 'rita' is disabled; ask an admin. You have been signed out."]


def test_resuming_says_the_checkpoint_keeps_its_network_settings(users, digits):
    make_batch(digits, 9, 1)  # a finished run of digits to resume from
    at = app_test(users["rita"], "generate.py")
    assert not [i for i in at.info if "resumed run keeps" in i.value]
    at.selectbox(key="gen_resume").set_value(1).run()
    assert [i for i in at.info if "resumed run keeps its checkpoint's network settings" in i.value]


def test_a_class_without_training_images_is_not_offered(users, digits, tmp_path):
    import numpy as np

    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "gap.npz", train_images=rng.integers(0, 255, (12, 8, 8), dtype=np.uint8),
             train_labels=np.array([0] * 11 + [1]), test_images=rng.integers(0, 255, (6, 8, 8), dtype=np.uint8),
             test_labels=np.array([0, 1, 2] * 2))  # class 2 has test images only
    ingest_dataset(str(tmp_path / "gap.npz"), "gap", IngestOptions(resolution=8))
    at = app_test(users["rita"], "generate.py")
    at.selectbox(key="gen_dataset").set_value("gap").run()
    classes = at.multiselect(key="gen_classes")
    assert classes.options == ["0: 0", "1: 1"]  # class 2 has nothing to learn from
    assert classes.value == [1]  # the new dataset's minority preselected, not the old one's choice
    at.selectbox(key="gen_dataset").set_value("digits").run()
    assert at.multiselect(key="gen_classes").value == [7, 8, 9]
    assert not at.exception


def timed_run(dataset: str, folder_name: str, config: dict, step: int, lines: list[dict], tail: str = "") -> int:
    """A finished run of `config` that trained `step` steps, its stats file holding `lines` (then `tail`, a line
    still being written): what the Generate form times a budget by. Returns its id."""
    import json

    from db.models import Batch, Run
    from ganaug_core import paths

    with session_scope() as session:
        run = session.get(Run, session.get(Batch, make_batch(dataset, 7, 2)).run_id)
        run.run_dir, run.step, run.config = f"runs/{folder_name}", step, config
        run_id = run.id
    folder = paths.home() / "runs" / folder_name
    folder.mkdir(parents=True)
    (folder / "stats.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines) + tail)
    return run_id


def test_the_budget_says_what_it_takes_at_the_pace_of_the_last_run_of_the_same_layout(users, digits):
    import json

    import streamlit as st

    from db.models import Batch, Run
    from ganaug_core import paths

    at = app_test(users["rita"], "generate.py")
    assert any("The first run on this dataset times the next ones" in c.value for c in at.caption)

    # A finished dcgan run of the form's layout (digits here are 16²) that trained 200 steps in 40 s after 12 s of
    # start-up (its first stats line, at step 25, came at 17 s): 5 steps/s, the start-up not counted.
    layout = {"arch": "dcgan", "edge_convs": True, "resolution": 16, "width": 16, "batch_size": 32}
    lines = [{"step": 25, "elapsed_s": 17.0}, {"step": 125, "elapsed_s": 37.0}, {"step": 225, "elapsed_s": 57.0}]
    run_id = timed_run(digits, "timed", layout, 200, lines, tail='{"step": 2')  # a torn last line
    # Newer runs of the command line at another side, width or batch size train at another pace: passed over; so is
    # a newer run of the layout with a single stats line (20 steps in 20 s, nearly all of it start-up).
    for i, other in enumerate([{"resolution": 8}, {"width": 32}, {"batch_size": 64}, {}]):
        with session_scope() as session:
            newer = session.get(Run, session.get(Batch, make_batch(digits, 7, 2)).run_id)
            newer.run_dir, newer.step, newer.config = f"runs/other{i}", 200, {**layout, **other}
        (paths.home() / "runs" / f"other{i}").mkdir(parents=True)
        one_line = {"step": 20, "elapsed_s": 20.0} if not other else {"step": 200, "elapsed_s": 4.0}
        (paths.home() / "runs" / f"other{i}" / "stats.jsonl").write_text(json.dumps(one_line))

    st.cache_data.clear()  # the page reads runs at most every 10 s
    at = app_test(users["rita"], "generate.py")
    at.number_input(key="gen_budget").set_value(1500.0).run()
    expected = f"≈ 5 min of training at the pace of run {run_id} (5.0 steps/s), then generating and scoring."
    assert expected in [c.value for c in at.caption]
    at.radio(key="gen_budget_kind").set_value("minutes").run()  # 2 min by default
    assert f"≈ 600 steps at the pace of run {run_id} (5.0 steps/s), then generating and scoring." in [
        c.value for c in at.caption]
    at.checkbox(key="gen_edge_convs").uncheck().run()  # another layout trains at another pace: no estimate from it
    assert not [c for c in at.caption if "at the pace of run" in c.value]


def test_the_form_builds_its_config_without_importing_torch():
    # The page builds a TrainConfig on every run (for the budget estimate). Importing torch costs the first page
    # run of a server seconds; the package's loop classes load on first use instead.
    import subprocess
    import sys

    code = ("import sys; from ganaug_core.training import TrainConfig; from ganaug_core.training.config import "
            "fast_bf16; TrainConfig(resolution=16, channels=1, num_classes=2).to_dict(); "
            "assert 'torch' not in sys.modules, 'torch was imported'; "
            "from ganaug_core.training import Trainer; assert 'torch' in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def finish(job_id: int, result: dict, run_id=None) -> None:
    from db.jobs import claim_job, finish_job

    with session_scope(immediate=True) as session:
        assert claim_job(session, job_id, worker_pid=1)
        finish_job(session, job_id, result, run_id=run_id)


def test_a_new_session_shows_what_came_of_my_last_job_and_opens_its_batch(users, digits):
    # A reload, another tab or a return after the job ended: the outcome and the way to review it were gone.
    from db.jobs import submit_job
    from db.models import Batch

    first, second = make_batch(digits, 8, 2), make_batch(digits, 9, 2)
    with session_scope(immediate=True) as session:
        run_id = session.get(Batch, second).run_id
        job = submit_job(session, "train_generate", {"dataset": digits, "classes": [8, 9]}, None,
                         requested_by=users["rita"]["id"]).id
    finish(job, {"run_id": run_id, "batch_ids": [first, second], "collapsed_classes": []}, run_id)
    at = app_test(users["rita"], "generate.py")
    assert any(s.value == f"Job {job}: done" for s in at.header)
    assert any("Launched by rita at" in c.value and "took" in c.value for c in at.caption)
    assert [b.label for b in at.button if b.label.startswith("Review batch")] == [
        f"Review batch {first} (class 8)", f"Review batch {second} (class 9)"]
    button(at, f"Review batch {second} (class 9)").click().run()
    assert not at.exception
    assert at.selectbox(key="review_batch").value == second  # the Review page, on that batch (not the first)


def test_generate_more_from_a_finished_run_launches_a_generate_only_job(users, digits):
    from db.jobs import submit_job
    from db.models import Batch

    batch = make_batch(digits, 9, 2)
    with session_scope(immediate=True) as session:
        run_id = session.get(Batch, batch).run_id
        job = submit_job(session, "train_generate", {"dataset": digits, "classes": [9]}, None,
                         requested_by=users["rita"]["id"]).id
    finish(job, {"run_id": run_id, "batch_ids": [batch]}, run_id)
    at = app_test(users["rita"], "generate.py")
    button(at, f"Generate more from run {run_id}").click().run()
    assert at.selectbox(key="gen_resume").value == run_id and at.checkbox(key="gen_only").value
    assert at.multiselect(key="gen_classes").value == [9]
    assert "No training: generating and scoring only." in [c.value for c in at.caption]
    at.number_input(key="gen_per_class").set_value(8)
    button(at, "Launch run").click().run()
    assert not at.exception and not at.error
    with session_scope() as session:
        new = session.scalars(select(Job).order_by(Job.id.desc())).first()
        assert (new.kind, new.params) == ("generate", {"dataset": digits, "classes": [9], "per_class": 8, "seed": 0,
                                                       "run_id": run_id})


def test_a_job_that_failed_after_its_first_batch_offers_it_for_review_and_generates_only_the_rest(users, digits):
    # The failed job's row held no run and no batches: the panel offered neither, and relaunching the whole job
    # trained again and made class 8's batch twice.
    from db.jobs import claim_job, fail_job, submit_job
    from db.models import Batch

    batch = make_batch(digits, 8, 2)
    with session_scope(immediate=True) as session:
        run_id = session.get(Batch, batch).run_id
        job = submit_job(session, "train_generate", {"dataset": digits, "classes": [8, 9]}, None,
                         requested_by=users["rita"]["id"]).id
        claim_job(session, job, 1)
        fail_job(session, job, "OSError: disk gone. Before it failed, the job recorded …", run_id,
                 {"batch_ids": [batch]})
    at = app_test(users["rita"], "generate.py")
    assert [e.value for e in at.error][0].startswith("The job failed: OSError: disk gone.")
    labels = [b.label for b in at.button]
    assert f"Review batch {batch} (class 8)" in labels
    button(at, f"Generate the rest from run {run_id}").click().run()
    assert at.selectbox(key="gen_resume").value == run_id and at.checkbox(key="gen_only").value
    assert at.multiselect(key="gen_classes").value == [9]


def test_resuming_a_run_asks_for_more_steps_than_it_has(users, digits):
    # The form let it through and the job failed with the command line's "ask for more than that with --steps".
    make_batch(digits, 9, 1)  # run 1: done at step 10
    at = app_test(users["rita"], "generate.py")
    at.selectbox(key="gen_resume").set_value(1)
    at.number_input(key="gen_budget").set_value(10.0)
    button(at, "Launch run").click().run()
    assert ("Run 1 is already at step 10: ask for more steps than that to train it further, or tick “Only generate "
            "from it”.") in [e.value for e in at.error]
    assert job_count() == 0


def test_a_queued_job_says_what_it_waits_for(users, digits, home):
    from db.jobs import claim_job, submit_job

    with session_scope(immediate=True) as session:
        running = submit_job(session, "train_generate", {"dataset": digits}, "r", requested_by=users["ada"]["id"]).id
        claim_job(session, running, 1)  # a worker is alive (its heartbeat is fresh), and busy
    with worker_beating(running):
        at = app_test(users["rita"], "generate.py")
        at.number_input(key="gen_budget").set_value(20.0)
        button(at, "Launch run").click().run()
    # It said "Waiting for the job worker … needs one in a terminal" while the worker was busy with another job.
    assert any(c.value.startswith(f"Queued behind job {running}: the worker runs one job at a time")
               for c in at.caption)
    assert not [w for w in at.warning if "No job worker is running" in w.value]


def test_a_failed_job_shows_one_line_and_its_details_folded(users, digits):
    from db.jobs import claim_job, fail_job, submit_job

    with session_scope(immediate=True) as session:
        job = submit_job(session, "train_generate", {"dataset": digits}, None, requested_by=users["rita"]["id"]).id
        claim_job(session, job, 1)
        fail_job(session, job, "unknown run 999\n\nTraceback (most recent call last):\n  File \"x.py\"")
    at = app_test(users["rita"], "generate.py")
    assert [e.value for e in at.error] == ["The job failed: unknown run 999"]
    assert at.expander[-1].label == "Details (for a bug report)"


def test_a_job_whose_worker_died_is_marked_failed_by_the_page(users, digits):
    import datetime as dt

    from db.jobs import claim_job, submit_job

    with session_scope(immediate=True) as session:
        job = submit_job(session, "train_generate", {"dataset": digits}, None, requested_by=users["rita"]["id"]).id
        claim_job(session, job, 1)
        session.get(Job, job).heartbeat_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
    at = app_test(users["rita"], "generate.py")  # no worker runs to sweep it: the bar stayed frozen, "running"
    assert any(s.value == f"Job {job}: failed" for s in at.header)
    assert any("stopped sending heartbeats" in e.value for e in at.error)


def _shown_images(at) -> list:
    """The PIL images of every st.image element on the page, decoded from their data URIs."""
    import base64
    import io

    from PIL import Image

    out = []
    for element in at.get("image"):
        for img in element.proto.imgs:
            if img.url.startswith("data:image/png;base64,"):
                out.append((Image.open(io.BytesIO(base64.b64decode(img.url.split(",", 1)[1]))), img.caption))
    return out


def test_a_64px_runs_grid_is_shown_at_its_own_size_with_its_rows_named(users, digits, home):
    # A 64² run's overview (10 samples of each class) is 662 px wide; drawn 480 px wide by nearest neighbour it lost
    # every fourth pixel row and column, and with them a thin crack. Its rows were not named either.
    import numpy as np

    from db.jobs import submit_job
    from db.models import Batch
    from ganaug_core.imageio import make_grid, save_png

    batch = make_batch(digits, 9, 2)
    with session_scope(immediate=True) as session:
        run_id = session.get(Batch, batch).run_id
        job = submit_job(session, "train_generate", {"dataset": digits, "classes": [9]}, None,
                         requested_by=users["rita"]["id"]).id
    tiles = np.full((20, 3, 64, 64), 200, dtype=np.uint8)
    tiles[:, :, 21] = 0  # a one-pixel dark line across every sample (row 21 of 64: one of those a 480-px grid drops)
    save_png(make_grid(tiles, nrow=10), home / "runs" / "test" / "grids" / "step0000010.png")
    finish(job, {"run_id": run_id, "batch_ids": [batch], "collapsed_classes": []}, run_id)
    at = app_test(users["rita"], "generate.py")
    (grid, caption), = [(im, c) for im, c in _shown_images(at) if c.startswith("latest samples")]
    assert grid.size == (662, 134)
    assert (np.asarray(grid)[2 + 21, 2:66] == 0).all()  # the line, whole
    assert caption == "latest samples, one row per class, top to bottom: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9"


def _follow_job_panel(job_id: int) -> None:
    """An app script that draws only the Generate page's job panel (AppTest cannot rerun a fragment alone)."""
    from pages.generate_job import job_panel

    job_panel(job_id, {}, {})


def test_a_job_panel_redrawn_while_the_database_is_gone_says_one_line_and_recovers(users, digits):
    """The panel redraws itself every 2 s outside the page's run: a PostgreSQL restart put Streamlit's
    OperationalError box, with its search links, in the panel until the server answered."""
    from streamlit.testing.v1 import AppTest

    from db.engine import database_url
    from db.jobs import submit_job
    from tests.app.conftest import TIMEOUT
    from tests.db.helpers import database_gone

    with session_scope(immediate=True) as session:
        job = submit_job(session, "train_generate", {"dataset": digits}, None, requested_by=users["rita"]["id"]).id
    at = AppTest.from_function(_follow_job_panel, args=(job,), default_timeout=TIMEOUT)
    at.session_state["user"] = users["rita"]  # the panel draws for a signed-in account only
    with database_gone(database_url()):
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [
        f"{at.error[0].value.split('. ')[0]}. This panel tries again by itself."]
    assert at.error[0].value.startswith("The database is not answering")  # no URL: anyone may see the page
    at.run()  # the server is back: the next redraw shows the job
    assert not at.error and not at.exception
