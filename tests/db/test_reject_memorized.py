"""`reject_memorized`: a batch's memorized samples rejected in one decision, one event each, all or none; only the
samples the reviewer was shown (`seen`), never one a rescoring flagged since."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.audit import verify_chain
from db.engine import session_scope
from db.errors import DecisionError
from db.models import Event, Sample
from db.review import approve_batch, open_memorized, reject_memorized
from tests.db.helpers import make_batch, sample_ids


def _refusal(decide) -> str:
    with session_scope() as s:
        before = s.scalar(select(func.count()).select_from(Event))
    with pytest.raises(DecisionError) as refused, session_scope(immediate=True) as s:
        decide(s)
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == before  # nothing half-written
        assert not s.scalar(select(func.count()).where(Sample.rejected))
    return str(refused.value)


def test_only_the_samples_shown_are_rejected_all_or_none(home, toy, people):
    rex = people["rex"]
    with session_scope() as s:
        b, other = make_batch(s, home, toy, n=5, memorized={0, 1, 2}).id, make_batch(s, home, toy, n=2).id
        ids, elsewhere = sample_ids(s, b), sample_ids(s, other)
    with session_scope(immediate=True) as s:  # a rescoring no longer flags one the reviewer was shown
        s.get(Sample, ids[1]).memorized = False
    assert _refusal(lambda s: reject_memorized(s, b, rex, "copies", seen=ids[:3])) == (
        f"sample {ids[1]} is no longer flagged as memorized (its batch was scored again); nothing was recorded: look "
        "at the batch again")
    assert _refusal(lambda s: reject_memorized(s, b, rex, "copies", seen=[ids[0], elsewhere[0]])) == (
        f"sample {elsewhere[0]} belongs to batch {other}, not {b}")
    with session_scope(immediate=True) as s:  # and flags another one instead
        s.get(Sample, ids[4]).memorized = True
    with session_scope(immediate=True) as s:
        assert reject_memorized(s, b, rex, "copies", seen=[ids[2], ids[0]])[0] == [ids[0], ids[2]]
    with session_scope() as s:
        assert open_memorized(s, b) == [ids[4]]  # left for the reviewer to look at
        assert list(s.scalars(select(Event.target_id).where(Event.action == "reject_sample").order_by(Event.id))) == [
            ids[0], ids[2]]
        assert verify_chain(s).ok
    with session_scope(immediate=True) as s:  # without `seen`, the command line's: those open now
        assert reject_memorized(s, b, rex, "copy too")[0] == [ids[4]]
        approve_batch(s, b, rex)
