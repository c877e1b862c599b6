"""A sign-in an admin ended (a reset password, after a stolen session), or that its reviewer ended in another tab,
recorded one more decision: a button's callback runs before the page re-checks the sign-in."""

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Batch, Event
from db.users import get_user, set_password
from tests.app.conftest import PASSWORD, app_test, button, make_batch
from tests.app.test_sign_in_overview import sign_in


def test_a_click_after_the_sign_in_ended_records_nothing(users, digits):
    batch = make_batch(digits, 7, 3)
    at = sign_in(app_test(), "rita", PASSWORD)
    at.switch_page("pages/review.py")
    at.run()
    at.selectbox(key="review_batch").set_value(batch).run()
    at.text_input(key=f"batch_reject_reason_{batch}").input("collapse").run()
    with session_scope(immediate=True) as session:
        set_password(session, "rita", "a brand new pw", by=get_user(session, "ada"), reason="session stolen")
    button(at, "Reject batch").click().run()
    with session_scope() as session:
        assert session.get(Batch, batch).status == "pending"
        assert session.scalar(select(func.count()).where(Event.action == "reject")) == 0
    assert "user" not in at.session_state
