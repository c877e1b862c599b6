"""Sign-ins kept across page reloads: a token signs its account in until it ends, only its sha256 is stored, and
it ends at sign-out, at expiry and when the account is disabled — for good, even if the account comes back.

Wrong passwords typed into the app's form lock a name out for a while; they are rows in the database, so a restart
forgets none and two app processes share the count, and an admin sees them and clears an account's."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, update

from db.audit import verify_chain
from db.engine import dispose_engines, session_scope
from db.errors import DecisionError
from db.models import Event, FailedSignIn, SignIn, User, as_utc, db_now
from db.sign_ins import (FAILED_SIGN_IN_MINUTES, MAX_FAILED_SIGN_INS, SIGN_IN_HOURS, FailedSignIns, end_sign_in,
                         failed_sign_ins, resume_sign_in, start_sign_in)
from db.users import add_user, authenticate, set_active
from tests.db import test_upgrade
from tests.db.test_upgrade import _at_revision, _upgraded

ROOT = Path(__file__).resolve().parents[2]
empty_db = test_upgrade.empty_db  # a fixture: a database file with no tables yet


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


class Clock:
    """The database's clock, moved by hand: `FailedSignIns(clock=...)` asks it instead of the server."""

    def __init__(self):
        self.now = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc)

    def __call__(self, _session) -> dt.datetime:
        return self.now

    def forward(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


def attempt(throttle: FailedSignIns, name: str, address: str | None = None) -> int:
    """What the sign-in form does before it checks a password: count the try, or refuse the name."""
    with session_scope(immediate=True) as session:
        return throttle.start(session, name, address)


def refusal(throttle: FailedSignIns, name: str, address: str | None = None) -> str:
    with pytest.raises(DecisionError) as e:
        attempt(throttle, name, address)
    return str(e.value)


def stored_tries() -> list[tuple[str, dt.datetime]]:
    with session_scope() as session:
        return [(n, as_utc(at)) for n, at in session.execute(select(FailedSignIn.name, FailedSignIn.at)
                                                              .order_by(FailedSignIn.id))]


def test_wrong_passwords_lock_a_name_out_for_a_while_whatever_its_case_and_whether_it_exists(db):
    clock = Clock()
    throttle = FailedSignIns(limit=3, minutes=15, clock=clock)
    for _ in range(3):
        attempt(throttle, "Rita ")  # each try counts as wrong until its password proves right
    for name in ("rita", "RITA"):  # refused before any password is checked: a right guess now proves nothing
        assert refusal(throttle, name) == f"too many wrong passwords for {name!r}: try again in 15 minutes"
    attempt(throttle, "ada")  # another account is not held up
    for _ in range(3):
        attempt(throttle, "nobody")  # a name that does not exist is locked out alike
    assert "too many wrong passwords" in refusal(throttle, "nobody")
    clock.forward(minutes=14, seconds=30)
    assert refusal(throttle, "rita").endswith("try again in 1 minute")
    clock.forward(seconds=31)  # the oldest try is 15 minutes old
    attempt(throttle, "rita")
    attempt(throttle, "rita")  # two tries in the window now, below the limit
    with session_scope(immediate=True) as session:
        throttle.succeeded(session, "RITA")  # a right password forgets the wrong ones
    attempt(throttle, "rita")
    attempt(throttle, "rita")
    attempt(throttle, "rita")  # a disabled account's right password counts too: its refusal must read as a guess's
    assert "too many" in refusal(throttle, "rita")


def test_wrong_passwords_from_one_address_lock_the_name_out_there_only_up_to_a_cap_for_every_address(db):
    """Anyone who could reach the form locked a reviewer out for 15 minutes by typing 5 wrong passwords for her name."""
    clock = Clock()
    throttle = FailedSignIns(limit=3, minutes=15, clock=clock, name_limit=5)
    for _ in range(3):
        attempt(throttle, "rita", "203.0.113.9")  # a stranger's browser
    assert refusal(throttle, "RITA", "203.0.113.9") == "too many wrong passwords for 'RITA': try again in 15 minutes"
    attempt(throttle, "rita", "10.0.0.7")  # rita's own browser is still let try
    attempt(throttle, "rita")  # an address the app cannot tell is one more address
    # A guesser spreading tries over addresses (or forging them) gets `name_limit` in all: then every address waits.
    for address in ("10.0.0.7", None, "198.51.100.1"):
        assert "too many wrong passwords" in refusal(throttle, "rita", address)
    with session_scope() as session:
        (row,) = throttle.recent(session)
    assert (row["tries"], row["addresses"], row["locked"]) == (5, 3, True)
    with session_scope(immediate=True) as session:
        throttle.succeeded(session, "rita", "10.0.0.7")  # her right password there forgets her try, no one else's
        assert throttle.recent(session)[0]["tries"] == 4
    assert row["locked_until"] == clock.now + dt.timedelta(minutes=15)
    clock.forward(minutes=15, seconds=1)
    attempt(throttle, "rita", "203.0.113.9")
    with session_scope() as session:
        stored = session.execute(select(FailedSignIn.address)).scalars().all()
    assert stored == ["203.0.113.9"]  # older tries pruned; the address is kept no longer than the window


def test_the_tries_are_in_the_database_a_restart_forgets_none(db):
    """A crash or a restart of the app used to forget every wrong password: the guesser started afresh."""
    accounts()
    for _ in range(MAX_FAILED_SIGN_INS):
        attempt(FailedSignIns(), "rita")
    dispose_engines()  # the app restarts: new engine, new throttle, nothing in memory
    restarted = FailedSignIns()
    assert refusal(restarted, "rita") == (
        f"too many wrong passwords for 'rita': try again in {FAILED_SIGN_IN_MINUTES} minutes")
    assert [name for name, _ in stored_tries()] == ["rita"] * MAX_FAILED_SIGN_INS  # the name and a time: no password
    # The name, where from and when: no password (the address is kept for the window only, never shown)
    assert {c.name for c in FailedSignIn.__table__.columns} == {"id", "name", "address", "at"}


def test_a_name_that_is_no_accounts_is_kept_only_as_its_digest(db):
    """A password typed into the name box by mistake is a name that is no account's: it was kept in clear for the
    window, and shown to admins. It is counted the same, under its sha256."""
    accounts()
    for _ in range(MAX_FAILED_SIGN_INS):
        attempt(failed_sign_ins, "Correct-Horse-7")
    assert "too many wrong passwords for 'correct-horse-7'" in refusal(failed_sign_ins, "correct-horse-7")
    digest = hashlib.sha256(b"correct-horse-7").hexdigest()
    assert [name for name, _ in stored_tries()] == [f"sha256:{digest}"] * MAX_FAILED_SIGN_INS
    with session_scope() as session:
        assert [(r["name"], r["tries"], r["locked"]) for r in failed_sign_ins.recent(session)] == [
            (None, MAX_FAILED_SIGN_INS, True)]


def test_two_app_processes_on_one_database_share_the_count(db):
    """Two app processes (two machines, or two ports behind a proxy) each allowed 5 tries per 15 minutes."""
    for _ in range(MAX_FAILED_SIGN_INS - 2):
        attempt(failed_sign_ins, "rita")
    other = subprocess.run(  # the other process: its own interpreter, engine and connections
        [sys.executable, "-c", "from db.engine import session_scope\nfrom db.sign_ins import failed_sign_ins\n"
         "for _ in range(2):\n    with session_scope(immediate=True) as s:\n        failed_sign_ins.start(s, 'RITA')"],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert other.returncode == 0, other.stderr
    assert "too many wrong passwords for 'rita'" in refusal(failed_sign_ins, "rita")


def test_guesses_at_the_same_moment_get_no_more_than_the_limit_between_them(db):
    """Counted before the password is checked, under a lock: eight browsers that each pass the check at once must
    not all go on to try a password."""
    def slow_clock(session):  # a pause where a race would fall, between the lock and the count
        time.sleep(0.02)
        return db_now(session)

    throttle, names = FailedSignIns(clock=slow_clock), ("rita", "ada", "nobody")
    gate = threading.Barrier(8)

    def guess(name):
        gate.wait()
        try:
            attempt(throttle, name)
            return "tried"
        except DecisionError:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        outcomes = [sorted(pool.map(guess, [name] * 8)) for name in names]
    assert outcomes == [["refused"] * (8 - MAX_FAILED_SIGN_INS) + ["tried"] * MAX_FAILED_SIGN_INS] * len(names)
    assert len(stored_tries()) == MAX_FAILED_SIGN_INS * len(names)


def test_tries_older_than_the_window_are_pruned_as_new_ones_are_written(db):
    accounts()
    clock = Clock()
    throttle = FailedSignIns(limit=3, minutes=15, clock=clock)
    for i in range(50):  # a guesser spraying made-up names
        attempt(throttle, f"made-up-{i}")
    clock.forward(minutes=10)
    attempt(throttle, "rita")
    assert len(stored_tries()) == 51
    clock.forward(minutes=5)  # the made-up names' tries are 15 minutes old, rita's 5
    attempt(throttle, "ada")
    assert stored_tries() == [("rita", clock.now - dt.timedelta(minutes=5)), ("ada", clock.now)]


def test_an_admin_sees_the_names_guessed_at_and_clears_an_accounts_lock(db):
    admin, rita = accounts()
    clock = Clock()
    throttle = FailedSignIns(limit=3, minutes=15, clock=clock)
    for _ in range(3):
        attempt(throttle, "Rita")
    clock.forward(minutes=2)
    attempt(throttle, "mallory")
    with session_scope() as session:
        assert throttle.recent(session) == [
            dict(name=None, tries=1, addresses=1, last_try=clock.now, locked=False,
                 locked_until=None),  # no account's name
            dict(name="rita", tries=3, addresses=1, last_try=clock.now - dt.timedelta(minutes=2), locked=True,
                 locked_until=clock.now + dt.timedelta(minutes=13))]

    for name, by, match in (("rita", rita, "only admin may clear a sign-in lock"),
                            ("mallory", admin, r"unknown user 'mallory': only an account's lock can be cleared"),
                            ("ada", admin, "'ada' has no wrong passwords in the last 15 minutes: nothing to clear")):
        with pytest.raises(DecisionError, match=match), session_scope(immediate=True) as session:
            throttle.unlock(session, name, by=by)
    with session_scope(immediate=True) as session:
        account, gone = throttle.unlock(session, "RITA", by=admin, reason="she called the help desk")
    assert (account.name, gone) == ("rita", 3)
    attempt(throttle, "rita")  # the form takes her name again
    with session_scope() as session:
        event = session.scalars(select(Event).order_by(Event.id.desc()).limit(1)).one()
        assert (event.actor, event.action, event.target_type, event.target_id, event.reason) == (
            "ada", "unlock_sign_in", "user", rita.id, "she called the help desk")
        assert event.details == {"name": "rita", "failed_sign_ins": 3, "was_locked": True}
        assert verify_chain(session).ok
        assert [r["name"] for r in throttle.recent(session)] == ["rita", None]


def test_a_home_from_before_the_table_upgrades_and_counts_tries(empty_db, home):
    """A team's home at 0006 (tries in the app's memory): the first process after the upgrade adds the table."""
    assert "failed_sign_ins" not in inspect(_at_revision(empty_db, "0006")).get_table_names()
    accounts()
    assert "failed_sign_ins" in inspect(_upgraded(empty_db)).get_table_names()
    with session_scope() as session:
        assert authenticate(session, "rita", "rita-password").name == "rita"
    for _ in range(MAX_FAILED_SIGN_INS):
        attempt(failed_sign_ins, "rita")
    assert "too many wrong passwords" in refusal(failed_sign_ins, "rita")
