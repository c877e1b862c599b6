"""What a team's admin does to accounts and to the tag taxonomy: reset a forgotten password, change a role, retire
a tag. Each change is one event in the decision log, under its author, with its reason; a refusal writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.audit import verify_chain
from db.engine import session_scope
from db.errors import DecisionError
from db.models import Event, SignIn, User
from db.review import tag_sample, untag_sample
from db.tags import add_tag, get_tag, list_tags, set_tag_active
from db.sign_ins import resume_sign_in, start_sign_in
from db.users import add_user, authenticate, get_user, set_active, set_password, set_role
from tests.db.helpers import make_batch, sample_ids


def _events() -> list[Event]:
    with session_scope() as s:
        rows = list(s.scalars(select(Event).order_by(Event.id)))
        s.expunge_all()
    return rows


def _signed_in(name: str) -> str:
    with session_scope() as s:
        return start_sign_in(s, get_user(s, name).id)[0]


def _live(token: str) -> bool:
    with session_scope() as s:
        return resume_sign_in(s, token) is not None


def _refused(decide, match: str) -> None:
    before = len(_events())
    with pytest.raises(DecisionError, match=match):
        with session_scope(immediate=True) as s:
            decide(s)
    assert len(_events()) == before


def test_an_admin_resets_a_forgotten_password_and_ends_its_sign_ins(people):
    token = _signed_in("rex")
    with session_scope(immediate=True) as s:
        set_password(s, "rex", "a fresh one", by=people["ada"], reason="forgot it")
    with session_scope() as s:
        assert authenticate(s, "rex", "a fresh one").name == "rex"
        with pytest.raises(DecisionError, match="wrong password"):
            authenticate(s, "rex", "rex-password")
        assert verify_chain(s).ok
    assert not _live(token)  # a browser that stayed signed in, perhaps someone else's, signs in again
    event = _events()[-1]
    assert (event.action, event.target_type, event.actor, event.reason) == ("set_password", "user", "ada", "forgot it")
    assert event.target_id == people["rex"].id and "'rex'" in event.meaning
    assert event.details == {"name": "rex", "own": False, "sign_ins_ended": 1}
    with session_scope() as s:
        stored = s.scalar(select(User.password_hash).where(User.name == "rex"))
    logged = " ".join(str(getattr(e, f)) for e in _events() for f in ("meaning", "reason", "details"))
    assert "a fresh one" not in logged and stored.split("$")[-1] not in logged


def test_a_reviewer_changes_their_own_password_and_no_one_elses(people):
    with session_scope(immediate=True) as s:
        set_password(s, "REX", "rex-new-password", by=people["rex"])
    assert _events()[-1].details["own"] and _events()[-1].actor == "rex"
    _refused(lambda s: set_password(s, "ada", "taken over!", by=people["rex"]), "only an admin may reset another")
    _refused(lambda s: set_password(s, "nobody", "whatever1", by=people["rex"]), "only an admin may reset another")
    _refused(lambda s: set_password(s, "nobody", "whatever1", by=people["ada"]), "unknown user 'nobody'")
    _refused(lambda s: set_password(s, "rex", "short", by=people["ada"]), "at least 8 characters")
    _refused(lambda s: set_password(s, "dan", "dan-is-back", by=people["dan"]), "disabled")
    with session_scope() as s:
        assert authenticate(s, "ada", "ada-password").name == "ada"


def test_a_role_change_is_logged_and_ends_the_accounts_sign_ins(people):
    token = _signed_in("rex")
    with session_scope(immediate=True) as s:
        assert set_role(s, "Rex", "admin", by=people["ada"], reason="co-lead").role == "admin"
    assert not _live(token)  # the app's pages were drawn for a reviewer
    event = _events()[-1]
    assert (event.action, event.actor, event.reason) == ("set_role", "ada", "co-lead")
    assert event.details == {"name": "rex", "role": "admin", "previous": "reviewer", "sign_ins_ended": 1}
    assert event.meaning == "Account 'rex' is now an admin (was a reviewer)."
    _refused(lambda s: set_role(s, "ada", "reviewer", by=people["ada"]), "cannot demote themselves")
    _refused(lambda s: set_role(s, "rex", "admin", by=people["ada"]), "'rex' is already an admin")
    _refused(lambda s: set_role(s, "rex", "owner", by=people["ada"]), "unknown role 'owner'")
    with session_scope(immediate=True) as s:
        set_role(s, "ada", "reviewer", by=people["rex"], reason="handing over")
    _refused(lambda s: set_role(s, "rex", "reviewer", by=people["rex"]), "last active admin")
    _refused(lambda s: set_role(s, "dan", "admin", by=people["ada"]), "'ada' is a reviewer; only admin may change roles")
    with session_scope() as s:
        assert [(u.name, u.role) for u in s.scalars(select(User).order_by(User.id))] == [
            ("ada", "reviewer"), ("rex", "admin"), ("dan", "reviewer")]
        assert verify_chain(s).ok


def test_account_names_match_whatever_their_letter_case(people):
    with session_scope(immediate=True) as s:
        add_user(s, "Mia", "mia-password", by=people["ada"], reason=" joins for the melanoma batches ")
    assert _events()[-1].reason == "joins for the melanoma batches"
    _refused(lambda s: add_user(s, "mia", "mia-password", by=people["ada"]), "'Mia' already exists")
    with session_scope() as s:
        assert get_user(s, " ADA ").name == "ada"
        assert authenticate(s, "Rex", "rex-password").name == "rex"
    with session_scope(immediate=True) as s:
        assert set_active(s, "REX", False, by=people["ada"], reason="  on leave ").name == "rex"
    event = _events()[-1]
    assert (event.action, event.reason, event.meaning.split()[1]) == ("disable_user", "on leave", "'rex'")


def test_a_retired_tag_stays_on_its_samples_but_no_new_sample_gets_it(home, toy, people):
    with session_scope() as s:
        b = make_batch(s, home, toy).id
    with session_scope(immediate=True) as s:
        first, second = sample_ids(s, b)[:2]
        tag_sample(s, first, "blur", people["rex"])
        assert set_tag_active(s, "Blur", False, people["ada"], reason="merged into smear").active is False
    event = _events()[-1]
    assert (event.action, event.target_type, event.actor, event.reason) == ("retire_tag", "tag", "ada", "merged into smear")
    assert event.details == {"tag": "blur", "blocking": True} and "'blur'" in event.meaning
    # Who retired it and when: a reviewer whose picker still offered the tag learns what happened.
    _refused(lambda s: tag_sample(s, second, "blur", people["rex"]), r"tag 'blur' is not in the taxonomy \(it is "
             r"retired; ada retired it at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: “merged into smear”\)")
    _refused(lambda s: set_tag_active(s, "blur", False, people["ada"]), "already retired")
    _refused(lambda s: set_tag_active(s, "blur", True, people["rex"]), "only admin may")
    _refused(lambda s: set_tag_active(s, "other", False, people["ada"]), "cannot be retired")
    _refused(lambda s: set_tag_active(s, "sparkles", False, people["ada"]), "not in the taxonomy")
    _refused(lambda s: add_tag(s, "blur", people["ada"]), r"tag 'blur' already exists \(retired: restore it\)")
    with session_scope() as s:
        assert "blur" not in [t.name for t in list_tags(s)] and get_tag(s, "blur", active_only=False).blocking
    with session_scope(immediate=True) as s:
        untag_sample(s, first, "blur", people["rex"], reason="it was fine")  # a retired tag can still be removed
        set_tag_active(s, "blur", True, people["ada"])
        tag_sample(s, second, "blur", people["rex"])
    assert [e.action for e in _events()[-4:]] == ["retire_tag", "untag", "restore_tag", "tag"]
    with session_scope() as s:
        assert verify_chain(s).ok


def test_tag_names_are_printable_and_unique_regardless_of_case(people):
    _refused(lambda s: add_tag(s, "Blur", people["ada"]), "'blur' already exists, and tag names must differ by more")
    _refused(lambda s: add_tag(s, "two\nlines", people["ada"]), "invalid tag name")
    _refused(lambda s: add_tag(s, "   ", people["ada"]), "invalid tag name")
    with session_scope(immediate=True) as s:
        add_tag(s, " Halo ", people["ada"], blocking=False, description=" bright ring ", reason="seen in 3 batches")
    event = _events()[-1]
    assert (event.action, event.reason, event.details["name"], event.details["description"]) == (
        "add_tag", "seen in 3 batches", "Halo", "bright ring")
    assert "'Halo'" in event.meaning and "does not keep" in event.meaning
    with session_scope() as s:
        assert get_tag(s, "halo").name == "Halo"
        assert s.scalar(select(func.count()).select_from(SignIn)) == 0
