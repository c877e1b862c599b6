"""A new user's first screens: no account, no dataset, a job no worker has picked up yet. Each says what to do next."""

from __future__ import annotations

from tests.app.conftest import PASSWORD, app_test, button


def add_admin(name: str = "ada") -> dict:
    from db.engine import session_scope
    from db.users import add_user

    with session_scope(immediate=True) as session:
        user = add_user(session, name, PASSWORD, role="admin")
        return dict(id=user.id, name=user.name, role=user.role)


def test_a_fresh_home_says_how_to_make_the_first_admin_and_where(home, capfd):
    at = app_test()
    assert [t.label for t in at.text_input] == ["Reviewer name", "Password"]
    hint = " ".join(i.value for i in at.info)
    # The app used to offer a sign-in form and nothing else: no way to learn how an account comes to exist.
    assert "ganaug users add NAME --role admin" in hint and "`GANAUG_HOME` as this app (the console" in hint
    # The page named the server's folder ("…as this app (/srv/ganaug/home)") to anyone who reached the app; the
    # default ./.ganaug depends on the folder the app started in, so the console that runs it names the home, once.
    assert str(home) not in hint and "/" not in hint
    app_test()
    console = capfd.readouterr().err
    assert console.count(f"`GANAUG_HOME={home} ganaug users add NAME --role admin`") == 1, console
    assert not at.caption

    add_admin()
    at = app_test()
    assert not at.info  # an admin exists: the first-account hint would now be wrong
    assert [c.value for c in at.caption] == ["No account? Ask an admin: they add one on the Admin page."]


def test_the_first_admin_hint_names_the_database_url_when_one_is_set(home, tmp_path, monkeypatch):
    from db.engine import dispose_engines

    monkeypatch.setenv("GANAUG_DB_URL", f"sqlite:///{tmp_path / 'team.db'}")
    dispose_engines()
    hint = app_test().info[0].value
    assert "the same `GANAUG_DB_URL` as this app" in hint and "GANAUG_HOME" not in hint


def test_pages_without_a_dataset_say_how_to_ingest_your_own_folder(home):
    admin = add_admin()
    for page in ("overview.py", "review.py", "generate.py", "embeddings.py", "evaluate.py", "audit.py"):
        at = app_test(admin, page)
        hints = [i.value for i in at.info]
        # They named only the demo: `ganaug data ingest demo:digits --name digits`.
        assert any("`ganaug data ingest PATH/TO/FOLDER --name NAME`" in h and "one sub-folder per class" in h
                   for h in hints), (page, hints)


def test_a_queued_job_says_which_worker_runs_it(users, digits):
    at = app_test(users["rita"], "generate.py")
    at.number_input(key="gen_budget").set_value(20.0)
    button(at, "Launch run").click().run()
    assert any(s.value.endswith(": queued") for s in at.header)
    # Without a worker the job stays queued, its bar at 0 and its text "queued", saying nothing of why.
    assert any(w.value.startswith("No job worker is running") and "`ganaug worker`" in w.value
               and "`ganaug app` starts one" in w.value for w in at.warning)


def test_a_new_session_follows_the_run_still_in_progress_until_let_go(users, digits):
    from db.engine import session_scope
    from db.jobs import submit_job

    with session_scope(immediate=True) as session:
        done = submit_job(session, "train_generate", {"dataset": digits}, None, requested_by=users["ada"]["id"])
        done.status = "done"
        job = submit_job(session, "train_generate", {"dataset": digits}, None, requested_by=users["ada"]["id"]).id
    at = app_test(users["rita"], "generate.py")  # a reload or another tab: a new session, nothing in its state
    # It showed only a still row of the table; the live bar and Cancel were gone with the session that launched it.
    assert [s.value for s in at.header] == [f"Job {job}: queued", "Recent runs"]
    assert [b.label for b in at.button if b.label == "Cancel"] == ["Cancel"]
    button(at, "Prepare another run").click().run()
    assert [s.value for s in at.header] == ["Recent runs"]
    at.run()  # let go for good: the next run of the page does not follow it again
    assert [s.value for s in at.header] == ["Recent runs"]
