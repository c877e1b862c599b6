"""Sign in: reviewer name and password (accounts come from `ganaug users add`)."""

import streamlit as st

from db.engine import session_scope
from db.errors import DecisionError
from db.users import authenticate

st.title("ganaug review")
st.write("Sign in to review synthetic samples. Every decision you make is recorded under your name.")
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
            with session_scope() as session:
                user = authenticate(session, name.strip(), password)
                st.session_state["user"] = dict(id=user.id, name=user.name, role=user.role)
        except DecisionError as e:
            st.error(str(e))
        else:
            st.rerun()
