"""Sign in: reviewer name and password (accounts come from `ganaug users add`, or an admin's Admin page)."""

import os
import shlex
import sys

import streamlit as st

from db.engine import session_scope
from db.errors import DecisionError
from db.sign_ins import SIGN_IN_HOURS
from db.users import has_active_admin
from ganaug_core.paths import home_path
from pages.auth import keep_sign_in, sign_in
from pages.ui import plain

st.title("ganaug review")
st.write("Sign in to review synthetic samples. Every decision you make is recorded under your name. This browser "
         f"stays signed in for {SIGN_IN_HOURS} hours, across reloads, until you sign out.")
if notice := st.session_state.pop("sign_in_notice", None):  # why the last session ended (a disabled account)
    st.error(plain(notice))


@st.cache_resource(show_spinner=False)
def _first_admin_said_on_the_console(command: str) -> None:
    """The command that makes the first admin, with this app's home, on the console that runs the app (once per
    process): the page says the same to whoever reaches the app, less the server's folder."""
    print(f"ganaug app: no admin account exists yet: make the first one with {command}, then sign in to the app",
          file=sys.stderr, flush=True)  # as pages/ui.py says a database's failure there


with session_scope() as session:
    first_run = not has_active_admin(session)
if first_run:
    # Nobody could sign in yet. The app does not make the first account itself (whoever reached the page first
    # would become its admin): it says where that account is made. Which home the app uses (the default ./.ganaug
    # depends on the folder it was started in) goes to the app's console only: the page showed the server's path to
    # anyone who reached it.
    if os.environ.get("GANAUG_DB_URL"):
        same = "`GANAUG_DB_URL` as this app"
        command = "`ganaug users add NAME --role admin` and this app's GANAUG_DB_URL"
    else:
        same = "`GANAUG_HOME` as this app (the console that runs the app, or its service's log, names it)"
        command = f"`GANAUG_HOME={shlex.quote(str(home_path()))} ganaug users add NAME --role admin`"
    _first_admin_said_on_the_console(command)
    st.info(f"**No account exists yet.** The first one is an admin, created in a terminal with the same {same}:"
            "\n\n`ganaug users add NAME --role admin`\n\nThen sign in here with that name and password; the "
            "admin adds everyone else on the Admin page.", icon=":material/person_add:")

with st.form("sign_in"):
    name = st.text_input("Reviewer name", key="sign_in_name")
    password = st.text_input("Password", type="password", key="sign_in_password")
    submitted = st.form_submit_button("Sign in", type="primary")
if not first_run:
    st.caption("No account? Ask an admin: they add one on the Admin page.")

if submitted:
    if not name.strip() or not password:
        st.error("Enter your reviewer name and password.")
    else:
        try:
            sign_in(name.strip(), password)
        except DecisionError as e:
            st.error(plain(e))  # it quotes the name as typed
        else:
            st.rerun()

keep_sign_in()  # a sign-in that has ended (signed out, here or elsewhere): the browser deletes its cookie
