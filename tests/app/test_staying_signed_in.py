"""Staying signed in across reloads: the sign-in form hands the browser a cookie with a fresh token, a new session
with that cookie is signed in again, and signing out (here, in another tab, or by an admin) ends the token and
deletes the cookie. AppTest cannot send cookies, so restoring is driven through `restore_sign_in` itself; the
browser test reloads a real page."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import UnknownElement

from db.engine import session_scope
from db.models import SignIn
from db.sign_ins import SIGN_IN_HOURS, end_sign_in
from tests.app.conftest import PASSWORD, TIMEOUT, app_test, button


def cookie_writes(at) -> list[dict]:
    """What the cookie component hands the browser on this run (it draws nothing AppTest could click)."""
    def walk(node):
        for el in node.children.values():
            if isinstance(el, UnknownElement) and el.type == "bidi_component":
                data = json.loads(el.proto.json)
                if data.get("name") == "ganaug_sign_in":
                    yield data
            elif getattr(el, "children", None):
                yield from walk(el)
    return list(walk(at._tree))


def signed_in_by_form(name: str = "rita"):
    at = app_test()
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(PASSWORD)
    button(at, "Sign in").click().run()
    assert at.session_state["user"]["name"] == name
    return at


def live_tokens() -> list[str]:
    with session_scope() as session:
        return list(session.scalars(select(SignIn.token_sha256).where(SignIn.ended_at.is_(None))))


def test_signing_in_gives_the_browser_a_cookie_with_a_fresh_token(users):
    at = signed_in_by_form()
    token = at.session_state["sign_in_token"]
    assert live_tokens() == [hashlib.sha256(token.encode()).hexdigest()]  # the database keeps its sha256 only
    [cookie] = cookie_writes(at)
    assert cookie["value"] == token
    assert SIGN_IN_HOURS * 3600 - 120 < cookie["max_age"] <= SIGN_IN_HOURS * 3600


def test_signing_out_ends_the_token_and_deletes_the_cookie(users):
    at = signed_in_by_form()
    token = at.session_state["sign_in_token"]
    button(at, "Sign out").click().run()
    assert "user" not in at.session_state and [b.label for b in at.button] == ["Sign in"]
    assert live_tokens() == []
    assert cookie_writes(at) == [{"name": "ganaug_sign_in", "value": "", "max_age": 0}]
    assert restored(token) is None  # the cookie, were the browser to keep it, signs no one in


def restored(token):
    """A new session whose browser sends `token`: who `restore_sign_in` signs in."""
    def script():
        import streamlit as st

        from pages.auth import restore_sign_in

        st.session_state["restored"] = restore_sign_in(st.session_state["cookie"])

    at = AppTest.from_function(script, default_timeout=TIMEOUT)
    at.session_state["cookie"] = token
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state["restored"]


def test_a_reload_signs_the_same_account_in_again(users):
    token = signed_in_by_form("ada").session_state["sign_in_token"]
    assert restored(token) == {"id": users["ada"]["id"], "name": "ada", "role": "admin"}
    assert restored(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert restored(None) is None


def test_signing_out_in_another_tab_signs_this_one_out_too(users):
    at = signed_in_by_form()
    with session_scope() as session:  # the other tab's "Sign out"
        end_sign_in(session, at.session_state["sign_in_token"])
    at.run()
    assert "user" not in at.session_state and [b.label for b in at.button] == ["Sign in"]
    assert [e.value for e in at.error] == ["Your sign-in has ended (it expired, you signed out in another tab, or an "
                                           "admin changed your account). "
                                           "You have been signed out."]
    assert cookie_writes(at) == [{"name": "ganaug_sign_in", "value": "", "max_age": 0}]


def test_a_disabled_account_is_signed_out_and_its_cookie_deleted(users):
    from db.users import get_user, set_active

    at = signed_in_by_form()
    token = at.session_state["sign_in_token"]
    with session_scope(immediate=True) as session:
        set_active(session, "rita", False, by=get_user(session, "ada"), reason="left the team")
    at.run()
    assert "user" not in at.session_state
    assert cookie_writes(at) == [{"name": "ganaug_sign_in", "value": "", "max_age": 0}]
    assert restored(token) is None
