"""A download button clicked again while its first zip is still being made (pages/download_outcome.py): the page
waited for the first zip only and said the last failure of any, so a failed first zip was said of a second that was
handed over, and the reverse."""

from __future__ import annotations

import threading

import pytest

from pages.download_outcome import new_outcome, told


def _first_zip_in_a_thread(outcome, result):
    """Click one: a zip that ends (with `result`: bytes, or an exception) once released."""
    release, begun = threading.Event(), threading.Event()

    def make():
        begun.set()
        release.wait(10)
        if isinstance(result, Exception):
            raise result
        return result

    def click():
        try:
            told(outcome, make, lambda e: str(e))
        except ValueError:
            pass

    thread = threading.Thread(target=click)
    thread.start()
    assert begun.wait(10)
    return release, thread


def test_the_page_waits_for_every_zip_and_says_the_last_clicks_outcome():
    outcome = new_outcome("session-a", 4)
    release, first = _first_zip_in_a_thread(outcome, ValueError("a.png changed"))
    assert told(outcome, lambda: b"zip", lambda e: str(e)) == b"zip"  # click two, handed over
    assert not outcome.done.is_set()  # the first is still being made: the page waits on
    release.set()
    first.join(10)
    assert outcome.done.is_set() and outcome.error is None  # the first's failure is not said of the second

    outcome = new_outcome("session-a", 4)
    release, first = _first_zip_in_a_thread(outcome, b"zip")
    with pytest.raises(ValueError):
        told(outcome, lambda: (_ for _ in ()).throw(ValueError("b.png removed")), lambda e: str(e))
    release.set()
    first.join(10)
    assert outcome.done.is_set() and outcome.error == "b.png removed"  # the last click's failure is said
