"""The tile-click component's script (pages/ui.py) in a real chromium, on a page of its own: no app, no server.

Skipped, with the reason shown, where chromium or Playwright is missing, as the walk in test_browser.py is."""

from __future__ import annotations

import pytest

from pages.tile_clicks import _TILE_CLICKS_JS
from tests.browser.conftest import script

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # chromium starts in 1–6 s

GRID = '<div class="st-key-review_grid">{}</div>'
TILE = '<div data-testid="stImage"><img alt="sample #{0}, class 9" src="data:,"></div>'
COMPONENT = script(_TILE_CLICKS_JS)


def test_a_tile_drawn_after_the_component_ran_gets_the_pointer_too(chromium):
    # Only the tiles already on the page when the component ran got the `ganaug-tile` class (and its pointer
    # cursor); those Streamlit drew after it, on a slow page or a later page of the grid, showed an arrow.
    page = chromium.new_page()
    page.set_content(GRID.format(TILE.format(1) + TILE.format(2)))
    page.evaluate(f"""() => {{ window.clicked = [];
        ({COMPONENT})({{ data: {{ grid: "review_grid", ids: [1, 2, 3] }},
                         setTriggerValue: (name, id) => window.clicked.push(id) }}); }}""")
    page.evaluate("""() => document.querySelector(".st-key-review_grid").insertAdjacentHTML(
        "beforeend", '<div data-testid="stImage"><img alt="sample #3, class 9" src="data:,"></div>')""")
    page.wait_for_function("() => document.querySelectorAll('img.ganaug-tile').length === 3", timeout=5000)
    cursors = page.evaluate("() => Array.from(document.images, (i) => getComputedStyle(i).cursor)")
    assert cursors == ["pointer"] * 3
    page.evaluate("() => document.images[2].click()")
    assert page.evaluate("() => window.clicked") == [3]  # and a click on it is heard


PIXEL = ("data:image/png;base64,"  # a 1×1 PNG
         "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def test_the_opened_sample_is_scrolled_to_unless_the_reviewer_has_moved_on(chromium):
    # The opened sample's box sits above the grid; the page scrolls to it once its image has loaded. On a busy server
    # that came seconds after the click, when the reviewer had already clicked into the box's tag picker: the scroll
    # shut the picker's list under them (the browser walk's tag pick failed so on a loaded CI machine).
    page = chromium.new_page(viewport={"width": 800, "height": 600})
    page.set_content('<div class="st-key-review_detail" style="height: 200px"></div>'
                     '<div style="height: 3000px"></div>' + GRID.format(TILE.format(1) + TILE.format(2)))
    page.evaluate(f"""() => ({COMPONENT})({{ data: {{ grid: "review_grid", ids: [1, 2] }},
                                             setTriggerValue: () => {{}} }})""")

    def open_sample(tile: int, press_between: bool) -> None:
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        page.locator("img.ganaug-tile").nth(tile - 1).click()
        if press_between:
            page.keyboard.press("Shift")  # the reviewer goes on before the box has come
        # The box comes (its enlarged image, loaded); a marker timer set after it fires after the script's
        # next look (timers fire in the order they fall due): the page has had its chance to scroll.
        page.evaluate(f"""() => {{ window.looked = false;
            document.querySelector(".st-key-review_detail").innerHTML =
                '<img alt="sample #{tile}, class 9, enlarged" src="{PIXEL}">';
            setTimeout(() => {{ window.looked = true; }}, 250); }}""")
        page.wait_for_function("() => window.looked && document.images[0].complete", timeout=5000)

    open_sample(1, press_between=False)
    page.wait_for_function("() => window.scrollY < 100", timeout=5000)  # scrolled up to the box
    open_sample(2, press_between=True)
    assert page.evaluate("() => window.scrollY") > 2000  # left where the reviewer is
