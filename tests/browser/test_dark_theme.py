"""Streamlit's dark theme in a real chromium, under the repository's .streamlit/config.toml: the primary colour set
under [theme] made a custom light theme the only one, so the app stayed white where the system prefers dark and its
menu offered no Dark. A one-line page of its own (no database), served by `streamlit run` from the repository root,
where `ganaug app` runs it, so that the same configuration applies.

Skipped, with the reason shown, where chromium or Playwright is missing, as the walk in test_browser.py is."""

from __future__ import annotations

import pytest

from tests.browser.conftest import page_served

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # chromium and Streamlit start in a few seconds

BACKGROUND = """() => getComputedStyle(document.querySelector('[data-testid="stApp"]')).backgroundColor"""
PRIMARY = """() => getComputedStyle(document.querySelector('[data-testid="stBaseButton-primary"]')).backgroundColor"""


@pytest.fixture
def served(tmp_path):
    with page_served(tmp_path, 'import streamlit as st\nst.button("Approve batch", type="primary")\n') as url:
        yield url


def test_the_app_is_dark_where_the_system_prefers_it_and_its_menu_switches(served, chromium):
    page = chromium.new_page(color_scheme="dark")
    page.set_default_timeout(30_000)
    page.goto(served)
    page.get_by_role("button", name="Approve batch").wait_for()
    assert page.evaluate(BACKGROUND) == "rgb(23, 22, 20)"  # Streamlit's dark page, #171614
    assert page.evaluate(PRIMARY) == "rgb(25, 118, 210)"  # the dark theme's blue, #1976D2
    page.get_by_test_id("stMainMenu").click()
    page.get_by_test_id("stMainMenuItem-theme-Light").click()  # the reviewer's own choice, over the system's
    page.wait_for_function(f"() => ({BACKGROUND})() === 'rgb(255, 255, 255)'")
    assert page.evaluate(PRIMARY) == "rgb(21, 101, 192)"  # #1565C0
