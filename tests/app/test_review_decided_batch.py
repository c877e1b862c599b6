"""A decided batch opened on the Review page (with "Show decided batches too") offers only what can still be done to
it: a revoked batch's sample offered "Reject sample", which every click had refused ("none of its samples can be used
anyway"), and a decided batch's page named Shift+A, which approves nothing there."""

from __future__ import annotations

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Sample
from tests.app.conftest import app_test, approved_batch, make_batch
from tests.app.test_review import open_sample


def keys_said(at) -> str:
    [said] = [c.value for c in at.caption if "keys:" in c.value]
    return said


def test_a_revoked_batch_offers_no_sample_rejection_and_no_approve_key(users, digits):
    from db.review import revoke_batch
    from db.users import get_user

    revoked = approved_batch(digits, 7, 2, seed=1)
    with session_scope(immediate=True) as session:
        revoke_batch(session, revoked, get_user(session, "ada"), "strokes smeared")
        first = session.scalar(select(func.min(Sample.id)).where(Sample.batch_id == revoked))
    make_batch(digits, 9, 1, seed=2)
    at = app_test(users["rita"], "review.py")
    assert "Shift+A approve" in keys_said(at)  # a pending batch: its "Approve batch" button takes the key

    at.toggle(key="review_show_all").set_value(True).run()
    at.selectbox(key="review_batch").set_value(revoked).run()
    assert keys_said(at).endswith("keys: ← → pages")
    open_sample(at, first)
    assert not [b for b in at.button if b.label == "Reject sample"]
    assert "Its batch is revoked: none of its samples is used, so none is rejected one by one." in [
        c.value for c in at.caption]
