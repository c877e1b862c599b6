"""An admin adds a dataset from the Overview page (a folder on the server, ingested by the job worker): a clinic's team
that never opens a shell had no way to. Reviewers see no form; the folder is previewed before anything starts; bad
paths and names are refused in one line; Cancel leaves no dataset; the log's ingest names the admin."""

from __future__ import annotations

import numpy as np
from PIL import Image
from sqlalchemy import select

from ganaug_core.markdown import plain
from tests.app.conftest import app_test, button


def png_folder(root, classes=(("cat", 3), ("dog", 2))):
    """One sub-folder of distinct 8×8 PNGs per class, and a note that is no image."""
    rng = np.random.default_rng(3)
    for name, n in classes:
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(root / name / f"{i}.png")
    (root / "cat" / "notes.txt").write_text("not an image")
    return root


def text_input(at, label: str):
    return next(t for t in at.text_input if t.label == label)


def number_input(at, label: str):
    return next(n for n in at.number_input if n.label == label)


def fill(at, source: str, name: str = "pets", resolution: int = 8):
    text_input(at, "Folder on the server").set_value(source)
    text_input(at, "Name").set_value(name)
    number_input(at, "Resolution (side in pixels)").set_value(resolution)
    at.run()
    return at


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def only_job():
    from db.engine import session_scope
    from db.models import Job

    with session_scope() as session:
        return session.scalars(select(Job)).one()


def test_a_reviewer_sees_no_form_and_an_admin_does(users):
    assert not [e for e in app_test(users["rita"]).expander if e.label == "Add a dataset"]
    at = app_test(users["ada"])
    assert [e for e in at.expander if e.label == "Add a dataset"]
    assert "Folder on the server" in [t.label for t in at.text_input]


def test_the_preview_counts_each_class_folder_by_name_before_anything_starts(users, tmp_path):
    src = png_folder(tmp_path / "src")
    # A class that is a link to another store: followed by default, and said only after the ingest, too late.
    store = png_folder(tmp_path / "other_patients")
    (src / "bird").symlink_to(store / "dog")
    at = fill(app_test(users["ada"]), str(src))
    assert not errors(at)
    table = next(d.value for d in at.dataframe if "cls" in d.value.columns)
    assert list(table["cls"]) == ["bird", "cat", "dog"] and list(table["images"]) == [2, 3, 2]
    assert any(c.value.startswith(f"{plain(str(src))} holds 7 image files in 3 class folders") for c in at.caption)
    assert plain(f"Links followed, their images ingested with the folder's: {src / 'bird'} → {store / 'dog'}. Untick "
                 "Follow links to pass over them.") in [c.value for c in at.caption]
    assert only_job_count() == 0  # a preview queues nothing


def only_job_count() -> int:
    from db.engine import session_scope
    from db.models import Job

    with session_scope() as session:
        return len(session.scalars(select(Job)).all())


def test_bad_folders_and_names_are_refused_in_one_line_and_queue_nothing(users, tmp_path, home):
    src = png_folder(tmp_path / "src")
    (tmp_path / "file.png").write_bytes(b"x")
    (tmp_path / "flat").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "flat" / "0.png")
    cases = [
        (str(tmp_path / "nowhere"), "pets", "does not exist on the server"),
        (str(tmp_path / "file.png"), "pets", "is a file, not a folder"),
        ("relative/path", "pets", "is not an absolute path"),
        (str(tmp_path / "flat"), "pets", "holds no class folders: its 1 image is in no class folder"),
        (str(home / "datasets" / "digits"), "pets", "which ganaug writes itself"),
        (str(src), "digits", "dataset 'digits' already exists: choose another name"),
        (str(src), "a/b", "invalid dataset name 'a/b'"),
        (str(src), "", "give the dataset a name"),
    ]
    at = app_test(users["ada"])
    for source, name, said in cases:
        fill(at, source, name)
        button(at, "Ingest").click().run()
        assert [e for e in errors(at) if said in e and e.startswith("Not ingested: ")], (source, name, errors(at))
    assert only_job_count() == 0


def test_a_folder_path_is_escaped_on_the_page(users, tmp_path):
    src = png_folder(tmp_path / "**bold** [x](http://e.org)")
    at = fill(app_test(users["ada"]), str(src))
    said = next(c.value for c in at.caption if "image files in 2 class folders" in c.value)
    assert "\\*\\*bold\\*\\*" in said and "\\[x\\]" in said


def test_an_ingest_runs_as_a_job_names_the_admin_in_the_log_and_shows_on_the_overview(users, tmp_path):
    from db.engine import session_scope
    from db.models import Dataset, Event
    from ganaug.worker import execute_job

    src = png_folder(tmp_path / "src")
    at = fill(app_test(users["ada"]), str(src))
    button(at, "Ingest").click().run()
    job = only_job()
    assert (job.kind, job.params["dataset"], job.params["source"], job.requested_by) == (
        "ingest", "pets", str(src), users["ada"]["id"])
    assert execute_job(job.id) == "done"
    with session_scope() as session:
        ds = session.scalars(select(Dataset).where(Dataset.name == "pets")).one()
        assert (ds.class_names, ds.resolution) == (["cat", "dog"], 8)
        event = session.scalars(select(Event).where(Event.action == "ingest", Event.target_id == ds.id)).one()
        assert (event.actor, event.role, event.actor_id) == ("ada", "admin", users["ada"]["id"])
    at.run()
    assert any(s.value.startswith("Dataset 'pets' ingested: 5 images in 2 classes, stored at 8²")
               for s in at.success)
    # what the ingest left out, where the Overview shows every dataset's findings
    assert any(c.value.startswith("pets: 1 file or folder was left out at ingest") for c in at.caption)


def test_a_cancelled_ingest_leaves_no_dataset(users, tmp_path, home, monkeypatch):
    from db.engine import session_scope
    from db.jobs import request_cancel
    from db.models import Dataset
    from ganaug import job_handlers, running_job, worker

    monkeypatch.setattr(running_job, "CANCEL_CHECK_S", 0.0)  # the worker asks the database at every safe point

    src = png_folder(tmp_path / "src")
    at = fill(app_test(users["ada"]), str(src))
    button(at, "Ingest").click().run()
    job = only_job()
    asked = []

    def cancel_at_first_report(params, progress, should_stop):  # cancelled while it decodes
        def report(p):
            if not asked:
                with session_scope(immediate=True) as session:
                    request_cancel(session, job.id, by="ada")
                asked.append(p.stage)
            progress(p)
        return job_handlers.ingest(params, report, should_stop)

    monkeypatch.setitem(job_handlers.HANDLERS, "ingest", cancel_at_first_report)
    assert worker.execute_job(job.id) == "cancelled"
    with session_scope() as session:
        assert session.scalars(select(Dataset).where(Dataset.name == "pets")).first() is None
    assert sorted(p.name for p in (home / "datasets").iterdir()) == ["digits"]  # no staging folder left
    at.run()
    assert any("recorded nothing" in w.value for w in at.warning)


def test_a_cancel_that_comes_once_the_ingest_committed_leaves_it_done(users, tmp_path, monkeypatch):
    # Cancel pressed in the instant between the ingest's commit and its handler's return: the job read "cancelled"
    # while its dataset was stored and in use.
    from db.engine import session_scope
    from db.jobs import request_cancel
    from db.models import Dataset
    from ganaug import job_handlers, running_job, worker

    monkeypatch.setattr(running_job, "CANCEL_CHECK_S", 0.0)
    src = png_folder(tmp_path / "src")
    at = fill(app_test(users["ada"]), str(src))
    button(at, "Ingest").click().run()
    job = only_job()

    def cancelled_once_stored(params, progress, should_stop):
        result = job_handlers.ingest(params, progress, should_stop)
        with session_scope(immediate=True) as session:
            request_cancel(session, job.id, by="ada")
        return result

    monkeypatch.setitem(job_handlers.HANDLERS, "ingest", cancelled_once_stored)
    assert worker.execute_job(job.id) == "done"
    with session_scope() as session:
        assert session.scalars(select(Dataset).where(Dataset.name == "pets")).one()


def test_a_reviewer_cannot_launch_even_with_a_stale_admin_session(users, tmp_path):
    # Demoted after signing in: the page still shows the form, but the launch re-reads the role.
    from db.engine import session_scope
    from db.users import get_user, set_role

    src = png_folder(tmp_path / "src")
    at = fill(app_test(users["ada"]), str(src))
    with session_scope(immediate=True) as session:
        set_role(session, "rita", "admin", by=get_user(session, "ada"), reason="cover")
        set_role(session, "ada", "reviewer", by=get_user(session, "rita"), reason="left the post")
    button(at, "Ingest").click().run()
    assert only_job_count() == 0
    assert "Not ingested: 'ada' is a reviewer; only admins add datasets: no ingest was launched" in errors(at)


def test_an_ingest_queued_by_an_admin_demoted_before_it_ran_writes_nothing(users, tmp_path, home):
    from db.engine import session_scope
    from db.models import Dataset
    from db.users import get_user, set_role
    from ganaug.worker import execute_job

    src = png_folder(tmp_path / "src")
    at = fill(app_test(users["ada"]), str(src))
    button(at, "Ingest").click().run()
    with session_scope(immediate=True) as session:
        set_role(session, "rita", "admin", by=get_user(session, "ada"), reason="cover")
        set_role(session, "ada", "reviewer", by=get_user(session, "rita"), reason="left the post")
    assert execute_job(only_job().id) == "failed"
    assert only_job().error.startswith("'ada' is a reviewer; only admin may ingest datasets")
    with session_scope() as session:
        assert session.scalars(select(Dataset).where(Dataset.name == "pets")).first() is None
    assert sorted(p.name for p in (home / "datasets").iterdir()) == ["digits"]


def test_a_new_tab_follows_the_queued_ingest_and_its_cancel_stops_it(users, tmp_path):
    src = png_folder(tmp_path / "src")
    at = fill(app_test(users["ada"]), str(src))
    button(at, "Ingest").click().run()
    other = app_test(users["ada"])  # a reload: a new session
    assert f"**Job {only_job().id}: ingest of 'pets', queued**" in [m.value for m in other.markdown]
    button(other, "Cancel").click().run()
    assert only_job().status == "cancelled"
    assert any(w.value.startswith("cancelled before it started") for w in other.warning)
