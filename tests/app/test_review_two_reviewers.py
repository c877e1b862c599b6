"""Two reviewers on one home: the Review page in one browser while a colleague decides in another (or from the
command line). A decision is checked against the database when it is recorded, never against what the page showed:
the one who came second gets one line naming the colleague's decision and its time, and the page shows the truth."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Batch, Event, Sample
from db.users import get_user
from tests.app.conftest import button, make_batch
from tests.app.test_review import review

AT = r" at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"


def as_ada(decide) -> None:
    """The colleague's decision, recorded as `ganaug review …` records it: no page of theirs clears this one's
    caches."""
    with session_scope(immediate=True) as session:
        decide(session, get_user(session, "ada"))


def events(action: str) -> list[tuple]:
    with session_scope() as session:
        return session.execute(select(Event.actor, Event.target_id).where(Event.action == action)).all()


def confirm_box(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Approve batch")]


def first_sample_opened(user: dict, digits, n: int):
    """A new pending batch of n samples of class 7, its first sample's id, and `user`'s Review page with it open."""
    batch = make_batch(digits, 7, n)
    with session_scope() as session:
        first = session.scalar(select(func.min(Sample.id)).where(Sample.batch_id == batch))
    at = review(user, batch)
    [p for p in at.get("button_group") if p.key.startswith("open_pick_")][0].set_value(first).run()
    return batch, first, at


def test_a_sample_rejected_by_a_colleague_first_names_them_and_the_page_catches_up(users, digits):
    from db.review import reject_sample

    batch, first, at = first_sample_opened(users["rita"], digits, 3)
    as_ada(lambda s, ada: reject_sample(s, first, ada, "smeared strokes"))
    at.text_input(key=f"reject_reason_{first}").input("a blob")  # typed and clicked in one go, as a browser sends it
    button(at, "Reject sample").click().run()
    assert not at.exception
    refusal = [e.value for e in at.error]
    assert len(refusal) == 1 and re.fullmatch(
        f"sample {first} is already rejected \\(ada rejected it{AT}: “smeared strokes”\\)", refusal[0]), refusal
    assert events("reject_sample") == [("ada", first)]  # one rejection, the colleague's
    assert [b for b in at.button if b.label == "Restore sample"]  # the page shows the sample as it is now …
    assert at.selectbox(key="review_batch").options[0].endswith("· 3 samples · 1 rejected · pending")  # its batch


def test_a_tag_retired_while_the_picker_offered_it_says_who_retired_it(users, digits):
    from db.tags import set_tag_active

    batch, first, at = first_sample_opened(users["rita"], digits, 2)
    at.selectbox(key=f"tag_pick_{first}").set_value("blur").run()
    as_ada(lambda s, ada: set_tag_active(s, "blur", False, ada, reason="merged into texture artifact"))
    button(at, "Add tag").click().run()
    assert not at.exception
    refusal = [e.value for e in at.error]
    assert len(refusal) == 1 and re.match(f"tag 'blur' is not in the taxonomy \\(it is retired; ada retired it{AT}: "
                                          "“merged into texture artifact”\\) \\(known: 'wrong class'",
                                          refusal[0]), refusal
    assert events("tag") == []
    assert "blur" not in at.selectbox(key=f"tag_pick_{first}").options  # the picker no longer offers it


def test_an_approval_confirmed_after_a_colleague_restored_a_sample_is_refused_and_shown_again(users, digits):
    from db.review import reject_sample, restore_sample

    batch = make_batch(digits, 7, 4)
    with session_scope() as session:
        first = session.scalar(select(func.min(Sample.id)).where(Sample.batch_id == batch))
    as_ada(lambda s, ada: reject_sample(s, first, ada, "smeared strokes"))
    at = review(users["rita"], batch)
    button(at, "Approve batch").click().run()
    assert "3 of its 4 samples will be admitted" in confirm_box(at)[0]
    as_ada(lambda s, ada: restore_sample(s, first, ada, "the strokes are fine"))
    button(at, "Confirm approval").click().run()  # what rita confirmed would now admit the sample she saw left out
    assert not at.exception
    assert events("approve") == []
    refusal = [e.value for e in at.error]
    assert len(refusal) == 1 and re.fullmatch(
        f"while you were confirming, ada restored sample {first} of batch {batch}{AT}: “the strokes are fine”; "
        "nothing was recorded: look at the batch again before approving. The box below says what approving admits "
        "now.", refusal[0]), refusal
    assert "4 of its 4 samples will be admitted" in confirm_box(at)[0]
    button(at, "Confirm approval").click().run()
    with session_scope() as session:
        assert session.get(Batch, batch).status == "approved"
    assert events("approve") == [("rita", batch)]


def test_two_reviewers_confirming_one_approval_record_it_once(users, digits):
    batch = make_batch(digits, 7, 2)
    ada, rita = review(users["ada"], batch), review(users["rita"], batch)
    for at in (ada, rita):
        button(at, "Approve batch").click().run()
    button(ada, "Confirm approval").click().run()
    button(rita, "Confirm approval").click().run()  # a moment later, on a page that still says "pending"
    assert not rita.exception
    assert events("approve") == [("ada", batch)]
    assert any(re.match(f"batch {batch} was approved by ada{AT} while you were looking at it; nothing was recorded",
                        e.value) for e in rita.error), [e.value for e in rita.error]
