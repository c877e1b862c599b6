"""The review app's entry point: page setup and navigation only; each screen lives in pages/.

Run with `ganaug app` (Streamlit and the job worker together) or `streamlit run app.py`.
Who is signed in decides which pages exist: nobody → sign in only; reviewers → the work pages; admins → also
the admin page (accounts and the artifact taxonomy).
"""

import streamlit as st

st.set_page_config(page_title="ganaug review", page_icon=":material/biotech:", layout="wide")
# Image lists (the review grid, the nearest real images) put their tiles edge to edge; a small gap tells them apart.
st.html("<style>[data-testid='stImage'] { column-gap: 6px; }</style>")

user = st.session_state.get("user")
if user is None:
    pages = [st.Page("pages/sign_in.py", title="Sign in", icon=":material/login:", url_path="sign-in")]
else:
    pages = {
        "Review": [
            st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
            st.Page("pages/review.py", title="Review", icon=":material/fact_check:"),
            st.Page("pages/embeddings.py", title="Embeddings", icon=":material/scatter_plot:"),
        ],
        "Runs": [
            st.Page("pages/generate.py", title="Generate", icon=":material/play_circle:"),
            st.Page("pages/evaluate.py", title="Evaluate", icon=":material/monitoring:"),
        ],
        "Records": [st.Page("pages/audit.py", title="Audit", icon=":material/verified:")],
    }
    if user["role"] == "admin":
        pages["Records"].append(st.Page("pages/admin.py", title="Admin", icon=":material/admin_panel_settings:"))
    with st.sidebar:
        st.caption(f"Signed in as **{user['name']}** ({user['role']})")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            st.session_state.clear()
            st.rerun()

st.navigation(pages).run()
