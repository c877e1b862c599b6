"""Staying signed in across page reloads.

A Streamlit session ends with its browser page, so a reload used to sign the reviewer out. At sign-in the browser
now gets a cookie with a random token (db/sign_ins.py keeps only its sha256); a new session whose browser sends a
live token is signed in as its account again. Signing out ends the token in the database before the cookie is
deleted, so a cookie left behind (or copied) signs no one in. The cookie is written by a component that draws
nothing, with SameSite=Strict (and Secure over https); the app's own script sets it, so it cannot be HttpOnly.
"""

from __future__ import annotations

import ipaddress
from typing import Optional

import streamlit as st

from db.engine import session_scope
from db.models import utcnow
from db.sign_ins import end_sign_in, failed_sign_ins, resume_sign_in, start_sign_in
from db.users import authenticate

SIGN_IN_COOKIE = "ganaug_sign_in"

_COOKIE_JS = """
export default function(component) {
    const { data } = component;
    const secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `${data.name}=${data.value}; path=/; max-age=${data.max_age}; SameSite=Strict${secure}`;
}
"""
_cookie = st.components.v2.component("ganaug_sign_in_cookie", js=_COOKIE_JS)


def sign_in(name: str, password: str) -> None:
    """Check the password, sign this session in, and let the browser keep it (`keep_sign_in`). Raises
    DecisionError for a wrong password, an unknown name or a disabled account (one message: `WrongPassword`), or a
    name with too many wrong passwords of late (`failed_sign_ins`, in the database: refused before its password is
    checked)."""
    address = client_address()
    with session_scope(immediate=True) as session:  # counted before the check: guesses at once share the limit
        failed_sign_ins.start(session, name, address)
    # A refusal leaves the try counted, a disabled account's right password too: were it taken back, the lockout
    # that never came would tell a guesser that the password was right.
    with session_scope() as session:  # scrypt takes a good part of a second: not inside a write transaction
        user = authenticate(session, name, password)
        me = dict(id=user.id, name=user.name, role=user.role)
    with session_scope(immediate=True) as session:
        failed_sign_ins.succeeded(session, name, address)
        token, expires = start_sign_in(session, me["id"])
    st.session_state["user"] = me
    st.session_state["sign_in_token"], st.session_state["sign_in_expires"] = token, expires


def client_address() -> Optional[str]:
    """The browser's address as the sign-in lockout counts it (db/sign_ins.py), None where the app cannot tell.

    Streamlit gives the TCP peer's address, and None for one on this machine. uvicorn, under Streamlit, takes it
    from X-Forwarded-For only when the peer is this machine (FORWARDED_ALLOW_IPS, by default 127.0.0.1 and ::1): a
    browser elsewhere cannot forge it; behind a reverse proxy here that sets the header, it is the client's; behind
    one that does not (or one on another machine), every browser has the proxy's address, or None, and the lockout
    counts them as one, as it did before addresses were counted."""
    try:
        address = st.context.ip_address
        return str(ipaddress.ip_address(address)) if isinstance(address, str) else None
    except Exception:  # no client context (a script run without a browser, a test's stand-in), or not an address
        return None


def restore_sign_in(token: Optional[str]) -> Optional[dict]:
    """A new session (a reload, a second tab): the account whose live `token` the browser's cookie holds, signed in
    again; None when there is no cookie or its token has ended. Each cookie value is looked up once a session."""
    if not isinstance(token, str) or not token or st.session_state.get("sign_in_tried") == token:
        return None
    st.session_state["sign_in_tried"] = token
    with session_scope() as session:
        found = resume_sign_in(session, token)
        if found is None:
            st.session_state["sign_in_forget"] = True  # an ended or expired token: delete the cookie
            return None
        user, expires = found
        st.session_state["user"] = dict(id=user.id, name=user.name, role=user.role)
    st.session_state["sign_in_token"], st.session_state["sign_in_expires"] = token, expires
    return st.session_state["user"]


def sign_out() -> None:
    """End the token in the database, forget the session, and have the browser delete its cookie."""
    with session_scope() as session:
        end_sign_in(session, st.session_state.get("sign_in_token"))
    tried = st.session_state.get("sign_in_tried")
    st.session_state.clear()
    st.session_state["sign_in_forget"] = True
    if tried:
        st.session_state["sign_in_tried"] = tried


def keep_sign_in() -> None:
    """Write the browser's cookie while signed in (until the token expires), delete it once signed out. Called on
    every app run; it draws nothing."""
    token, expires = st.session_state.get("sign_in_token"), st.session_state.get("sign_in_expires")
    if st.session_state.get("user") and token and expires:
        max_age = max(0, int((expires - utcnow()).total_seconds()))
        _cookie(data={"name": SIGN_IN_COOKIE, "value": token, "max_age": max_age}, key="sign_in_cookie")
    elif token or st.session_state.get("sign_in_forget"):  # signed out, here or by an admin
        _cookie(data={"name": SIGN_IN_COOKIE, "value": "", "max_age": 0}, key="sign_in_cookie")

