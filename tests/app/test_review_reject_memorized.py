"""Rejecting a batch's memorized samples in one decision on the Review page: a box under the "K memorized
sample(s) must be rejected" warning names them, one reason (prefilled, editable, required) goes to each, and the
page then shows the batch as approvable. Only the samples the box named are rejected, and none of them if a
colleague decided one meanwhile."""

from __future__ import annotations

import re

from sqlalchemy import select

from db.engine import session_scope
from db.models import Event, Sample
from tests.app.conftest import button, make_batch
from tests.app.test_review import review
from tests.app.test_review_two_reviewers import AT, as_ada

PREFILLED = "memorized: a near-copy of a training image"


def ids_of(batch: int) -> list[int]:
    with session_scope() as session:
        return list(session.scalars(select(Sample.id).where(Sample.batch_id == batch).order_by(Sample.id)))


def rejections() -> list[tuple]:
    with session_scope() as session:
        return [tuple(r) for r in session.execute(select(Event.actor, Event.target_id, Event.reason)
                                                  .where(Event.action == "reject_sample").order_by(Event.id))]


def open_box(at):
    button(at, "Reject the 3 memorized sample(s)…").click().run()
    assert not at.exception
    return at


def test_one_reason_rejects_every_memorized_sample_and_the_batch_becomes_approvable(users, digits):
    batch = make_batch(digits, 7, 5, memorized={0, 2, 3})
    ids = ids_of(batch)
    at = review(users["rita"], batch)
    assert button(at, "Approve batch").disabled
    open_box(at)
    assert [m.value for m in at.markdown if m.value.startswith("**Reject")] == [
        f"**Reject 3 memorized sample(s) of batch {batch}?** #{ids[0]}, #{ids[2]} and #{ids[3]}. Each is a near-copy "
        "of a training image and stays out of training; the decision log records one rejection per sample under "
        "your name, with this reason."]
    reason = at.text_input(key=f"batch_reject_memorized_reason_{batch}")
    assert reason.value == PREFILLED
    reason.input("  ").run()  # required, as every reason is
    button(at, "Reject 3 sample(s)").click().run()
    assert [e.value for e in at.error] == ["A reason is required to reject the memorized samples."]
    assert rejections() == []

    at.text_input(key=f"batch_reject_memorized_reason_{batch}").input("copies of training digits").run()
    button(at, "Reject 3 sample(s)").click().run()
    assert not at.exception
    assert rejections() == [("rita", i, "copies of training digits") for i in (ids[0], ids[2], ids[3])]
    assert [s.value for s in at.success] == [
        f"3 memorized sample(s) of batch {batch} rejected (#{ids[0]}, #{ids[2]} and #{ids[3]}) by rita. Nothing "
        "memorized blocks its approval now."]
    assert not [w for w in at.warning if "must be rejected" in w.value]  # the page shows the truth
    assert not button(at, "Approve batch").disabled
    assert at.selectbox(key="review_batch").options[0].endswith("· 5 samples · 3 rejected · pending")
    button(at, "Approve batch").click().run()
    assert any("2 of its 5 samples will be admitted" in m.value for m in at.markdown)


def test_a_colleagues_rejection_meanwhile_refuses_the_whole_decision(users, digits):
    from db.review import reject_sample

    batch = make_batch(digits, 7, 4, memorized={0, 1, 2})
    ids = ids_of(batch)
    at = open_box(review(users["rita"], batch))
    as_ada(lambda s, ada: reject_sample(s, ids[1], ada, "a copy"))
    button(at, "Reject 3 sample(s)").click().run()
    assert not at.exception
    refusal = [e.value for e in at.error]
    assert len(refusal) == 1 and re.fullmatch(
        f"sample {ids[1]} is already rejected \\(ada rejected it{AT}: “a copy”\\); nothing was recorded: look at "
        "the batch again. The box below names the memorized samples open now.", refusal[0]), refusal
    assert rejections() == [("ada", ids[1], "a copy")]  # all or nothing: none of rita's
    assert any(m.value.startswith(f"**Reject 2 memorized sample(s) of batch {batch}?** #{ids[0]} and #{ids[2]}.")
               for m in at.markdown)
    button(at, "Reject 2 sample(s)").click().run()
    assert sorted(rejections()) == sorted([("ada", ids[1], "a copy"), ("rita", ids[0], PREFILLED),
                                           ("rita", ids[2], PREFILLED)])


def test_a_sample_flagged_after_the_box_was_drawn_is_not_swept_in(users, digits):
    batch = make_batch(digits, 7, 5, memorized={0, 1, 2})
    ids = ids_of(batch)
    at = open_box(review(users["rita"], batch))
    with session_scope(immediate=True) as session:  # a rescoring flags one more while the box is open
        session.get(Sample, ids[4]).memorized = True
    button(at, "Reject 3 sample(s)").click().run()
    assert not at.exception
    assert [i for _, i, _ in rejections()] == ids[:3]
    assert [s.value for s in at.success] == [
        f"3 memorized sample(s) of batch {batch} rejected (#{ids[0]}, #{ids[1]} and #{ids[2]}) by rita. 1 more "
        f"sample(s) were flagged as memorized since the box was drawn (#{ids[4]}): open them before approving."]
    assert [w.value for w in at.warning if "must be rejected" in w.value] == [
        "1 memorized sample(s) must be rejected before this batch can be approved."]
    assert button(at, "Approve batch").disabled
