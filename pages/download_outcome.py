"""What became of a "Download as .zip" click, for the page to say.

Streamlit runs a download button's callable on a thread of its own, where nothing can be written on the page, and of
a callable that raised it said only "Failed to generate file for download", for five seconds under the button: a zip
refused because a file of the export changed since its check read as a glitch to click again. So the callable tells
its `Outcome` here, the click reruns the page, and that run waits for the zip (its request reaches the server just
after the rerun's) and says in one line what went wrong.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

STARTS_WITHIN_S = 10.0  # the click's rerun waits this long for the zip to begin
MADE_WITHIN_S = 600.0  # and this long for it to be made: 2 GB read, hashed and written, on a slow disk
FORGET_AFTER_S = 86_400.0  # an outcome no page came back for: its session has long ended


@dataclass
class Outcome:
    """The zip of the download button drawn last in one session: begun, done, and why it failed (None: it did not)."""

    export_id: int
    started: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)  # no zip of this button is being made
    error: Optional[str] = None  # of the zip begun last
    drawn: float = field(default_factory=time.monotonic)
    # The button can be clicked again while its first zip is made: `done` waits for every zip begun, and `error` is
    # the last one's (a first zip's failure was said of a second that was handed over, and the reverse).
    begun: int = 0
    making: int = 0


_OUTCOMES: dict[str, Outcome] = {}  # a session's key → its latest button's; the process's: the callable's thread
_LOCK = threading.Lock()


def new_outcome(session_key: str, export_id: int) -> Outcome:
    """A button about to be drawn: its outcome replaces the session's previous one."""
    with _LOCK:
        now = time.monotonic()
        for key in [k for k, o in _OUTCOMES.items() if now - o.drawn > FORGET_AFTER_S]:
            del _OUTCOMES[key]
        _OUTCOMES[session_key] = outcome = Outcome(export_id)
    return outcome


def outcome_of(session_key: Optional[str]) -> Optional[Outcome]:
    with _LOCK:
        return _OUTCOMES.get(session_key) if session_key else None


def told(outcome: Outcome, make: Callable, said: Callable[[BaseException], Optional[str]]):
    """`make()` for a button's callable, its failure told to `outcome` in the words `said` gives it (None: not one
    the page explains) and raised again, so that Streamlit hands nothing over."""
    with _LOCK:
        outcome.begun += 1
        outcome.making += 1
        mine, outcome.error = outcome.begun, None
        outcome.done.clear()
    outcome.started.set()
    try:
        return make()
    except BaseException as e:
        error = said(e) or "the zip could not be made; nothing was handed over"
        with _LOCK:
            if mine == outcome.begun:
                outcome.error = error
        raise
    finally:
        with _LOCK:
            outcome.making -= 1
            if not outcome.making:
                outcome.done.set()


def wait_for(outcome: Outcome) -> None:
    """In the rerun a click starts: until the zip is made or has failed, or plainly never began."""
    if outcome.started.wait(STARTS_WITHIN_S):
        outcome.done.wait(MADE_WITHIN_S)
