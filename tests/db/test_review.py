"""Batch decisions, sample rejections and tags: the state machine, the log entries, and every refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db import views
from db.audit import verify_chain
from db.engine import session_scope
from db.errors import DecisionError
from db.models import Batch, Event, Sample, SampleTag
from db.review import (approve_batch, reject_batch, reject_sample, restore_sample, revoke_batch, tag_sample,
                       untag_sample)
from db.review_queue import pending_batches, review_page
from db.tags import add_tag
from tests.db.helpers import make_batch, sample_ids


def _batch(home, toy, **kw) -> int:
    with session_scope() as s:
        return make_batch(s, home, toy, **kw).id


def _events() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(Event))


def _status(batch_id) -> str:
    with session_scope() as s:
        return s.get(Batch, batch_id).status


def test_approve_then_revoke_records_two_chained_events(home, toy, people):
    b = _batch(home, toy)
    with session_scope(immediate=True) as s:
        ev = approve_batch(s, b, people["rex"], reason="looks right")
    assert _status(b) == "approved"
    assert (ev.action, ev.target_type, ev.target_id, ev.actor, ev.role) == ("approve", "batch", b, "rex", "reviewer")
    assert ev.details["samples"] == 4 and len(ev.details["samples_sha256"]) == 64
    assert ev.ts.endswith("+00:00") and ev.meaning
    with session_scope(immediate=True) as s:
        rv = revoke_batch(s, b, people["ada"], reason="checkerboard seen later")
    assert _status(b) == "revoked"
    assert rv.prev_hash == ev.hash and rv.details["approval_event_id"] == ev.id and rv.reason == "checkerboard seen later"
    with session_scope() as s:
        assert verify_chain(s).ok


def test_reject_pending_batch(home, toy, people):
    b = _batch(home, toy)
    with session_scope(immediate=True) as s:
        reject_batch(s, b, people["rex"], reason="blurry")
    assert _status(b) == "rejected"
    with session_scope() as s:
        assert [x.id for x in pending_batches(s)] == []


@pytest.mark.parametrize(
    "decide, message",
    [
        (lambda s, b, p: reject_batch(s, b, p["rex"], reason="  "), "reason is required"),
        (lambda s, b, p: revoke_batch(s, b, p["rex"], reason="x"), "only an approved batch can be revoked"),
        (lambda s, b, p: approve_batch(s, 999, p["rex"]), "unknown batch 999"),
        (lambda s, b, p: approve_batch(s, b, p["dan"]), "disabled"),
        (lambda s, b, p: add_tag(s, "halo", p["rex"]), "only admin may"),
        (lambda s, b, p: tag_sample(s, sample_ids(s, b)[0], "sparkles", p["rex"]), "not in the taxonomy"),
        (lambda s, b, p: reject_sample(s, 10**6, p["rex"], reason="x"), "unknown sample"),
        (lambda s, b, p: reject_sample(s, sample_ids(s, b)[0], p["rex"], reason=None), "reason is required"),
        (lambda s, b, p: untag_sample(s, sample_ids(s, b)[0], "blur", p["rex"]), "does not have the tag"),
    ],
)
def test_bad_decisions_are_refused_and_write_nothing(home, toy, people, decide, message):
    b = _batch(home, toy)
    before = _events()
    with pytest.raises(DecisionError, match=message):
        with session_scope(immediate=True) as s:
            decide(s, b, people)
    assert _events() == before
    assert _status(b) == "pending"


def test_approving_a_rejected_batch_is_refused(home, toy, people):
    b = _batch(home, toy)
    with session_scope(immediate=True) as s:
        reject_batch(s, b, people["rex"], reason="wrong class")
    with pytest.raises(DecisionError, match=f"batch {b} is rejected; only a pending batch can be approved"):
        with session_scope(immediate=True) as s:
            approve_batch(s, b, people["ada"])
    assert _status(b) == "rejected"


def test_unscored_batch_cannot_be_approved(home, toy, people):
    b = _batch(home, toy, scored=False)
    with pytest.raises(DecisionError, match="has not been scored"):
        with session_scope(immediate=True) as s:
            approve_batch(s, b, people["rex"])


def test_memorized_samples_block_approval_until_rejected(home, toy, people):
    b = _batch(home, toy, n=5, memorized=(1, 3))
    with session_scope() as s:
        ids = sample_ids(s, b)
    with pytest.raises(DecisionError, match=r"2 memorized sample\(s\) not yet rejected"):
        with session_scope(immediate=True) as s:
            approve_batch(s, b, people["rex"])
    with session_scope(immediate=True) as s:
        reject_sample(s, ids[1], people["rex"], reason="copy of a training image")
    with pytest.raises(DecisionError, match=rf"1 memorized sample\(s\) not yet rejected \({ids[3]}\)"):
        with session_scope(immediate=True) as s:
            approve_batch(s, b, people["rex"])
    with session_scope(immediate=True) as s:
        reject_sample(s, ids[3], people["rex"], reason="copy of a training image")
        ev = approve_batch(s, b, people["rex"])
    assert ev.details["rejected"] == 2
    with pytest.raises(DecisionError, match="already rejected"):
        with session_scope(immediate=True) as s:
            reject_sample(s, ids[3], people["rex"], reason="again")


def test_sample_rejected_inside_approved_batch(home, toy, people):
    b = _batch(home, toy)
    with session_scope(immediate=True) as s:
        approve_batch(s, b, people["rex"])
        sid = sample_ids(s, b)[0]
        ev = reject_sample(s, sid, people["ada"], reason="implausible")
    with session_scope() as s:
        assert s.get(Sample, sid).rejected
    assert ev.details["batch_id"] == b


def test_a_rejection_withdrawn_while_pending_lets_the_sample_in_with_its_batch(home, toy, people):
    from db.gate import gated_training_set
    from db.replay import replay, state_mismatches

    b = _batch(home, toy, n=3, memorized=(2,))
    with session_scope(immediate=True) as s:
        ids = sample_ids(s, b)
        reject_sample(s, ids[0], people["rex"], reason="misclick")
        reject_sample(s, ids[2], people["rex"], reason="copy of a training image")
        ev = restore_sample(s, ids[0], people["ada"], reason="rejected by mistake: the strokes are fine")
    assert (ev.action, ev.target_id, ev.actor, ev.details["batch_id"]) == ("restore_sample", ids[0], "ada", b)
    with session_scope() as s:
        assert not s.get(Sample, ids[0]).rejected and replay(s).rejected == {ids[2]} and state_mismatches(s) == []
    with session_scope(immediate=True) as s:  # a restored memorized sample would block the approval again
        restore_sample(s, ids[2], people["rex"], reason="checking")
    with pytest.raises(DecisionError, match="1 memorized sample"):
        with session_scope(immediate=True) as s:
            approve_batch(s, b, people["rex"])
    with session_scope(immediate=True) as s:
        reject_sample(s, ids[2], people["rex"], reason="copy after all")
        assert approve_batch(s, b, people["rex"]).details["rejected"] == 1
    with session_scope() as s:
        admitted = {e.sha256 for e in gated_training_set(s, "toy", 100.0, home=home).entries if e.source == "synthetic"}
        assert admitted == {s.get(Sample, i).sha256 for i in ids[:2]} and verify_chain(s).ok and state_mismatches(s) == []
    before = _events()
    for sid, message in ((ids[2], "which is approved: a rejection can be withdrawn only while its batch is pending"),
                         (ids[1], "is not rejected")):
        with pytest.raises(DecisionError, match=message):
            with session_scope(immediate=True) as s:
                restore_sample(s, sid, people["rex"], reason="again")
    with pytest.raises(DecisionError, match="reason is required"):
        with session_scope(immediate=True) as s:
            restore_sample(s, ids[2], people["rex"], reason=" ")
    assert _events() == before


def test_tag_untag_and_admin_taxonomy(home, toy, people):
    b = _batch(home, toy)
    with session_scope(immediate=True) as s:
        sid = sample_ids(s, b)[0]
        tag_sample(s, sid, "blur", people["rex"])
        add_tag(s, "halo", people["ada"], blocking=False, description="bright ring")
        tag_sample(s, sid, "halo", people["rex"], reason="faint")
    with pytest.raises(DecisionError, match="already has the tag 'blur'"):
        with session_scope(immediate=True) as s:
            tag_sample(s, sid, "blur", people["rex"])
    with pytest.raises(DecisionError, match="already exists"):
        with session_scope(immediate=True) as s:
            add_tag(s, "halo", people["ada"])
    with session_scope(immediate=True) as s:
        ev = untag_sample(s, sid, "blur", people["rex"], reason="it was fine")
        assert ev.action == "untag" and ev.details["tag"] == "blur"
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(SampleTag)) == 1
        actions = list(s.scalars(select(Event.action).order_by(Event.id)))
        assert actions[-4:] == ["tag", "add_tag", "tag", "untag"]
        assert verify_chain(s).ok
        # The log's pages named no tag: every tag row read "This sample shows the named artifact."
        assert [(e["action"], e["target"]) for e in views.recent_events(s, limit=4) if e["action"] != "add_tag"] == [
            ("untag", f"sample {sid}, tag 'blur'"), ("tag", f"sample {sid}, tag 'halo'"),
            ("tag", f"sample {sid}, tag 'blur'")]


def test_review_page_filters_sorts_and_carries_tags(home, toy, people):
    b = _batch(home, toy, n=30, memorized=(0, 7))
    with session_scope(immediate=True) as s:
        ids = sample_ids(s, b)
        tag_sample(s, ids[5], "blur", people["rex"])
        tag_sample(s, ids[5], "checkerboard", people["rex"])
    with session_scope() as s:
        rows, total = review_page(s, b, page=0, per_page=12)
        assert total == 30 and [r.sample.id for r in rows] == ids[:12]
        assert rows[5].tags == ["blur", "checkerboard"] and rows[4].tags == []
        assert set(rows[0].scores) >= {"class_confidence", "realism", "novelty", "nn_distance", "memorized"}
        rows, total = review_page(s, b, page=2, per_page=12)
        assert total == 30 and len(rows) == 6
        rows, _ = review_page(s, b, sort="nn_distance", descending=True, per_page=3)
        assert [r.sample.id for r in rows] == ids[::-1][:3]
        rows, total = review_page(s, b, memorized=True)
        assert total == 2 and {r.sample.id for r in rows} == {ids[0], ids[7]}
        rows, total = review_page(s, b, tag="blur")
        assert total == 1 and rows[0].sample.id == ids[5]
        _, total = review_page(s, b, min_confidence=0.9)
        assert total == sum(1 for i in range(30) if 0.5 + (i % 10) / 20 >= 0.9)
        with pytest.raises(DecisionError, match="cannot sort by"):
            review_page(s, b, sort="password_hash")


def test_bulk_reject_and_tag_are_one_event_each_and_all_or_nothing(home, toy, people):
    from db.review import reject_samples, tag_samples

    b = _batch(home, toy, n=6)
    with session_scope() as s:
        ids = sample_ids(s, b)
    with session_scope(immediate=True) as s:
        rejected = reject_samples(s, ids[:3], people["rex"], reason="smudged")
        tagged = tag_samples(s, ids[3:], "blur", people["rex"])
    assert len(rejected) == 3 and len(tagged) == 3 and rejected + tagged == sorted(rejected + tagged)
    before = _events()
    with pytest.raises(DecisionError, match=f"sample {ids[2]} is already rejected"):
        with session_scope(immediate=True) as s:
            reject_samples(s, [ids[4], ids[2]], people["rex"], reason="again")
    with pytest.raises(DecisionError, match=f"sample {ids[5]} already has the tag 'blur'"):
        with session_scope(immediate=True) as s:
            tag_samples(s, [ids[0], ids[5]], "blur", people["rex"])
    with pytest.raises(DecisionError, match="unknown sample 424242"):
        with session_scope(immediate=True) as s:
            tag_samples(s, [ids[0], 424242], "blur", people["rex"])
    assert _events() == before
    with session_scope() as s:
        assert [s.get(Sample, i).rejected for i in ids] == [True] * 3 + [False] * 3
        rows, _ = review_page(s, b)
        assert [r.tags for r in rows] == [[]] * 3 + [["blur"]] * 3
        events = {e.id: e for e in s.scalars(select(Event).where(Event.id.in_(rejected + tagged)))}
        assert [events[i].target_id for i in rejected + tagged] == ids
        assert verify_chain(s).ok


def test_an_admin_cannot_disable_their_own_account(people):
    from db.users import add_user, get_user, set_active

    with session_scope(immediate=True) as s:
        add_user(s, "bea", "bea-password", role="admin", by=people["ada"])
    with session_scope(immediate=True) as s, pytest.raises(DecisionError, match="cannot disable their own account"):
        set_active(s, "ada", False, by=people["ada"])
    with session_scope(immediate=True) as s:
        set_active(s, "ada", False, by=get_user(s, "bea"), reason="left")  # another admin may
    with session_scope() as s:
        assert not get_user(s, "ada").active
