"""The refocus script (pages/reveal.py) in a real chromium, on a page of its own: no app, no server. After a click
that took away the control pressed, the focus goes on to the next control for a keyboard's user only: after a
mouse's click the Batch picker's text field took it, and Shift+A and ← → typed into it instead of approving and
turning pages.

Skipped, with the reason shown, where chromium or Playwright is missing, as the walk in test_browser.py is."""

from __future__ import annotations

import pytest

from pages.reveal import _INPUT_BY_JS, _REFOCUS_JS
from tests.browser.conftest import script

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # chromium starts in 1–6 s

PAGE = """<div data-testid="stApp" data-test-script-state="notRunning">
<button id="pressed" onclick="this.remove()">Confirm approval</button>
<div class="st-key-review_batch"><input aria-label="Batch"></div></div>"""
FOCUSED = "() => document.activeElement.getAttribute('aria-label') || document.activeElement.tagName"


def test_a_click_that_removed_the_control_pressed_moves_the_focus_for_the_keyboard_only(chromium):
    listen, refocus = script(_INPUT_BY_JS), script(_REFOCUS_JS)
    page = chromium.new_page()

    def refocused(nonce: int) -> str:
        # The script looks every 100 ms until the run has ended; a marker timer set after it fires after its next
        # look (timers fire in the order they fall due): it has had its chance to move the focus.
        page.evaluate(f"""() => {{ window.looked = false;
            ({refocus})({{ data: {{ selector: ".st-key-review_batch input", nonce: {nonce} }} }});
            setTimeout(() => {{ window.looked = true; }}, 250); }}""")
        page.wait_for_function("() => window.looked", timeout=5000)
        return page.evaluate(FOCUSED)

    page.set_content(PAGE)
    page.evaluate(f"() => ({listen})({{}})")  # drawn on the page's first run, before any click
    page.click("#pressed")  # the mouse: the button is gone, the focus on the body
    assert refocused(1) == "BODY"  # where the click left it: the keys' shortcuts still work
    page.evaluate("""() => document.querySelector('[data-testid="stApp"]').insertAdjacentHTML(
        "afterbegin", '<button id="pressed" onclick="this.remove()">Confirm approval</button>')""")
    page.focus("#pressed")
    page.keyboard.press("Enter")  # the keyboard: the focus goes on, not back to the top of the page
    assert page.evaluate(FOCUSED) == "BODY" and refocused(2) == "Batch"
