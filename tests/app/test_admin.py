"""The Admin page: what a team's admin does to accounts and tags besides adding them — reset a forgotten password,
change a role, retire and restore a tag, see the names guessed at in the sign-in form and clear an account's lock —
each written to the decision log under the admin's name."""

from __future__ import annotations

from sqlalchemy import select

from db.engine import session_scope
from db.models import Event
from tests.app.conftest import PASSWORD, app_test, button


def _last_event() -> tuple:
    with session_scope() as session:
        e = session.scalars(select(Event).order_by(Event.id.desc()).limit(1)).one()
        return e.actor, e.action, e.reason, e.details


def test_an_admin_resets_a_forgotten_password_and_no_copy_of_it_stays(users):
    from db.users import authenticate

    at = app_test(users["ada"], "admin.py")
    at.selectbox(key="admin_who").set_value("rita").run()  # the buttons wake once an account is chosen
    at.text_input(key="admin_reason").input("forgot it")
    at.text_input(key="admin_reset_password").input("short")
    button(at, "Reset password").click().run()
    assert [e.value for e in at.error] == ["the password must have at least 8 characters"]
    assert at.text_input(key="admin_reset_password").value == ""  # emptied, refused or not
    at.text_input(key="admin_reset_password").input("rita's new password")
    button(at, "Reset password").click().run()
    assert not at.exception and [s.value for s in at.success] == ["New password set for rita; their sign-ins have ended."]
    assert at.text_input(key="admin_reset_password").value == "" and at.text_input(key="admin_reason").value == ""
    assert "rita's new password" not in repr(at.session_state)
    assert _last_event() == ("ada", "set_password", "forgot it", {"name": "rita", "own": False, "sign_ins_ended": 0})
    with session_scope() as session:
        assert authenticate(session, "rita", "rita's new password").name == "rita"


def test_an_admin_changes_a_role_and_cannot_demote_themselves(users):
    at = app_test(users["ada"], "admin.py")
    at.selectbox(key="admin_who").set_value("ada").run()
    at.selectbox(key="admin_role").set_value("reviewer")
    button(at, "Change role").click().run()
    assert [e.value for e in at.error] == ["'ada' is the last active admin and cannot be made a reviewer"]
    at.selectbox(key="admin_who").set_value("rita")
    at.selectbox(key="admin_role").set_value("admin")
    at.text_input(key="admin_reason").input("second admin for the holidays")
    button(at, "Change role").click().run()
    assert [s.value for s in at.success] == ["rita's role is now admin; their sign-ins have ended."]
    accounts = at.dataframe[0].value
    assert dict(zip(accounts["name"], accounts["role"])) == {"ada": "admin", "rita": "admin"}
    assert _last_event()[:3] == ("ada", "set_role", "second admin for the holidays")
    at.selectbox(key="admin_who").set_value("ada")
    at.selectbox(key="admin_role").set_value("reviewer")
    button(at, "Change role").click().run()
    assert [e.value for e in at.error] == ["an admin cannot demote themselves: ask another admin"]


def test_an_admin_retires_and_restores_a_tag(users):
    at = app_test(users["ada"], "admin.py")
    at.selectbox(key="admin_tag_which").set_value("checkerboard")
    at.text_input(key="admin_tag_reason").input("our generator has no upsampling layers")
    button(at, "Retire tag").click().run()
    assert [s.value for s in at.success] == ["Tag checkerboard retired."]
    tags = at.dataframe[1].value
    assert not dict(zip(tags["name"], tags["active"]))["checkerboard"] and dict(zip(tags["name"], tags["active"]))["blur"]
    assert _last_event() == ("ada", "retire_tag", "our generator has no upsampling layers",
                             {"tag": "checkerboard", "blocking": True})
    button(at, "Retire tag").click().run()
    assert [e.value for e in at.error] == ["tag 'checkerboard' is already retired"]
    button(at, "Restore tag").click().run()
    assert [s.value for s in at.success] == ["Tag checkerboard is in use again."]
    assert _last_event()[:2] == ("ada", "restore_tag")


def test_the_audit_page_filters_the_account_and_tag_changes(users):
    at = app_test(users["ada"], "admin.py")
    at.selectbox(key="admin_tag_which").set_value("blur")
    at.text_input(key="admin_tag_reason").input("use smear")
    button(at, "Retire tag").click().run()
    at.selectbox(key="admin_who").set_value("rita").run()
    at.text_input(key="admin_reset_password").input("a brand new one")
    button(at, "Reset password").click().run()
    at.switch_page("pages/audit.py")
    at.run()
    for action, meaning, reason in (
            ("retire_tag", "Tag 'blur' is retired: reviewers may no longer put it on a sample.", "use smear"),
            ("set_password", "The password of account 'rita' was reset by an admin; its sign-ins were ended.", "–")):
        at.selectbox(key="audit_action").set_value(action).run()
        rows = at.dataframe[0].value
        assert list(zip(rows["actor"], rows["action"], rows["meaning"], rows["reason"].fillna("–"))) == [
            ("ada", action.replace("_", " "), meaning, reason)]  # actions in words; "–" for no reason


def test_only_the_account_change_that_applies_is_offered(users):
    # Disable and Enable were both offered whatever the account's state; the wrong one only gave an error.
    at = app_test(users["ada"], "admin.py")
    at.selectbox(key="admin_who").set_value("rita").run()
    assert (button(at, "Disable").disabled, button(at, "Enable").disabled) == (False, True)
    at.text_input(key="admin_reason").input("left the team")
    button(at, "Disable").click().run()
    assert not at.exception and [s.value for s in at.success] == ["rita disabled."]
    assert (button(at, "Disable").disabled, button(at, "Enable").disabled) == (True, False)
    assert [m.value for m in at.markdown if m.value.startswith("**")][:2] == ["**Add an account**",
                                                                              "**Change an account**"]


def test_an_admin_sees_the_names_guessed_at_and_clears_a_lock(users, home):
    """A name being guessed at showed nowhere: the tries lived in the app's memory."""
    from db.sign_ins import MAX_FAILED_SIGN_INS

    def sign_in(name, password):
        at = app_test()
        at.text_input(key="sign_in_name").input(name)
        at.text_input(key="sign_in_password").input(password)
        button(at, "Sign in").click().run()
        return at

    for i in range(MAX_FAILED_SIGN_INS):
        sign_in("Rita", f"guess number {i}")  # each guess from a new browser session
    sign_in("mallory", "guess number 9")
    assert "too many wrong passwords for 'rita'" in sign_in("rita", PASSWORD).error[0].value

    at = app_test(users["ada"], "admin.py")
    guessed = at.dataframe[1].value
    assert list(zip(guessed["name"], guessed["tries"], guessed["locked"])) == [("(no account)", 1, False),
                                                                               ("rita", MAX_FAILED_SIGN_INS, True)]
    assert guessed["locked_until"].notna().tolist() == [False, True]
    assert at.selectbox(key="admin_unlock_who").options == ["rita"]  # only an account's lock can be cleared
    at.selectbox(key="admin_unlock_who").set_value("rita")
    at.text_input(key="admin_unlock_reason").input("she called the help desk")
    button(at, "Clear wrong passwords").click().run()
    assert [s.value for s in at.success] == ["The wrong passwords for rita are forgotten: it may sign in again."]
    assert list(at.dataframe[1].value["name"]) == ["(no account)"]
    assert _last_event() == ("ada", "unlock_sign_in", "she called the help desk",
                             {"name": "rita", "failed_sign_ins": MAX_FAILED_SIGN_INS, "was_locked": True})
    assert sign_in("rita", PASSWORD).session_state["user"]["name"] == "rita"
    stored = b"".join(f.read_bytes() for f in home.glob("ganaug.db*"))
    assert b"guess number" not in stored  # never a password
    assert b"mallory" not in stored  # a name that is no account's (a password in the wrong box?) as its digest


def test_no_account_is_preselected_for_a_change(users):
    # "Change an account" opened on the signed-in admin with "Disable" on offer (refused, but a confusing start).
    at = app_test(users["ada"], "admin.py")
    actions = ("Disable", "Enable", "Change role", "Reset password")
    assert at.selectbox(key="admin_who").value is None
    assert [button(at, label).disabled for label in actions] == [True, True, True, True]
    assert any(c.value == "Choose an account above: each button below acts on it." for c in at.caption)
    at.selectbox(key="admin_who").set_value("rita").run()
    assert [button(at, label).disabled for label in actions] == [False, True, False, False]
