"""The Review page's address names the batch shown (`?batch=N`): a link someone else made, with anything after it,
opens the page, never an error in place of it."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT, TIMEOUT, make_batch


def test_a_link_with_a_batch_that_is_no_number_opens_the_review_queue(users, digits):
    # '²' passed str.isdigit() and failed int(); so did 5,000 digits (Python refuses over 4,300 in int()).
    batch = make_batch(digits, 7, 2)
    for asked in ("²", "9" * 5000, "-1", str(batch)):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
        at.session_state["user"] = users["rita"]
        at.query_params["batch"] = asked
        at.switch_page("pages/review.py")
        at.run()
        assert not at.exception, (asked[:8], [e.value for e in at.exception])
        assert at.selectbox(key="review_batch").value == batch
