"""Admin: reviewer accounts, the names guessed at in the sign-in form, and the artifact tag taxonomy (admins only;
app.py lists this page for them alone)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from db.tags import add_tag, list_tags, set_tag_active
from db.sign_ins import failed_sign_ins
from db.users import ROLES, add_user, list_users, set_active, set_password, set_role
from pages.tables import MISSING, table_columns, text_cells
from pages.ui import acting_user, decision_errors, plain, require_user
from db.engine import session_scope

NO_ACCOUNT = "(no account)"  # a name guessed at that is no account's: only its digest is kept
GUESSED = {  # the failed sign-ins table's own columns
    "tries": st.column_config.NumberColumn("Wrong passwords", format="%d"),
    "addresses": st.column_config.NumberColumn(
        "Addresses", format="%d", help="How many addresses the wrong passwords came from (unknown ones count as one)"),
    "last_try": st.column_config.DatetimeColumn("Last try (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "locked": st.column_config.CheckboxColumn("Refused now"),
    "locked_until": st.column_config.DatetimeColumn("Refused until (UTC)", format="YYYY-MM-DD HH:mm:ss"),
}

user = require_user()
st.title("Admin")
if user["role"] != "admin":
    st.error("Only admins can manage accounts and the tag taxonomy.")
    st.stop()


def attempt(what: str, decide, clear: tuple[str, ...] = (), secret: tuple[str, ...] = ()) -> None:
    """Button callback: runs before the page is drawn again, so the tables below already show the change.

    A success empties the `clear` fields; a refusal keeps them to correct (a form cleared on submit made a short
    password cost the name too). `secret` fields are emptied either way."""
    state = st.session_state
    try:
        with acting_user() as (session, me):
            decide(session, me, state)
    except decision_errors() as e:
        state["admin_flash"] = ("error", str(e))
    else:
        state["admin_flash"] = ("success", what.format(**state))
        for key in clear:
            state.pop(key, None)
    for key in secret:
        state.pop(key, None)


flash = st.session_state.pop("admin_flash", None)
if flash:
    getattr(st, flash[0])(plain(flash[1]))  # it names accounts and tags
accounts, taxonomy = st.tabs(["Accounts", "Artifact tags"])
with accounts:
    with session_scope() as session:
        people = [dict(name=u.name, role=u.role, active=u.active, created=u.created_at) for u in list_users(session)]
    st.dataframe(text_cells(pd.DataFrame(people)), hide_index=True,
                 column_config=table_columns(people), placeholder=MISSING)
    st.markdown("**Add an account**")
    with st.form("add_user"):
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("Name", key="admin_new_name")
        password = c2.text_input("Initial password (8+ characters)", type="password", key="admin_new_password")
        role = c3.selectbox("Role", ["reviewer", "admin"], key="admin_new_role")
        st.form_submit_button("Add account", on_click=attempt, args=(
            "Account {admin_new_name} added.",
            lambda s, me, ui: add_user(s, ui["admin_new_name"], ui["admin_new_password"], role=ui["admin_new_role"], by=me),
            ("admin_new_name", "admin_new_role"), ("admin_new_password",)))
    # One account, one reason, then what to do with it; every change is an event in the decision log.
    st.markdown("**Change an account**")
    # No account preselected: the first was the signed-in admin, with "Disable" offered on their own account.
    who = st.selectbox("Account", [p["name"] for p in people], index=None, key="admin_who",
                       placeholder="Choose the account to change")
    reason = st.text_input("Reason (recorded in the decision log)", key="admin_reason")
    active = {p["name"]: p["active"] for p in people}.get(who)  # only the change that applies is offered
    if who is None:
        st.caption("Choose an account above: each button below acts on it.")
    b1, b2 = st.columns(2)
    b1.button("Disable", key="admin_disable", disabled=active is not True, on_click=attempt, args=(
        "{admin_who} disabled.", lambda s, me, ui: set_active(s, ui["admin_who"], False, by=me, reason=ui["admin_reason"]),
        ("admin_reason",)))
    b2.button("Enable", key="admin_enable", disabled=active is not False, on_click=attempt, args=(
        "{admin_who} enabled.", lambda s, me, ui: set_active(s, ui["admin_who"], True, by=me, reason=ui["admin_reason"]),
        ("admin_reason",)))
    r1, r2 = st.columns(2)
    r1.selectbox("New role", ROLES, key="admin_role")
    r1.button("Change role", key="admin_change_role", disabled=who is None, on_click=attempt, args=(
        "{admin_who}'s role is now {admin_role}; their sign-ins have ended.",
        lambda s, me, ui: set_role(s, ui["admin_who"], ui["admin_role"], by=me, reason=ui["admin_reason"]),
        ("admin_reason",)))
    r2.text_input("New password (8+ characters)", type="password", key="admin_reset_password",
                  help="For a forgotten password: tell the reviewer, who can change it with `ganaug users password`.")
    r2.button("Reset password", key="admin_reset", disabled=who is None, on_click=attempt, args=(
        "New password set for {admin_who}; their sign-ins have ended.",
        lambda s, me, ui: set_password(s, ui["admin_who"], ui.get("admin_reset_password", ""), by=me,
                                       reason=ui["admin_reason"]),
        ("admin_reason",), ("admin_reset_password",)))
    # Every app process of the team counts the same tries (db/sign_ins.py): this is the whole team's view.
    st.markdown(f"**Wrong passwords in the last {failed_sign_ins.minutes:g} minutes**")
    with session_scope() as session:
        guessed = failed_sign_ins.recent(session)
    if not guessed:
        st.caption("None: no wrong password has been typed in the sign-in form of late.")
    else:
        shown = [dict(g, name=g["name"] or NO_ACCOUNT) for g in guessed]
        st.dataframe(text_cells(pd.DataFrame(shown)), hide_index=True,
                     column_config={**table_columns(shown), **GUESSED},
                     placeholder=MISSING)
        st.caption(f"After {failed_sign_ins.limit} wrong passwords from one address the sign-in form refuses a name "
                   f"from that address, and after {failed_sign_ins.name_limit} from all addresses from every one, "
                   "right password or not, whether or not it is an account's. A name that is no account's is not "
                   f"kept (it may be a password typed into the name box): it shows as “{NO_ACCOUNT}”. Clearing an "
                   "account's lets its owner sign in at once.")
    if accounts_guessed := sorted({g["name"] for g in guessed if g["name"]}):
        g1, g2 = st.columns(2)
        g1.selectbox("Name", accounts_guessed, key="admin_unlock_who")
        g2.text_input("Reason (recorded in the decision log)", key="admin_unlock_reason")
        st.button("Clear wrong passwords", key="admin_unlock", on_click=attempt, args=(
            "The wrong passwords for {admin_unlock_who} are forgotten: it may sign in again.",
            lambda s, me, ui: failed_sign_ins.unlock(s, ui["admin_unlock_who"], by=me,
                                                     reason=ui["admin_unlock_reason"]),
            ("admin_unlock_reason",)))

with taxonomy:
    with session_scope() as session:
        tags = [dict(name=t.name, blocking=t.blocking, active=t.active, description=t.description or None)
                for t in list_tags(session, include_inactive=True)]
    st.dataframe(text_cells(pd.DataFrame(tags)), hide_index=True,
                 column_config=table_columns(tags), placeholder=MISSING)
    with st.form("add_tag"):
        name = st.text_input("Tag name", key="admin_tag_name")
        description = st.text_input("What it means", key="admin_tag_description")
        blocking = st.checkbox("Blocking (keeps a tagged sample out of the training set)", value=True, key="admin_tag_blocking")
        st.form_submit_button("Add tag", on_click=attempt, args=(
            "Tag {admin_tag_name} added.",
            lambda s, me, ui: add_tag(s, ui["admin_tag_name"], me, blocking=ui["admin_tag_blocking"],
                                      description=ui["admin_tag_description"]),
            ("admin_tag_name", "admin_tag_description", "admin_tag_blocking")))
    # A tag is never renamed nor switched (non-)blocking in place: its name and flag are in the log's tag events.
    st.caption("To rename a tag or change whether it blocks, retire it and add a new one: the samples that carry "
               "it keep it, and its effect.")
    st.selectbox("Tag", [t["name"] for t in tags], key="admin_tag_which")
    st.text_input("Reason (recorded in the decision log)", key="admin_tag_reason")
    t1, t2 = st.columns(2)
    t1.button("Retire tag", key="admin_tag_retire", on_click=attempt, args=(
        "Tag {admin_tag_which} retired.",
        lambda s, me, ui: set_tag_active(s, ui["admin_tag_which"], False, me, reason=ui["admin_tag_reason"]),
        ("admin_tag_reason",)))
    t2.button("Restore tag", key="admin_tag_restore", on_click=attempt, args=(
        "Tag {admin_tag_which} is in use again.",
        lambda s, me, ui: set_tag_active(s, ui["admin_tag_which"], True, me, reason=ui["admin_tag_reason"]),
        ("admin_tag_reason",)))
