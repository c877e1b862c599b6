"""Sign-ins to the review app that survive a page reload.

At sign-in the browser receives a random token (256 bits) in a cookie; the database keeps only the token's sha256,
so a copy of the database signs no one in. A token is a bearer credential for one account, so it is short-lived and
revocable: it ends when the reviewer signs out, when the account is disabled, its password reset or its role
changed, and SIGN_IN_HOURS after it was made. A page run resumed from a token re-checks the account like every page run.

Guessing passwords through the sign-in form is slowed by `FailedSignIns`: after MAX_FAILED_SIGN_INS wrong tries for
one name within FAILED_SIGN_IN_MINUTES, that name is refused, right password or not, until the oldest try is that old.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
import threading
import time
from collections import deque
from typing import Callable, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.errors import DecisionError
from db.models import SignIn, User, as_utc, utcnow

SIGN_IN_HOURS = 12
MAX_FAILED_SIGN_INS = 5
FAILED_SIGN_IN_MINUTES = 15


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_sign_in(session: Session, user_id: int, hours: float = SIGN_IN_HOURS) -> tuple[str, dt.datetime]:
    """A new token for the account `user_id` (whose password was just checked) and when it expires."""
    token = secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(hours=hours)
    session.add(SignIn(user_id=user_id, token_sha256=_digest(token), expires_at=expires))
    session.flush()
    return token, expires


def resume_sign_in(session: Session, token: Optional[str]) -> Optional[tuple[User, dt.datetime]]:
    """The active account a live token belongs to and when the token expires; None for an unknown, ended or
    expired token, and for a disabled account."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    row = session.execute(
        select(User, SignIn.expires_at).join(SignIn, SignIn.user_id == User.id)
        .where(SignIn.token_sha256 == _digest(token), SignIn.ended_at.is_(None), SignIn.expires_at > utcnow())
    ).first()
    if row is None or not row[0].active:
        return None
    return row[0], as_utc(row[1])


def end_sign_in(session: Session, token: Optional[str]) -> None:
    """Sign-out: the token no longer signs anyone in, whatever the browser still holds."""
    if token:
        session.execute(update(SignIn).where(SignIn.token_sha256 == _digest(token), SignIn.ended_at.is_(None))
                        .values(ended_at=utcnow()))


def end_sign_ins_of(session: Session, user_id: int) -> int:
    """End every live sign-in of an account (disabled, a new password, a new role); how many there were."""
    result = session.execute(update(SignIn).where(SignIn.user_id == user_id, SignIn.ended_at.is_(None))
                             .values(ended_at=utcnow()))
    return result.rowcount or 0


class FailedSignIns:
    """Wrong passwords per account name (as typed, letter case folded) in the last `minutes`, in this process.

    The app's sessions share one process, so one instance throttles every browser; a restart forgets. A refused
    name is refused before its password is checked, so a locked-out guesser learns nothing from a right guess, and
    names that exist and names that do not are treated alike."""

    def __init__(self, limit: int = MAX_FAILED_SIGN_INS, minutes: float = FAILED_SIGN_IN_MINUTES,
                 clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, minutes * 60.0, clock
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()  # Streamlit runs each browser session in its own thread

    def check(self, name: str) -> None:
        """Raise DecisionError while `name` has had `limit` wrong passwords within the window."""
        with self._lock:
            now = self.clock()
            tries = self._recent(_key(name), now)
            if len(tries) >= self.limit:
                wait = max(1, math.ceil((tries[0] + self.window - now) / 60))
                raise DecisionError(f"too many wrong passwords for {name!r}: try again in {wait} minute"
                                    f"{'s' * (wait != 1)}")

    def failed(self, name: str) -> None:
        with self._lock:
            now = self.clock()
            if len(self._failures) >= 10_000:  # many made-up names: forget those whose tries are over
                for key in list(self._failures):
                    self._recent(key, now)
            tries = self._recent(_key(name), now)
            tries.append(now)
            self._failures[_key(name)] = tries

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(_key(name), None)

    def forget_all(self) -> None:
        with self._lock:
            self._failures.clear()

    def _recent(self, key: str, now: float) -> deque:
        """The name's tries within the window (an empty deque, not stored, for a name with none)."""
        tries = self._failures.get(key, deque())
        while tries and tries[0] <= now - self.window:
            tries.popleft()
        if not tries:
            self._failures.pop(key, None)
        return tries


def _key(name: str) -> str:
    return (name or "").strip().casefold()


failed_sign_ins = FailedSignIns()  # the app's, shared by every session of its process
