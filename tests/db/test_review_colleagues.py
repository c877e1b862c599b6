"""Two reviewers on one batch: a decision refused because a colleague's came first says whose it was and when, and an
approval refuses to cover samples decided on after its reviewer was shown what it admits."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from db import batch_views, views
from db.engine import session_scope
from db.errors import DecisionError
from db.models import Event
from db.review import (SamplesChanged, approve_batch, reject_batch, reject_sample, reject_samples, restore_sample,
                       revoke_batch, tag_sample, tag_samples, untag_sample)
from tests.db.helpers import make_batch, sample_ids

AT = r" at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"  # an event's time as a refusal gives it


def _decide(decide) -> None:
    with session_scope(immediate=True) as s:
        decide(s)


def _refusal(decide) -> str:
    """The one line a refused decision says; it recorded nothing."""
    with session_scope() as s:
        before = s.scalar(select(func.count()).select_from(Event))
    with pytest.raises(DecisionError) as refused:
        _decide(decide)
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == before
    return str(refused.value)


def test_a_decision_a_colleague_made_first_is_refused_with_their_name_and_time(home, toy, people):
    ada, rex = people["ada"], people["rex"]
    with session_scope() as s:
        b = make_batch(s, home, toy).id
        first, second = sample_ids(s, b)[:2]
    _decide(lambda s: reject_sample(s, first, ada, "smear"))
    for decide in (lambda s: reject_sample(s, first, rex, "blob"),
                   lambda s: reject_samples(s, [second, first], rex, "x")):
        assert re.fullmatch(f"sample {first} is already rejected \\(ada rejected it{AT}: “smear”\\)",
                            _refusal(decide))
    _decide(lambda s: restore_sample(s, first, ada, "fine after all"))
    assert re.fullmatch(f"sample {first} is not rejected \\(ada restored it{AT}: “fine after all”\\)",
                        _refusal(lambda s: restore_sample(s, first, rex, "fine")))
    _decide(lambda s: tag_sample(s, second, "blur", ada))
    for decide in (lambda s: tag_sample(s, second, "blur", rex), lambda s: tag_samples(s, [second], "blur", rex)):
        assert re.fullmatch(f"sample {second} already has the tag 'blur' \\(ada tagged it{AT}\\)", _refusal(decide))
    _decide(lambda s: untag_sample(s, second, "blur", ada))
    assert re.fullmatch(f"sample {second} does not have the tag 'blur' \\(ada removed the tag from it{AT}\\)",
                        _refusal(lambda s: untag_sample(s, second, "blur", rex)))

    _decide(lambda s: approve_batch(s, b, ada, "clean strokes"))
    approved = f"\\(ada approved it{AT}: “clean strokes”\\)"
    assert re.fullmatch(f"batch {b} is approved; only a pending batch can be approved {approved}",
                        _refusal(lambda s: approve_batch(s, b, rex)))
    assert re.fullmatch(f"batch {b} is approved; only a pending batch can be rejected; revoke it instead {approved}",
                        _refusal(lambda s: reject_batch(s, b, rex, "blurry")))
    _decide(lambda s: revoke_batch(s, b, ada, "checkerboard"))
    assert re.fullmatch(f"batch {b} is revoked; only an approved batch can be revoked \\(ada revoked it{AT}: "
                        "“checkerboard”\\)", _refusal(lambda s: revoke_batch(s, b, rex, "halo")))
    assert re.fullmatch(f"sample {second} belongs to batch {b}, which is revoked: none of its samples can be used "
                        f"anyway \\(ada revoked batch {b}{AT}: “checkerboard”\\)",
                        _refusal(lambda s: reject_sample(s, second, rex, "smear")))


@pytest.mark.parametrize("colleague", ["rejected", "restored"])
def test_an_approval_is_refused_when_its_samples_were_decided_on_after_it_was_shown(home, toy, people, colleague):
    """The app shows "3 of its 4 samples will be admitted" and records the approval at the click on "Confirm": a
    restore in between would have admitted the sample the reviewer saw left out (a rejection, one fewer)."""
    ada, rex = people["ada"], people["rex"]
    with session_scope() as s:
        b = make_batch(s, home, toy).id
        first = sample_ids(s, b)[0]
    if colleague == "restored":
        _decide(lambda s: reject_sample(s, first, ada, "smear"))
    with session_scope() as s:
        shown, seen = batch_views.approval_preview(s, b)["admitted"], views.last_event_id(s)
    if colleague == "restored":
        _decide(lambda s: restore_sample(s, first, ada, "fine after all"))
    else:
        _decide(lambda s: reject_sample(s, first, ada, "smear"))
    with pytest.raises(SamplesChanged, match=f"while you were confirming, ada {colleague} sample {first} of batch "
                       f"{b}{AT}: “[^”]+”; nothing was recorded: look at the batch again before approving"):
        _decide(lambda s: approve_batch(s, b, rex, unchanged_since=seen))
    with session_scope() as s:
        assert batch_views.batch_state(s, b)["status"] == "pending"
        now, seen = batch_views.approval_preview(s, b)["admitted"], views.last_event_id(s)
        assert now == shown + (1 if colleague == "restored" else -1)
    _decide(lambda s: approve_batch(s, b, rex, unchanged_since=seen))  # what it admits now, shown again, is confirmed
    with session_scope() as s:
        approvals = s.scalars(select(Event).where(Event.action == "approve")).all()
        assert [(e.actor, e.details["rejected"]) for e in approvals] == [("rex", 0 if colleague == "restored" else 1)]
