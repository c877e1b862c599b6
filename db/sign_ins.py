"""Sign-ins to the review app that survive a page reload.

At sign-in the browser receives a random token (256 bits) in a cookie; the database keeps only the token's sha256,
so a copy of the database signs no one in. A token is a bearer credential for one account, so it is short-lived and
revocable: it ends when the reviewer signs out, when the account is disabled, its password reset or its role
changed, and SIGN_IN_HOURS after it was made. A page run resumed from a token re-checks the account like every page run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import SignIn, User, as_utc, utcnow

SIGN_IN_HOURS = 12


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
