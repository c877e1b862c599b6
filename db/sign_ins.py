"""Sign-ins to the review app that survive a page reload.

At sign-in the browser receives a random token (256 bits) in a cookie; the database keeps only the token's sha256,
so a copy of the database signs no one in. A token is a bearer credential for one account, so it is short-lived and
revocable: it ends when the reviewer signs out, when the account is disabled, its password reset or its role
changed, and SIGN_IN_HOURS after it was made. A page run resumed from a token re-checks the account like every page run.

Guessing passwords through the sign-in form is slowed by `FailedSignIns`: after MAX_FAILED_SIGN_INS wrong tries for
one name from one address within FAILED_SIGN_IN_MINUTES, that name is refused from that address, right password or
not, until the oldest of those tries is that old; after MAX_FAILED_SIGN_INS_PER_NAME from all addresses together, it is
refused from every address. The tries are rows in the database (the name, or a digest of a name that is no account's,
the address and the time; never the password), so every app process of a team counts the same ones, a restart forgets
none, and an admin sees them and may clear an account's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from typing import Callable, Optional

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from db.errors import DecisionError
from db.models import FailedSignIn, SignIn, User, as_utc, db_now, utcnow

SIGN_IN_HOURS = 12
MAX_FAILED_SIGN_INS = 5  # for one name from one address
# For one name from every address together. The lock per address keeps a stranger who types wrong passwords for a
# reviewer's name from locking the reviewer out of a browser elsewhere; this one bounds a guesser who spreads tries
# over addresses (or forges them behind a proxy that passes a client's X-Forwarded-For on unchecked), at the price
# that 4 addresses together can still lock a name out everywhere.
MAX_FAILED_SIGN_INS_PER_NAME = 4 * MAX_FAILED_SIGN_INS
FAILED_SIGN_IN_MINUTES = 15
_PG_TRIES_LOCK = 0x6661_696C  # shared by every ganaug process counting sign-in tries
UNKNOWN_NAME = "sha256:"  # a stored try's name that is no account's: its digest follows


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
    """Wrong passwords per account name (as typed, letter case folded) and address in the last `minutes`, kept in
    the database.

    Every app process on one database counts the same rows (two machines, two ports behind a proxy), and a restart
    or a crash forgets none. A try is written before its password is checked (`start`) and taken back once that
    password proves right (`succeeded`, which also ends the name's count from that address), so browsers that guess
    at the same moment, in one process or several, get no more than `limit` tries between them from one address,
    `name_limit` from all.
    A refused name is refused before its password is checked, so a locked-out guesser learns nothing from a right
    guess, and names that exist and names that do not are treated alike. A try whose address the app cannot tell
    (None) counts under one address shared by all such tries. Times come from `clock` (the database server's, which
    a team's machines share)."""

    def __init__(self, limit: int = MAX_FAILED_SIGN_INS, minutes: float = FAILED_SIGN_IN_MINUTES,
                 clock: Callable[[Session], dt.datetime] = db_now, name_limit: int = MAX_FAILED_SIGN_INS_PER_NAME):
        self.limit, self.minutes, self.clock, self.name_limit = limit, minutes, clock, name_limit
        self.window = dt.timedelta(minutes=minutes)

    def start(self, session: Session, name: str, address: Optional[str] = None) -> int:
        """Count a try for `name` from `address` before its password is checked; the try's id. Raises DecisionError,
        and counts nothing, while `name` has had `limit` tries from `address`, or `name_limit` from all addresses,
        within the window. In a `session_scope(immediate=True)`."""
        _lock(session)
        now = self.clock(session)
        session.execute(delete(FailedSignIn).where(FailedSignIn.at <= now - self.window))  # no pile of old rows
        key, address = _key(session, name), _address(address)
        tries = session.execute(select(FailedSignIn.at, FailedSignIn.address).where(FailedSignIn.name == key)
                                .order_by(FailedSignIn.at)).all()
        if (free := self._refused_until([as_utc(at) for at, _ in tries],
                                        [as_utc(at) for at, a in tries if a == address])) is not None:
            wait = max(1, math.ceil((free - now).total_seconds() / 60))
            raise DecisionError(f"too many wrong passwords for {name!r}: try again in {wait} minute"
                                f"{'s' * (wait != 1)}")
        row = FailedSignIn(name=key, address=address, at=now)
        session.add(row)
        session.flush()
        return row.id

    def _refused_until(self, every: list[dt.datetime], one: list[dt.datetime]) -> Optional[dt.datetime]:
        """When a name stops being refused, given its tries' times (oldest first) from every address and from one;
        None when it is not refused. Each count frees a try once fewer than its limit are within the window."""
        until = [times[len(times) - limit] + self.window
                 for times, limit in ((every, self.name_limit), (one, self.limit)) if len(times) >= limit]
        return max(until, default=None)

    def succeeded(self, session: Session, name: str, address: Optional[str] = None) -> None:
        """The right password (for a name not locked): its wrong ones from `address` are forgotten, this try
        included. Those from elsewhere stay: a stranger's guesses would otherwise start afresh each time the account's
        owner signed in."""
        address = _address(address)
        session.execute(delete(FailedSignIn).where(
            FailedSignIn.name == _key(session, name),
            FailedSignIn.address.is_(None) if address is None else FailedSignIn.address == address))

    def recent(self, session: Session) -> list[dict]:
        """Each name with tries within the window, the latest first: its count, from how many addresses (tries whose
        address is unknown count as one), its last try, whether the form refuses it now (from one address at least)
        and until when (None when it does not). A name that is no account's is None (see `_key`)."""
        now = self.clock(session)
        rows = session.execute(select(FailedSignIn.name, FailedSignIn.address, FailedSignIn.at)
                               .where(FailedSignIn.at > now - self.window)
                               .order_by(FailedSignIn.name, FailedSignIn.at)).all()
        tries: dict[str, list[tuple[dt.datetime, Optional[str]]]] = {}
        for name, address, at in rows:
            tries.setdefault(name, []).append((as_utc(at), address))
        out = []
        for name, found in tries.items():
            every = [at for at, _ in found]
            addresses = {a for _, a in found}
            until = max((u for u in (self._refused_until(every, [at for at, a in found if a == one])
                                     for one in addresses) if u is not None), default=None)
            out.append(dict(name=None if name.startswith(UNKNOWN_NAME) else name, tries=len(found),
                            addresses=len(addresses), last_try=every[-1], locked=until is not None,
                            locked_until=until))
        return sorted(out, key=lambda r: (r["last_try"], r["name"] or ""), reverse=True)

    def unlock(self, session: Session, name: str, by: User, reason: Optional[str] = None) -> tuple[User, int]:
        """An admin forgets the account `name`'s wrong passwords, so that its owner may sign in again at once; an
        event in the decision log. The account and how many tries were forgotten. Another name's lock (no account's)
        just ends with its window."""
        from db.audit import lock_log, record_event
        from db.users import get_user, require_user

        lock_log(session)
        admin = require_user(session, by, roles=("admin",), action="clear a sign-in lock")
        user = get_user(session, name)
        if user is None:
            raise DecisionError(f"unknown user {name!r}: only an account's lock can be cleared (another name's "
                                f"ends {self.minutes:g} minutes after its tries)")
        now = self.clock(session)
        gone = session.execute(delete(FailedSignIn).where(FailedSignIn.name == _key(session, user.name),
                                                          FailedSignIn.at > now - self.window)).rowcount or 0
        if not gone:
            raise DecisionError(f"{user.name!r} has no wrong passwords in the last {self.minutes:g} minutes: "
                                "nothing to clear")
        record_event(
            session, admin, "unlock_sign_in", "user", user.id,
            meaning=f"The {gone} wrong password{'s' * (gone != 1)} typed for account {user.name!r} in the last "
                    f"{self.minutes:g} minutes were forgotten: it may sign in to the app again at once.",
            reason=(reason or "").strip() or None,
            details={"name": user.name, "failed_sign_ins": gone, "was_locked": gone >= self.limit},
        )
        return user, gone


def _lock(session: Session) -> None:
    """Serialize the count and the write of a try between processes: SQLite's write lock is the caller's
    `session_scope(immediate=True)`; on PostgreSQL a transaction-scoped advisory lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_TRIES_LOCK})


def _address(address: Optional[str]) -> Optional[str]:
    """A client's address as stored: None when unknown; a value longer than any IPv6 address (a forged header?) is
    cut to the column's width."""
    address = (address or "").strip()
    return address[:64] or None


def _key(session: Session, name: str) -> str:
    """What a try is counted under: an account's name, letter case folded; any other name only as its sha256. A
    password typed into the name box by mistake is such a name, and is not kept where admins read."""
    from db.users import get_user

    folded = (name or "").strip().casefold()
    if (user := get_user(session, name)) is not None:
        return user.name.casefold()[:200]
    return UNKNOWN_NAME + hashlib.sha256(folded.encode("utf-8")).hexdigest()


failed_sign_ins = FailedSignIns()  # the app's; its counts are the database's, shared by every app process
