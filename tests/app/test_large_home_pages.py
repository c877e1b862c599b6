"""A home after a year of use: the Review grid and the Generate page read the database a fixed number of times,
whatever the number of samples on the page or of runs to start from (each cost one more query per sample or run)."""

from __future__ import annotations

import streamlit as st

from tests.app.conftest import app_test, make_batch
from tests.db.helpers import counted_statements


def statements_of_a_run(at) -> int:
    """Statements of one rerun of the page with Streamlit's caches empty (as after their time to live)."""
    st.cache_data.clear()
    with counted_statements() as statements:
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return len(statements)


def review_statements(user, batch: int) -> int:
    at = app_test(user, "review.py")
    at.session_state["review_batch"] = batch
    at.run()
    return statements_of_a_run(at)


def test_the_review_grid_costs_the_same_statements_for_48_samples_as_for_3(users, digits):
    small, large = make_batch(digits, 9, 3), make_batch(digits, 9, 48, seed=1)
    # One query per sample shown (its deferred copy_match): 45 more for the 48-sample page.
    assert review_statements(users["rita"], large) == review_statements(users["rita"], small)


def test_the_generate_page_costs_the_same_statements_for_8_runs_as_for_1(users, digits):
    make_batch(digits, 9, 1)  # a run (with a checkpoint, so one a job can start from) and its batch
    one_run = statements_of_a_run(app_test(users["ada"], "generate.py"))
    for seed in range(7):
        make_batch(digits, 9, 1, seed=seed)  # each with a run of its own
    at = app_test(users["ada"], "generate.py")
    # Each run's folder (for its size on disk) was a query of its own: 7 more for 8 runs.
    assert statements_of_a_run(at) == one_run
    [start_from] = [s for s in at.selectbox if s.label.startswith("Start from run")]
    assert len([o for o in start_from.options if o.startswith("run ")]) == 8, start_from.options
