"""Sign-ins kept across page reloads: a token signs its account in until it ends, only its sha256 is stored, and
it ends at sign-out, at expiry and when the account is disabled — for good, even if the account comes back."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select, update

from db.engine import session_scope
from db.models import SignIn, User
from db.sign_ins import SIGN_IN_HOURS, end_sign_in, resume_sign_in, start_sign_in
from db.users import add_user, set_active


def accounts() -> tuple[User, User]:
    with session_scope(immediate=True) as session:
        admin = add_user(session, "ada", "admin-password", role="admin")
        rita = add_user(session, "rita", "rita-password", by=admin)
        session.expunge_all()
    return admin, rita


def started(user: User) -> str:
    with session_scope() as session:
        return start_sign_in(session, user.id)[0]


def resumed(token):
    with session_scope() as session:
        found = resume_sign_in(session, token)
        return None if found is None else (found[0].name, found[1])


def test_a_token_signs_its_account_in_until_it_expires(db):
    _, rita = accounts()
    token = started(rita)
    name, expires = resumed(token)
    assert name == "rita"
    left = expires - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(hours=SIGN_IN_HOURS) - dt.timedelta(minutes=1) < left <= dt.timedelta(hours=SIGN_IN_HOURS)
    assert resumed(token + "x") is None and resumed("") is None and resumed(None) is None and resumed("a" * 5000) is None

    with session_scope() as session:  # twelve hours later
        session.execute(update(SignIn).values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    assert resumed(token) is None


def test_only_the_tokens_sha256_is_stored(db):
    _, rita = accounts()
    token = started(rita)
    assert len(token) >= 43  # 256 random bits
    with session_scope() as session:
        stored = session.scalars(select(SignIn.token_sha256)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert started(rita) != token  # every sign-in gets its own


def test_signing_out_ends_that_token_only(db):
    admin, rita = accounts()
    laptop, desk, admins = started(rita), started(rita), started(admin)
    with session_scope() as session:
        end_sign_in(session, laptop)
    assert resumed(laptop) is None
    assert resumed(desk)[0] == "rita" and resumed(admins)[0] == "ada"


def test_disabling_an_account_ends_its_sign_ins_for_good(db):
    admin, rita = accounts()
    token = started(rita)
    with session_scope(immediate=True) as session:
        set_active(session, "rita", False, by=admin, reason="left the team")
    assert resumed(token) is None
    with session_scope() as session:
        assert session.scalar(select(SignIn.ended_at).where(SignIn.user_id == rita.id)) is not None
    with session_scope(immediate=True) as session:
        set_active(session, "rita", True, by=admin, reason="back")
    assert resumed(token) is None  # re-enabling does not bring an old browser's sign-in back
    assert resumed(started(rita))[0] == "rita"


def test_a_disabled_accounts_live_token_signs_no_one_in(db):
    """Even a token the disable did not end (written by an older version) is refused while the account is off."""
    admin, rita = accounts()
    token = started(rita)
    with session_scope() as session:
        session.execute(update(User).where(User.id == rita.id).values(active=False))
    assert resumed(token) is None


def test_wrong_passwords_lock_a_name_out_for_a_while_whatever_its_case_and_whether_it_exists():
    from db.errors import DecisionError
    from db.sign_ins import FailedSignIns

    now = [1000.0]
    throttle = FailedSignIns(limit=3, minutes=15, clock=lambda: now[0])
    for _ in range(3):
        throttle.check("rita")
        throttle.failed("Rita ")
    for name in ("rita", "RITA"):  # refused before any password is checked: a right guess now proves nothing
        try:
            throttle.check(name)
        except DecisionError as e:
            assert str(e) == f"too many wrong passwords for {name!r}: try again in 15 minutes"
        else:
            raise AssertionError("a fourth try within 15 minutes was allowed")
    throttle.check("ada")  # another account is not held up
    for _ in range(3):
        throttle.failed("nobody")  # a name that does not exist is locked out alike
    try:
        throttle.check("nobody")
    except DecisionError:
        pass
    else:
        raise AssertionError("an unknown name was not throttled")
    now[0] += 14 * 60 + 30
    try:
        throttle.check("rita")
    except DecisionError as e:
        assert str(e).endswith("try again in 1 minute")
    else:
        raise AssertionError("the lock ended early")
    now[0] += 31  # the oldest try is 15 minutes old
    throttle.check("rita")
    throttle.failed("rita")
    throttle.check("rita")  # two tries in the window now, below the limit
    throttle.succeeded("rita")  # a right password forgets the wrong ones
    throttle.failed("rita")
    throttle.failed("rita")
    throttle.check("rita")
