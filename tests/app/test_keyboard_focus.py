"""Where the keyboard's focus goes when a click takes away the control pressed: "Add tag" is disabled until another
tag is chosen, "Reject sample" gives way to "Restore sample", "Approve batch" to its confirmation and back. The browser
left the focus on the page's body (chromium, keyboard only): the next Tab started again from the sidebar. The page
draws a refocus (pages/reveal.py) naming the control that follows; what the browser does with it (after a key's press
only), tests/browser/test_refocus.py shows."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Sample
from tests.app.conftest import button, make_batch
from tests.app.test_review import components, open_sample, review

OPENED_PICK = '[class*="st-key-open_pick_"] [role="radio"][aria-checked="true"]'


def refocused(at) -> list[str]:
    return [json.loads(c.proto.json)["selector"] for c in components(at, "ganaug_refocus")]


def test_a_tag_a_rejection_and_a_cancelled_approval_hand_the_focus_on(users, digits):
    batch = make_batch(digits, 9, 3)
    with session_scope() as session:
        first = session.scalar(select(func.min(Sample.id)).where(Sample.batch_id == batch))
    at = open_sample(review(users["rita"], batch), first)
    assert refocused(at) == []  # nothing asked: the focus stays where the reviewer put it

    at.selectbox(key=f"tag_pick_{first}").set_value("blur").run()
    button(at, "Add tag").click().run()
    assert not at.exception and refocused(at) == [f".st-key-tag_pick_{first} input"]  # to tag it again
    at.run()
    assert refocused(at) == []  # once

    at.text_input(key=f"reject_reason_{first}").input("smeared strokes").run()
    button(at, "Reject sample").click().run()
    assert refocused(at) == [OPENED_PICK]  # its button, which now says "· rejected"

    button(at, "Approve batch").click().run()  # the box takes the focus itself (test_review.py)
    button(at, "Cancel").click().run()
    assert refocused(at) == [".st-key-approve_batch button"]  # back where the reviewer left off
