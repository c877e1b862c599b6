"""The refocus script (pages/reveal.py) in a real chromium, on a page of its own: no app, no server. After a click
that took away the control pressed, the focus goes on to the next control for a keyboard's user only: after a
mouse's click the Batch picker's text field took it, and Shift+A and ← → typed into it instead of approving and
turning pages.

Skipped, with the reason shown, where chromium or Playwright is missing, as the walk in test_browser.py is."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_browser import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # chromium starts in 1–6 s

PAGE = """<div data-testid="stApp" data-test-script-state="notRunning">
<button id="pressed" onclick="this.remove()">Confirm approval</button>
<div class="st-key-review_batch"><input aria-label="Batch"></div></div>"""
FOCUSED = "() => document.activeElement.getAttribute('aria-label') || document.activeElement.tagName"


def test_a_click_that_removed_the_control_pressed_moves_the_focus_for_the_keyboard_only():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM}: apt-get install -y chromium")
    playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    from pages.reveal import _INPUT_BY_JS, _REFOCUS_JS

    listen, refocus = (js.strip().removeprefix("export default ") for js in (_INPUT_BY_JS, _REFOCUS_JS))

    def refocused(nonce: int) -> str:
        page.evaluate(f"""() => ({refocus})({{ data: {{ selector: ".st-key-review_batch input", nonce: {nonce} }} }})""")
        page.wait_for_timeout(300)  # it looks every 100 ms
        return page.evaluate(FOCUSED)

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.set_content(PAGE)
            page.evaluate(f"() => ({listen})({{}})")  # drawn on the page's first run, before any click
            page.click("#pressed")  # the mouse: the button is gone, the focus on the body
            assert refocused(1) == "BODY"  # where the click left it: the keys' shortcuts still work
            page.evaluate("""() => document.querySelector('[data-testid="stApp"]').insertAdjacentHTML(
                "afterbegin", '<button id="pressed" onclick="this.remove()">Confirm approval</button>')""")
            page.focus("#pressed")
            page.keyboard.press("Enter")  # the keyboard: the focus goes on, not back to the top of the page
            assert page.evaluate(FOCUSED) == "BODY" and refocused(2) == "Batch"
        finally:
            browser.close()
