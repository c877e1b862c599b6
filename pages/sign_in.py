"""Sign in: reviewer name and password (accounts come from `ganaug users add`)."""

import streamlit as st

from db.errors import DecisionError
from db.sign_ins import SIGN_IN_HOURS
from pages.auth import keep_sign_in, sign_in

st.title("ganaug review")
st.write("Sign in to review synthetic samples. Every decision you make is recorded under your name. This browser "
         f"stays signed in for {SIGN_IN_HOURS} hours, across reloads, until you sign out.")
if notice := st.session_state.pop("sign_in_notice", None):  # why the last session ended (a disabled account)
    st.error(notice)

with st.form("sign_in"):
    name = st.text_input("Reviewer name", key="sign_in_name")
    password = st.text_input("Password", type="password", key="sign_in_password")
    submitted = st.form_submit_button("Sign in", type="primary")

if submitted:
    if not name.strip() or not password:
        st.error("Enter your reviewer name and password.")
    else:
        try:
            sign_in(name.strip(), password)
        except DecisionError as e:
            st.error(str(e))
        else:
            st.rerun()

keep_sign_in()  # a sign-in that has ended (signed out, here or elsewhere): the browser deletes its cookie
