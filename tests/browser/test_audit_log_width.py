"""The decision log in a real chromium, in the 564 px a 1024-px screen leaves it beside the sidebar (the Audit page's,
measured): its columns scrolled sideways inside it (898 px of them), and only a browser says whether they still do.
A click on a row shows that event whole above the table, through Streamlit's own selection. A page of the test's own
(no database), served by `streamlit run` from the repository root, as test_dark_theme.py's is.

Skipped, with the reason shown, where chromium or Playwright is missing."""

from __future__ import annotations


import pytest

from tests.browser.conftest import page_served

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # chromium and Streamlit start in a few seconds

PAGE = '''import streamlit as st
from pages.event_log import event_log
rows = [dict(id=60000 - i, ts="2026-12-07T22:43:%02d.353112+00:00" % i, actor=name, role="reviewer", action=action,
             target="sample 12345, tag 'implausible shape'", reason="Mode collapse: most samples look the same " * 2,
             meaning="This sample may not be used for training.", hash="6df96d163cb1")
        for i, (name, action) in enumerate([("h3admin", "download"), ("m.okonkwo", "restore_sample")])]
with st.container(width=564):
    event_log(rows, key="log")
'''
SCROLLER = "() => { const s = document.querySelector('[data-testid=\"stDataFrame\"] .dvn-scroller'); " \
           "return [s.clientWidth, s.scrollWidth]; }"


@pytest.fixture
def served(tmp_path):
    with page_served(tmp_path, PAGE) as url:
        yield url


def test_the_log_fits_a_laptop_and_a_clicked_row_shows_whole(served, chromium):
    from playwright.sync_api import expect  # there: the `chromium` fixture skipped the test without it

    page = chromium.new_page(viewport={"width": 1024, "height": 768})
    page.set_default_timeout(30_000)
    page.goto(served)
    table = page.get_by_test_id("stDataFrame")
    table.wait_for()
    page.get_by_text("Click a row, or reach it with the arrow keys").wait_for()
    client, scrolled = page.evaluate(SCROLLER)
    assert client >= 560 and scrolled <= client, (client, scrolled)  # no column out of sight
    box = table.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 40, box["y"] + 36 + 44)  # the first row's reason
    page.get_by_text("Meaning, as signed into the log").wait_for()
    page.keyboard.press("ArrowDown")  # the keys move through the rows, as before
    details = page.get_by_test_id("stMarkdownContainer").filter(has_text="Meaning, as signed into the log")
    expect(details).to_contain_text("Event 59999 · 2026-12-07 22:43:01 UTC · by m.okonkwo (reviewer) · restore "
                                    "sample")
    # Above the table, and the table did not move: below it, the event began under a 720- or 768-px screen's fold.
    assert details.bounding_box()["y"] < table.bounding_box()["y"] == box["y"]
