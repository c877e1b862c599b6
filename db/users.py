"""Reviewers and admins. Passwords are kept only as scrypt hashes (memory-hard, salted, parameters stored).

Stored form: `scrypt$n$r$p$salt_hex$hash_hex`, so the cost can be raised later without breaking old hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from typing import Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.errors import DecisionError
from db.models import User
from db.sign_ins import end_sign_ins_of

ROLES = ("reviewer", "admin")
# 32 MiB per hash: slow enough to make offline guessing expensive, fast enough (~0.1 s) for a login.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD_LENGTH = 8
# hashlib.scrypt lets go of the GIL, so each sign-in the app's threads check at once held its own 32 MiB: anyone who
# can reach the sign-in form, account or not, could open sessions by the hundred and have the app run out of memory.
SCRYPT_AT_ONCE = 4
_scrypt_slots = threading.BoundedSemaphore(SCRYPT_AT_ONCE)
_DUMMY_HASH: Optional[str] = None


class WrongPassword(DecisionError):
    """An unknown name, a wrong password or a disabled account (one message for all three): what the app's sign-in
    form counts as a guess."""

    def __init__(self, name: str):
        # A disabled account's right password used to be answered "account … is disabled": a confirmation of the
        # password to whoever guessed it (Django's ModelBackend refuses an inactive user with its generic message
        # too). Its owner learns from the message whom to ask.
        super().__init__(f"unknown user, wrong password or disabled account for {name!r} (an admin can tell you "
                         "which)")


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest)
        actual = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:  # a stored hash that does not parse matches no password
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    with _scrypt_slots:  # the others wait their turn: at most SCRYPT_AT_ONCE × 32 MiB
        return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + (1 << 20),
                              dklen=32)


def validate_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100 or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise DecisionError(f"invalid user name {name!r}: use 1 to 100 printable characters without spaces")
    return name


def add_user(session: Session, name: str, password: str, role: str = "reviewer", by: Optional[User] = None,
             reason: Optional[str] = None) -> User:
    """Create an account. `by` is the admin creating it; None only for the bootstrap admin of a fresh database.

    The creation is recorded in the decision log like any other decision.
    """
    from db.audit import lock_log, record_event

    lock_log(session)  # the name check and the insert must not interleave with another writer's
    name = validate_name(name)
    if role not in ROLES:
        raise DecisionError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise DecisionError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if by is not None:
        by = require_user(session, by, roles=("admin",), action="add users")
    elif has_active_admin(session):
        raise DecisionError("only an admin can add users once an admin exists: authenticate as one")
    elif role != "admin":
        raise DecisionError("the first account must be an admin (--role admin): it is the one that adds the others")
    # Compared in Python: SQL's lower() folds ASCII letters only. The table holds a team's accounts, not millions.
    same = next((n for n in session.scalars(select(User.name)) if n.casefold() == name.casefold()), None)
    if same is not None:  # 'Alice' beside 'alice' would let one pass for the other in the audit log
        raise DecisionError(f"user {name!r} already exists" if same == name
                            else f"user {same!r} already exists, and names must differ by more than letter case")
    user = User(name=name, role=role, password_hash=hash_password(password), active=True)
    session.add(user)
    session.flush()
    record_event(
        session, by or user, "add_user", "user", user.id,
        meaning=f"Account {name!r} created with the role {role}.", reason=_optional(reason),
        details={"name": name, "role": role, "bootstrap": by is None},
    )
    return user


def has_active_admin(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.active)))


def get_user(session: Session, name: str) -> Optional[User]:
    """The account named `name`, whatever its letter case ('bob' finds 'Bob': names differ by more than case)."""
    name = (name or "").strip()
    user = session.scalars(select(User).where(User.name == name)).first()
    if user is None and name:  # in Python: SQL's lower() folds ASCII letters only
        folded = [u for u in session.scalars(select(User)) if u.name.casefold() == name.casefold()]
        user = folded[0] if len(folded) == 1 else None  # two accounts from before the rule: the exact name only
    return user


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.id)).all()


def authenticate(session: Session, name: str, password: str) -> User:
    """The active user with this name and password; one message (`WrongPassword`) for an unknown name, a wrong
    password and a disabled account, each after one password check, so that neither the answer nor its time tells
    which names exist, nor that a password guessed for a disabled account is right."""
    global _DUMMY_HASH
    user = get_user(session, (name or "").strip())
    if user is None:
        # Spend the same time as a real check so that timing does not reveal which names exist.
        _DUMMY_HASH = _DUMMY_HASH or hash_password("not a password")
        verify_password(_DUMMY_HASH, password or "")
        raise WrongPassword(name)
    if not verify_password(user.password_hash, password or "") or not user.active:
        raise WrongPassword(name)
    return user


def require_user(session: Session, user: User, roles: Sequence[str] = ROLES, action: str = "decide") -> User:
    """The current database row of `user`, checked to be active and to hold one of `roles`.

    Re-read on every decision: an account disabled after the app logged it in must not keep deciding.
    """
    if user is None:
        raise DecisionError(f"no authenticated user: log in to {action}")
    row = session.get(User, user.id, populate_existing=True)
    if row is None:
        raise DecisionError(f"unknown user {user.name!r}")
    if not row.active:
        raise DecisionError(f"account {row.name!r} is disabled; ask an admin")
    if row.role not in roles:
        raise DecisionError(f"{row.name!r} is a {row.role}; only {' or '.join(roles)} may {action}")
    return row


def _admin_and_account(session: Session, name: str, by: User, action: str) -> tuple[User, User]:
    """The acting admin's current row and the account `name`, under the log's write lock."""
    from db.audit import lock_log

    lock_log(session)  # the checks below and the write must not interleave with another admin's
    admin = require_user(session, by, roles=("admin",), action=action)
    user = get_user(session, name)
    if user is None:
        raise DecisionError(f"unknown user {name!r}")
    return admin, user


def _check_not_last_admin(session: Session, user: User, change: str) -> None:
    others = session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active, User.id != user.id))
    if user.role == "admin" and user.active and not others:
        raise DecisionError(f"{user.name!r} is the last active admin and cannot be {change}")


def set_active(session: Session, name: str, active: bool, by: User, reason: Optional[str] = None) -> User:
    """Disable or re-enable an account (admins only). The last active admin cannot be disabled."""
    from db.audit import record_event

    admin, user = _admin_and_account(session, name, by, "disable or enable accounts")
    name = user.name
    if user.active == active:
        raise DecisionError(f"user {name!r} is already {'active' if active else 'disabled'}")
    if not active:
        _check_not_last_admin(session, user, "disabled")
    if not active and user.id == admin.id:  # the session would look like an admin's while every action fails
        raise DecisionError("an admin cannot disable their own account: ask another admin")
    user.active = active
    if not active:  # a browser that stayed signed in is signed out on its next page run
        end_sign_ins_of(session, user.id)
    record_event(
        session, admin, "enable_user" if active else "disable_user", "user", user.id,
        meaning=f"Account {name!r} {'re-enabled' if active else 'disabled'}: it {'may' if active else 'may no longer'} sign decisions.",
        reason=_optional(reason),
    )
    return user


def set_password(session: Session, name: str, password: str, by: User, reason: Optional[str] = None) -> User:
    """A new password for `name`: an admin resets anyone's (a forgotten one), anyone may change their own.

    `by` has been authenticated by the caller (its own password). The change is recorded in the decision log,
    without the password or its hash, and ends the account's sign-ins: a browser that stayed signed in with the
    old password, perhaps someone else's, must sign in again."""
    from db.audit import lock_log, record_event

    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise DecisionError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    password_hash = hash_password(password)  # scrypt's fraction of a second, before the write lock is taken
    lock_log(session)
    actor = require_user(session, by, action="change a password")
    user = get_user(session, name)
    if user is None or (user.id != actor.id and actor.role != "admin"):
        # A reviewer learns nothing about other accounts, not even whether they exist.
        raise DecisionError(f"{actor.name!r} is a {actor.role}; only an admin may reset another account's password"
                            if user is not None or actor.role != "admin" else f"unknown user {name!r}")
    user.password_hash = password_hash
    ended = end_sign_ins_of(session, user.id)
    own = user.id == actor.id
    record_event(
        session, actor, "set_password", "user", user.id,
        meaning=(f"Account {user.name!r} changed its own password" if own
                 else f"The password of account {user.name!r} was reset by an admin") + "; its sign-ins were ended.",
        reason=_optional(reason), details={"name": user.name, "own": own, "sign_ins_ended": ended},
    )
    return user


def set_role(session: Session, name: str, role: str, by: User, reason: Optional[str] = None) -> User:
    """Make an account a reviewer or an admin (admins only). The last active admin cannot stop being one, and an
    admin does not demote themselves. The account's sign-ins end, so the app shows it the pages of its new role."""
    from db.audit import record_event

    if role not in ROLES:
        raise DecisionError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    admin, user = _admin_and_account(session, name, by, "change roles")
    if user.role == role:
        raise DecisionError(f"{user.name!r} is already {_a(role)}")
    if role != "admin":
        _check_not_last_admin(session, user, "made a reviewer")
        if user.id == admin.id:
            raise DecisionError("an admin cannot demote themselves: ask another admin")
    previous, user.role = user.role, role
    ended = end_sign_ins_of(session, user.id)
    record_event(
        session, admin, "set_role", "user", user.id,
        meaning=f"Account {user.name!r} is now {_a(role)} (was {_a(previous)}).",
        reason=_optional(reason), details={"name": user.name, "role": role, "previous": previous,
                                           "sign_ins_ended": ended},
    )
    return user


def _optional(text: Optional[str]) -> Optional[str]:
    return (text or "").strip() or None


def _a(role: str) -> str:
    return f"an {role}" if role == "admin" else f"a {role}"
