"""The review app's entry point: page setup, who is signed in (kept across reloads: pages/auth.py) and navigation;
each screen lives in pages/.

Run with `ganaug app` (Streamlit and the job worker together) or `streamlit run app.py`.
Who is signed in decides which pages exist: nobody → sign in only; reviewers → the work pages; admins → also
the admin page (accounts and the artifact taxonomy).
"""

import streamlit as st

from pages.auth import SIGN_IN_COOKIE, keep_sign_in, restore_sign_in, sign_out
from pages.ui import database_answers, plain

st.set_page_config(page_title="ganaug review", page_icon=":material/biotech:", layout="wide")
# Image lists (the review grid, the nearest real images) put their tiles edge to edge; a small gap tells them apart.
# Captions (every tile's id, class and confidence, the keys' line, the hints under the forms) came faded to 60 %
# opacity, 3.9:1 against white and 3.8:1 against the sidebar: WCAG AA asks 4.5:1 of text this size. At 80 % they
# read ≈ 7:1 and still stand back from the text, in a dark theme too.
st.html("<style>[data-testid='stImage'] { column-gap: 6px; } "
        "[data-testid='stCaptionContainer'] { opacity: 0.8; }</style>")

# A reload (or a second tab) starts a new session: the browser's cookie signs it in again while its token lives.
with database_answers():
    user = st.session_state.get("user") or restore_sign_in(st.context.cookies.get(SIGN_IN_COOKIE))
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
        st.caption(f"Signed in as **{plain(user['name'])}** ({user['role']})")
        st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=sign_out)
        keep_sign_in()  # the browser keeps this sign-in across reloads (the sign-in page deletes an ended one)

with database_answers():  # a page's own reads and writes, and its sign-in check
    st.navigation(pages).run()
