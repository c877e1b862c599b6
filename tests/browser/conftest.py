"""What the browser tests share: a headless chromium driven by Playwright, skipped (with the reason shown) where
chromium or Playwright is missing, and the app's page scripts as functions to call on a page of a test's own."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def chromium():
    """A headless chromium, closed after the test."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM}: apt-get install -y chromium")
    playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    # expect(…) keeps Playwright's own 5 s otherwise, which a page's rerun on a loaded machine can outlast: each
    # waits on a condition, so the longer bound costs nothing where the page is quick.
    playwright.expect.set_options(timeout=30_000)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


def script(js: str) -> str:
    """A component's script (`export default function(component) {…}`) as a function expression: `(…)(component)`
    runs it on a page as Streamlit would, with the `component` the test gives it."""
    return js.strip().removeprefix("export default ")
