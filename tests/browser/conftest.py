"""What the browser tests share: a headless chromium driven by Playwright, skipped (with the reason shown) where
chromium or Playwright is missing, and the app's page scripts as functions to call on a page of a test's own."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_served(url: str, proc, seconds: float, why: Callable[[], str]) -> None:
    """Wait until the Streamlit server of `proc` at `url` answers its health check; fail with `why()` where the
    process ended or `seconds` passed first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(why())
        time.sleep(0.2)


@contextmanager
def page_served(folder: Path, source: str) -> Iterator[str]:
    """A page of a test's own (`source`, no database) served by `streamlit run` from the repository root, where
    `ganaug app` runs it, so that the repository's .streamlit/config.toml applies; its URL."""
    from tests.app.conftest import ROOT

    (folder / "page.py").write_text(source)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(folder / "page.py"), "--server.port",
                             str(port), "--server.headless", "true"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_served(url, proc, 60, lambda: "streamlit did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
