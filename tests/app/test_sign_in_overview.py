"""Sign-in, role-dependent navigation and the overview page."""

from __future__ import annotations

from tests.app.conftest import PASSWORD, app_test, button, make_batch


def sign_in(at, name, password):
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    button(at, "Sign in").click()
    at.run()
    return at


def test_sign_in_wrong_password_shows_error_and_stays_signed_out(users):
    at = sign_in(app_test(), "rita", "not the password")
    assert "user" not in at.session_state
    assert at.error and "password" in at.error[0].value.lower()


def test_sign_in_empty_fields_asks_for_both(users):
    at = sign_in(app_test(), "", "")
    assert at.error[0].value == "Enter your reviewer name and password."


def test_sign_in_lands_on_overview_with_role_in_session(users, digits):
    at = sign_in(app_test(), "rita", PASSWORD)
    assert not at.exception
    assert at.session_state["user"]["name"] == "rita"
    assert at.session_state["user"]["role"] == "reviewer"
    assert at.title[0].value == "Overview"


def test_overview_shows_counts_and_pending_batches(users, digits):
    make_batch(digits, 9, 6)
    at = app_test(users["rita"])
    assert at.title[0].value == "Overview"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Datasets"] == "1"
    assert metrics["Batches to review"] == "1"
    assert metrics["Synthetic samples"] == "6"
    assert len(at.dataframe) >= 1


def test_admin_page_refuses_reviewers_and_adds_a_tag_for_admins(users):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT, TIMEOUT

    rev = AppTest.from_file(str(ROOT / "pages" / "admin.py"), default_timeout=TIMEOUT)
    rev.session_state["user"] = users["rita"]
    rev.run()
    assert rev.error[0].value == "Only admins can manage accounts and the tag taxonomy."

    at = app_test(users["ada"], "admin.py")
    assert at.title[0].value == "Admin"
    at.text_input(key="admin_tag_name").input("halo")
    at.text_input(key="admin_tag_description").input("grid-like upsampling artifact")
    button(at, "Add tag").click()
    at.run()
    assert not at.exception
    assert at.success[0].value == "Tag halo added."
    from db.engine import session_scope
    from db.tags import get_tag

    with session_scope() as session:
        assert get_tag(session, "halo").blocking


def test_a_page_run_without_a_signed_in_user_shows_nothing(users, digits):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT, TIMEOUT

    for page in ("overview.py", "review.py"):  # app.py offers only the sign-in page then; a page on its own stops
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=TIMEOUT).run()
        assert not at.exception and [w.value for w in at.warning] == ["Please sign in first."]
        assert not at.dataframe and not at.image and not at.button


def test_a_refused_account_keeps_its_fields_but_not_the_password(users):
    at = app_test(users["ada"], "admin.py")
    at.text_input(key="admin_new_name").input("brenda")
    at.selectbox(key="admin_new_role").set_value("admin")
    at.text_input(key="admin_new_password").input("short")
    button(at, "Add account").click().run()
    assert at.error[0].value == "the password must have at least 8 characters"
    # The form used to clear itself on submit: a short password cost the name and role too.
    assert (at.text_input(key="admin_new_name").value, at.selectbox(key="admin_new_role").value) == ("brenda", "admin")
    assert at.text_input(key="admin_new_password").value == ""  # no password kept in the page's state
    at.text_input(key="admin_new_password").input("long enough now")
    button(at, "Add account").click().run()
    assert at.success[0].value == "Account brenda added."
    assert (at.text_input(key="admin_new_name").value, at.selectbox(key="admin_new_role").value) == ("", "reviewer")
    assert "brenda" in list(at.dataframe[0].value["name"])


def test_disabled_account_cannot_sign_in_nor_decide(users, digits):
    from db.engine import session_scope
    from db.models import Event
    from db.users import get_user, set_active
    from sqlalchemy import func, select

    batch = make_batch(digits, 9, 2)
    at = app_test(users["rita"], "review.py")
    at.selectbox(key="review_batch").set_value(batch).run()
    assert [b for b in at.button if b.label == "Reject batch"]
    with session_scope(immediate=True) as session:
        set_active(session, "rita", False, by=get_user(session, "ada"), reason="left the team")
    at.run()  # her next click or page: she is signed out, and sees no sample and no button but the sign-in form's
    assert [e.value for e in at.error] == ["account 'rita' is disabled; ask an admin. You have been signed out."]
    assert "user" not in at.session_state and not at.image and [b.label for b in at.button] == ["Sign in"]
    # The sign-in page itself, not a blank page under a sidebar that still says "Signed in as rita".
    assert [t.label for t in at.text_input] == ["Reviewer name", "Password"]
    assert not [c for c in at.sidebar.caption if "Signed in as" in c.value]
    with session_scope() as session:
        assert session.scalar(select(func.count()).where(Event.action == "reject")) == 0

    again = sign_in(app_test(), "rita", PASSWORD)
    assert "user" not in again.session_state and again.error


def test_a_database_gone_while_signed_in_is_one_message_and_the_next_run_recovers(users, digits, capsys):
    # A PostgreSQL restart showed every reviewer a traceback (OperationalError) in place of the page.
    from db.engine import database_url
    from tests.db.helpers import database_gone

    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT, TIMEOUT

    app_test(users["rita"])  # the database opened (and migrated) first, as a running app has it
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["user"] = users["rita"]
    with database_gone(database_url()):
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error[0].value == ("The database is not answering (the app's log says why, for whoever runs the app). "
                                 "Reload the page to try again.")
    assert "ganaug app: the database sqlite:" in capsys.readouterr().err  # the detail, for whoever runs the app
    at.run()
    assert not at.error and at.title[0].value == "Overview"


def test_a_database_a_newer_ganaug_migrated_is_one_message_naming_what_to_do(users, digits, capsys):
    # A teammate who has not pulled yet: alembic's traceback ("Can't locate revision"), then "when it answers again".
    from sqlalchemy import text

    from db.engine import database_url, dispose_engines, get_engine

    with get_engine(database_url(), migrate=False).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    dispose_engines()
    at = app_test(users["rita"])
    assert not at.exception, [e.value for e in at.exception]
    assert at.error[0].value == ("The app cannot use its database until whoever runs the app mends what the app's "
                                 "log names. Reload the page to try again.")
    message = capsys.readouterr().err  # the page names no database: whoever runs the app reads what to do
    assert "has schema revision 0999, which this ganaug does not know" in message and "`git pull`" in message


def test_wrong_passwords_lock_the_name_out_even_for_the_right_password(users):
    from db.sign_ins import MAX_FAILED_SIGN_INS

    at = app_test()  # the form had no limit: a script could try scrypt's ~10 passwords a second, all day
    for i in range(MAX_FAILED_SIGN_INS):
        sign_in(at, "rita", f"guess number {i}")
        assert at.error[0].value == ("unknown user, wrong password or disabled account for 'rita' (an admin can "
                                     "tell you which)")
    sign_in(at, "rita", PASSWORD)
    assert "user" not in at.session_state
    assert at.error[0].value == "too many wrong passwords for 'rita': try again in 15 minutes"
    other = sign_in(app_test(), "RITA", PASSWORD)  # another browser, another spelling: the same name
    assert "user" not in other.session_state and "too many wrong passwords" in other.error[0].value
    assert sign_in(app_test(), "ada", PASSWORD).session_state["user"]["name"] == "ada"
