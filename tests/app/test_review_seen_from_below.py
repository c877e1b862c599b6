"""The Review page as a reviewer scrolled to its batch buttons sees it: a batch decided there leaves the queue and
the page shows the next pending one, whose samples now fill the grid above. The picker that names it is at the top,
out of sight (in a browser at 1024 px, 3,800 px above the buttons), so a toast says which batch is shown now."""

from __future__ import annotations

from db.engine import session_scope
from tests.app.conftest import button, make_batch
from tests.app.test_review import review


def toasts(at) -> list[str]:
    return [t.value for t in at.toast]


def test_a_decided_batch_says_which_batch_the_page_shows_now(users, digits):
    b7, b9 = make_batch(digits, 7, 2), make_batch(digits, 9, 2)
    at = review(users["rita"], b9)
    button(at, "Approve batch").click().run()
    button(at, "Confirm approval").click().run()
    assert not at.exception
    assert at.selectbox(key="review_batch").value == b7
    # It read only "Batch 9 approved", over the grid of batch 7 at the reviewer's scroll position.
    assert f"Batch {b9} approved" in toasts(at)
    assert f"Now showing batch {b7} ({digits}, class 7): batch {b9} is no longer pending." in toasts(at)
    at.run()  # said once: a later rerun of the page does not repeat it
    assert not [t for t in toasts(at) if t.startswith("Now showing")]


def test_a_batch_a_colleague_decided_says_so_too(users, digits):
    from db.review import reject_batch
    from db.users import get_user
    from pages.review_queue import load_queue

    b7, b9 = make_batch(digits, 7, 2), make_batch(digits, 9, 2)
    at = review(users["rita"], b9)
    with session_scope(immediate=True) as session:
        reject_batch(session, b9, get_user(session, "ada"), "noise")
    load_queue.clear()  # the queue's 3 s cache has run out, as by the reviewer's next click
    at.toggle(key="review_desc").set_value(True).run()  # any click that runs the whole page
    assert not at.exception
    # The page switched to batch 7 without a word: the reviewer went on looking at another batch's samples.
    assert at.selectbox(key="review_batch").value == b7
    assert any(t.startswith(f"Now showing batch {b7} ") for t in toasts(at)), toasts(at)


def test_a_class_filter_that_hides_the_batch_says_nothing(users, digits):
    b7, b9 = make_batch(digits, 7, 2), make_batch(digits, 9, 2)
    at = review(users["rita"], b9)
    at.selectbox(key="review_class").set_value((digits, "7")).run()  # the reviewer's own choice, in sight
    assert not at.exception and at.selectbox(key="review_batch").value == b7
    assert toasts(at) == []


def test_the_last_batch_decided_leaves_no_batch_to_name(users, digits):
    batch = make_batch(digits, 7, 2)
    at = review(users["rita"], batch)
    at.text_input(key=f"batch_reject_reason_{batch}").input("blurry throughout").run()
    button(at, "Reject batch").click().run()
    assert not at.exception
    assert toasts(at) == [f"Batch {batch} rejected"]  # the page says "No batches waiting", in sight: nothing to add
