"""The review page: paging, tagging, per-sample and batch decisions written at once, memorization block, stale pages,
revoking an approval, a queue that shows each decision at once."""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Batch, Event, Report, Sample, SampleTag
from ganaug_core.scoring import SCORING_VERSION
from tests.app.conftest import app_test, bomb_png, button, image_captions, make_batch


def review(user, batch_id):
    at = app_test(user, "review.py")
    at.selectbox(key="review_batch").set_value(batch_id).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def walk(node):
    """Every element and block below `node` (`at.main`, a block), depth-first, in page order."""
    for el in node.children.values():
        yield el
        if getattr(el, "children", None):
            yield from walk(el)


def images_in(at, key: str) -> list:
    """The image-list elements inside the block keyed `key`: "review_grid" holds the tiles (one element),
    "review_detail" the opened sample and its nearest real images."""
    blocks = [el for el in walk(at.main) if getattr(el, "key", None) == key]
    return [el for block in blocks for el in walk(block) if el.type == "image"]


def grid_images(at) -> list:
    """The grid's tiles (image protos); the opened sample's own images, in the box above the grid, are not among
    them."""
    return [img for el in images_in(at, "review_grid") for img in el.proto.imgs]


def images_shown(at) -> int:
    """Tiles in the grid."""
    return len(grid_images(at))


def open_sample(at, sample_id: int):
    [p for p in at.get("button_group") if p.key.startswith("open_pick_")][0].set_value(sample_id).run()
    assert at.session_state["review_open"] == sample_id
    return at


def first_sample_open(user: dict, batch: int):
    """The review page on `batch` with its first sample open; (the page, that sample's id)."""
    with session_scope() as session:
        first = session.scalar(select(func.min(Sample.id)).where(Sample.batch_id == batch))
    return open_sample(review(user, batch), first), first


def test_grid_pages_through_a_batch(users, digits):
    batch = make_batch(digits, 8, 30)
    at = review(users["rita"], batch)
    assert images_shown(at) == 30
    at.selectbox(key="review_per_page").set_value(24).run()
    assert images_shown(at) == 24
    button(at, "Next").click().run()
    assert images_shown(at) == 6
    assert any("page 2 of 2" in c.value for c in at.caption)
    at.selectbox(key="review_memorized").set_value("only memorized").run()  # nothing matches: an empty grid
    assert not at.exception and images_shown(at) == 0
    assert any("0 samples match" in c.value for c in at.caption)


def tiles(at) -> list[np.ndarray]:
    """The grid's tiles as RGB arrays, decoded from their data URIs."""
    import base64
    import io

    from PIL import Image

    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(img.url.split(",", 1)[1]))).convert("RGB"))
            for img in grid_images(at)]


def grey(tile: np.ndarray) -> bool:
    return bool((tile[..., 0] == tile[..., 1]).all() and (tile[..., 1] == tile[..., 2]).all())


def test_rejected_and_memorized_samples_are_marked_in_their_tiles(users, digits):
    batch = make_batch(digits, 9, 3, memorized={1})
    with session_scope() as session:
        plain, memorized, rejected = session.scalars(select(Sample.id).where(Sample.batch_id == batch)
                                                     .order_by(Sample.id)).all()
    at = review(users["rita"], batch)
    before = tiles(at)
    assert grey(before[0]) and grey(before[2])  # the samples are grayscale: nothing drawn on them
    assert tuple(before[1][0, 0]) == (231, 108, 0) and grey(before[1][40:72, 40:72])  # a frame, the image intact
    assert before[1][20:92, 20:92].min() < 100
    assert any("Dashed orange frame: memorized" in c.value for c in at.caption)

    open_sample(at, rejected)
    at.text_input(key=f"reject_reason_{rejected}").input("smeared strokes").run()
    button(at, "Reject sample").click().run()
    after = tiles(at)
    assert (after[0] == before[0]).all() and (after[1] == before[1]).all()
    assert tuple(after[2][0, 0]) == tuple(after[2][-1, -1]) == (214, 39, 40)  # a red frame …
    inside = after[2][8:-8, 8:-8]
    assert grey(inside) and inside.min() >= 140 and before[2][8:-8, 8:-8].min() < 100  # … round a greyed-out image
    assert any("Greyed out in a red frame: rejected" in c.value for c in at.caption)


def test_tag_and_reject_sample_are_written_at_once(users, digits):
    batch = make_batch(digits, 9, 6)
    at, first = first_sample_open(users["rita"], batch)
    at.selectbox(key=f"tag_pick_{first}").set_value("blur").run()
    button(at, "Add tag").click().run()
    assert not at.exception
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(SampleTag).where(SampleTag.sample_id == first)) == 1
        assert session.scalars(select(Event.actor).where(Event.action == "tag")).one() == "rita"
    assert any(caption.endswith("· blur") for caption in image_captions(at))

    at.selectbox(key=f"tag_pick_{first}").set_value("other").run()
    button(at, "Add tag").click().run()  # the free-form tag needs a reason
    assert any("needs a reason saying what the problem is" in e.value for e in at.error)
    at.text_input(key=f"tag_reason_{first}").input("a stray dot top left").run()
    button(at, "Add tag").click().run()
    assert not at.exception
    with session_scope() as session:
        assert session.scalars(select(Event.reason).where(Event.action == "tag").order_by(Event.id.desc())).first() == (
            "a stray dot top left")
    assert at.text_input(key=f"tag_reason_{first}").value == ""  # cleared once recorded

    button(at, "Reject sample").click().run()
    assert any("reason is required" in e.value for e in at.error)
    at.text_input(key=f"reject_reason_{first}").input("smeared strokes").run()
    button(at, "Reject sample").click().run()
    with session_scope() as session:
        assert session.get(Sample, first).rejected


def test_a_rejection_is_withdrawn_from_the_page_while_the_batch_is_pending(users, digits):
    batch = make_batch(digits, 9, 3)
    at, first = first_sample_open(users["rita"], batch)
    at.text_input(key=f"reject_reason_{first}").input("misclick").run()
    button(at, "Reject sample").click().run()
    assert at.selectbox(key="review_batch").options[0].endswith("· 3 samples · 1 rejected · pending")
    button(at, "Restore sample").click().run()  # a reason is required here too
    assert any("A reason is required to restore a sample." in e.value for e in at.error)
    at.text_input(key=f"restore_reason_{first}").input("the strokes are fine").run()
    button(at, "Restore sample").click().run()
    assert not at.exception
    with session_scope() as session:
        assert not session.get(Sample, first).rejected
        assert session.scalars(select(Event.action).where(Event.target_type == "sample", Event.target_id == first)
                               .order_by(Event.id)).all() == [
            "reject_sample", "restore_sample"]  # both stay in the log
    assert [t.value for t in at.toast] == [f"Sample #{first} restored: its rejection is withdrawn"]
    assert at.selectbox(key="review_batch").options[0].endswith("· 3 samples · pending")
    assert [b for b in at.button if b.label == "Reject sample"] and not [b for b in at.button if b.label == "Restore sample"]

    at.text_input(key=f"reject_reason_{first}").input("smudge after all").run()
    button(at, "Reject sample").click().run()
    approve_through_the_page(at, batch)
    assert not [b for b in at.button if b.label == "Restore sample"]  # an approval covered the batch without it


def test_memorized_sample_blocks_approval_until_rejected(users, digits):
    batch = make_batch(digits, 7, 4, memorized={0})
    at = review(users["rita"], batch)
    approve = button(at, "Approve batch")
    assert approve.disabled
    assert any("memorized sample(s) must be rejected" in w.value for w in at.warning)
    with session_scope() as session:
        memorized = session.scalars(select(Sample.id).where(Sample.batch_id == batch, Sample.memorized)).one()
    open_sample(at, memorized)
    at.text_input(key=f"reject_reason_{memorized}").input("copy of a training image").run()
    button(at, "Reject sample").click().run()
    assert not button(at, "Approve batch").disabled
    assert approve_through_the_page(at, batch)[:2] == ("rita", batch)

    # A rescore flags another sample of the approved batch: the gate leaves it out, and the page says so.
    with session_scope(immediate=True) as session:
        later = session.scalars(select(Sample.id).where(Sample.batch_id == batch, ~Sample.memorized)).first()
        session.get(Sample, later).memorized = True
    at = app_test(users["rita"], "review.py")
    at.toggle(key="review_show_all").set_value(True).run()
    at.selectbox(key="review_batch").set_value(batch).run()
    open_sample(at, later)
    assert [e.value for e in at.error if "after its batch was approved" in e.value] == [
        "Flagged as a near-copy of a training image after its batch was approved: it stays out of training all the "
        "same; reject it to record that decision."]


def approve_through_the_page(at, batch: int) -> tuple:
    """Approve batch, then Confirm approval; the approval event's (actor, target, reason, samples covered)."""
    button(at, "Approve batch").click().run()
    button(at, "Confirm approval").click().run()
    assert not at.exception
    with session_scope() as session:
        assert session.get(Batch, batch).status == "approved"
        approval = session.scalars(select(Event).where(Event.action == "approve")).one()
        return approval.actor, approval.target_id, approval.reason, approval.details["samples"]


def test_approving_takes_a_confirmation_that_says_what_enters_training(users, digits):
    from db.review import reject_sample, tag_sample
    from db.users import get_user

    batch = make_batch(digits, 7, 5)
    with session_scope(immediate=True) as session:
        first, second = session.scalars(select(Sample.id).where(Sample.batch_id == batch).order_by(Sample.id)).all()[:2]
        ada = get_user(session, "ada")
        reject_sample(session, first, ada, "smeared")
        tag_sample(session, second, "blur", ada)
    at = review(users["rita"], batch)
    approve = button(at, "Approve batch")
    assert approve.proto.shortcut == "shift+a"
    approve.click().run()  # Shift+A, or a click: the first step records nothing
    assert not at.exception and [t.value for t in at.toast] == [f"Approve batch {batch}? Enter confirms, Esc cancels."]
    # At 1024×768 the box, in half the page, ran five lines high and half below the window, "Confirm approval" cut to
    # "C…": it spans the page below the decision's columns, its buttons each as wide as its label, and the page
    # scrolls to it once drawn (out of sight of a Shift+A pressed above the grid, too).
    [box] = [el for el in walk(at.main) if getattr(el, "key", None) == "approve_confirmation"]
    assert not [el for c in at.columns for el in walk(c) if getattr(el, "key", None) == "approve_confirmation"]
    assert [el.key for el in walk(box) if el.type == "button"] == ["approve_confirm", "approve_cancel"]
    assert not [el for el in walk(box) if el.type == "column"]
    # … and its "Confirm approval" takes the focus, so that Enter presses it (a keyboard's and a screen reader's way)
    assert [json.loads(c.proto.json) for c in components(at, "ganaug_reveal")] == [
        {"box": "approve_confirmation", "label": f"Approve batch {batch}?", "focus": "approve_confirm"}]
    with session_scope() as session:
        assert session.get(Batch, batch).status == "pending"
        assert session.scalar(select(func.count()).where(Event.action == "approve")) == 0
    asked = [m.value for m in at.markdown if m.value.startswith(f"**Approve batch {batch}?**")]
    assert len(asked) == 1 and ("3 of its 5 samples will be admitted into the gated training set (1 rejected and 1 "
                                "with a blocking tag stay out)") in asked[0]
    assert not [b for b in at.button if b.label == "Approve batch"]
    # Enter is no shortcut of "Confirm approval": Streamlit heard it on whatever button had the focus, and Enter on
    # "Cancel" approved the batch (chromium, keyboard only). The focused "Confirm approval" takes Enter itself.
    assert button(at, "Confirm approval").proto.shortcut == "" and button(at, "Cancel").proto.shortcut == "escape"

    button(at, "Cancel").click().run()
    assert not [m for m in at.markdown if m.value.startswith("**Approve batch")]
    with session_scope() as session:
        assert session.get(Batch, batch).status == "pending"

    at.text_input(key=f"batch_approve_reason_{batch}").input("clean strokes").run()
    assert approve_through_the_page(at, batch) == ("rita", batch, "clean strokes", 5)
    assert [t.value for t in at.toast] == [f"Batch {batch} approved"]


def test_a_sample_file_changed_on_disk_is_shown_as_it_is_now_and_flagged(users, digits):
    from ganaug_core import paths
    from ganaug_core.imageio import save_png

    batch = make_batch(digits, 9, 3)
    with session_scope() as session:
        first, path = session.execute(select(Sample.id, Sample.path).where(Sample.batch_id == batch)
                                      .order_by(Sample.id)).first()
    at = review(users["rita"], batch)
    before = grid_images(at)
    assert not [e for e in at.error if "no longer match" in e.value]
    save_png(np.full((1, 16, 16), 255, dtype=np.uint8), paths.resolve(path))  # the file changes behind the log
    at = review(users["rita"], batch)  # a fresh session: the image cache is shared between sessions
    after = grid_images(at)
    assert after[0].url != before[0].url and [a.url for a in after[1:]] == [b.url for b in before[1:]]
    assert after[0].caption.startswith(f"#{first} · 9 · conf") and "FILE CHANGED" in after[0].caption
    assert "FILE CHANGED" not in after[1].caption
    assert [e.value for e in at.error if "no longer match" in e.value] == [
        f"1 sample file(s) on this page no longer match the sha256 recorded when they were generated (#{first}). What "
        "you see is not what was generated; the training gate leaves such files out whatever the decision. Find out "
        "how they changed before approving."]


def test_reject_batch_needs_a_reason(users, digits):
    batch = make_batch(digits, 7, 3)
    at = review(users["rita"], batch)
    button(at, "Reject batch").click().run()
    assert any("reason is required" in e.value for e in at.error)
    with session_scope() as session:
        assert session.get(Batch, batch).status == "pending"
    at.text_input(key=f"batch_reject_reason_{batch}").input("mode collapse: all samples alike").run()
    button(at, "Reject batch").click().run()
    with session_scope() as session:
        assert session.get(Batch, batch).status == "rejected"


def test_stale_page_gets_a_clear_message(users, digits):
    from db.review import reject_batch
    from db.users import get_user

    batch = make_batch(digits, 7, 3)
    at = review(users["rita"], batch)
    with session_scope(immediate=True) as session:  # another reviewer decides while rita looks at the page
        reject_batch(session, batch, get_user(session, "ada"), "blurry throughout")
    button(at, "Approve batch").click().run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any("was rejected by ada" in m and "nothing was recorded" in m for m in messages), messages
    with session_scope() as session:
        assert session.get(Batch, batch).status == "rejected"
        assert session.scalar(select(func.count()).where(Event.action == "approve")) == 0


def test_deleted_image_shows_placeholder_and_warning(users, digits):
    from db.engine import home

    batch = make_batch(digits, 9, 2)
    with session_scope() as session:
        path = session.scalars(select(Sample.path).where(Sample.batch_id == batch).order_by(Sample.id)).first()
    (home() / path).unlink()
    at = review(users["rita"], batch)
    assert images_shown(at) == 2
    assert any("image file missing or unreadable" in w.value for w in at.warning)


def test_a_batch_of_a_class_its_run_flagged_as_collapsed_says_so(users, digits):
    import json

    from db.engine import home

    # Not scored: a scored batch's verdict says it among its findings (tests/app/test_review_verdict.py).
    flagged, healthy = make_batch(digits, 9, 2, scored=False), make_batch(digits, 8, 2, scored=False)  # one run
    stats = home() / "runs" / "test" / "stats.jsonl"
    stats.parent.mkdir(parents=True, exist_ok=True)
    lines = [{"step": 250, "diversity": {"8": 0.3, "9": 0.2}, "collapsed": [8, 9]},
             {"step": 260, "loss_d": 1.0},  # a plain line after the reading: the reading still counts
             {"step": 500, "diversity": {"8": 0.7, "9": 0.41}, "collapsed": [9]}]
    stats.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"step": 510, "divers')  # mid-append
    warnings = [w.value for w in review(users["rita"], flagged).warning if "diversity monitor" in w.value]
    assert len(warnings) == 1 and "class 9 flagged" in warnings[0] and "spread is 0.41 of real" in warnings[0]
    assert not [w.value for w in review(users["rita"], healthy).warning if "diversity monitor" in w.value]

    # A run that ended young (its last reading under 500 steps) makes every class alike: a note, not a warning.
    import streamlit as st

    stats.write_text("".join(json.dumps(line) + "\n" for line in lines[:2]))
    st.cache_data.clear()  # the page reads a run's stats at most once a minute
    at = review(users["rita"], flagged)
    assert not [w.value for w in at.warning if "diversity monitor" in w.value]
    assert [i.value for i in at.info if "trained only 250 steps" in i.value and "still vary little (0.20 of real)"
            in i.value]


def test_queue_filters_by_class(users, digits):
    make_batch(digits, 7, 2)
    b9 = make_batch(digits, 9, 2)
    at = app_test(users["rita"], "review.py")
    assert len(at.selectbox(key="review_batch").options) == 2
    at.selectbox(key="review_class").set_value(("digits", "9")).run()
    options = at.selectbox(key="review_batch").options
    assert len(options) == 1 and options[0].startswith(f"batch {b9} ")


def test_an_approved_batch_is_revoked_with_a_reason(users, digits):
    from db.review import approve_batch
    from db.users import get_user

    batch = make_batch(digits, 7, 3)
    with session_scope(immediate=True) as session:
        approve_batch(session, batch, get_user(session, "ada"), "looks right")
    at = app_test(users["rita"], "review.py")
    at.toggle(key="review_show_all").set_value(True).run()
    at.selectbox(key="review_batch").set_value(batch).run()
    assert not [b for b in at.button if b.label in ("Approve batch", "Reject batch")]
    button(at, "Revoke approval").click().run()
    assert any("reason is required to revoke" in e.value for e in at.error)
    at.text_input(key=f"batch_revoke_reason_{batch}").input("strokes smeared on a closer look").run()
    button(at, "Revoke approval").click().run()
    assert not at.exception
    with session_scope() as session:
        assert session.get(Batch, batch).status == "revoked"
        revoke = session.scalars(select(Event).where(Event.action == "revoke")).one()
        assert (revoke.actor, revoke.target_id, revoke.reason) == ("rita", batch, "strokes smeared on a closer look")
    assert any(f"Batch {batch} approval revoked by rita" in s.value for s in at.success)
    assert at.selectbox(key="review_batch").value == batch
    assert [o for o in at.selectbox(key="review_batch").options if o.startswith(f"batch {batch} ")][0].endswith("· revoked")
    assert at.selectbox(key="review_batch").proto.raw_value.endswith("· revoked")  # the text the browser shows
    assert not [b for b in at.button if b.label == "Revoke approval"]


def test_an_empty_queue_says_how_many_decided_batches_the_toggle_hides(users, digits):
    # "No batches waiting for review" while two approved batches existed: the user thought they were lost.
    from db.review import approve_batch, reject_batch
    from db.users import get_user

    approved, rejected = make_batch(digits, 7, 3), make_batch(digits, 8, 3)
    with session_scope(immediate=True) as session:
        approve_batch(session, approved, get_user(session, "ada"), "looks right")
        reject_batch(session, rejected, get_user(session, "ada"), "smeared")
    at = app_test(users["rita"], "review.py")
    assert [i.value for i in at.info] == [
        "No batches waiting for review; 2 decided (1 approved, 1 rejected) are hidden. Turn on “Show decided batches "
        "too” to open them, or launch a run on the Generate page for new ones."]
    at.toggle(key="review_show_all").set_value(True).run()
    assert not [i for i in at.info if "No batches waiting" in i.value]
    assert len(at.selectbox(key="review_batch").options) == 2


def test_the_queue_shows_a_decision_at_once(users, digits):
    b7, b9 = make_batch(digits, 7, 2), make_batch(digits, 9, 2)
    at = review(users["rita"], b9)
    at.text_input(key=f"batch_reject_reason_{b9}").input("blurry throughout").run()
    button(at, "Reject batch").click().run()  # well within the queue's 3 s cache
    options = at.selectbox(key="review_batch").options
    assert len(options) == 1 and options[0].startswith(f"batch {b7} "), options
    # The next batch starts with an empty reason: the last one's never carries over to it.
    assert at.text_input(key=f"batch_reject_reason_{b7}").value == ""
    assert [m.value for m in at.success] == [f"Batch {b9} rejected by rita. The queue now shows the next pending batch; "
                                             "switch on “Show decided batches too” to see this one."]


def test_the_batch_label_follows_a_rejected_sample(users, digits):
    batch = make_batch(digits, 7, 4, memorized={0})
    with session_scope() as session:
        memorized = session.scalar(select(func.min(Sample.id)).where(Sample.batch_id == batch))
    at = open_sample(review(users["rita"], batch), memorized)
    label = at.selectbox(key="review_batch").options[0]
    assert label.endswith("· 4 samples · pending · 1 memorized"), label
    at.text_input(key=f"reject_reason_{memorized}").input("copy of a training image").run()
    button(at, "Reject sample").click().run()  # a decision inside the batch's fragment
    assert not at.exception
    picker = at.selectbox(key="review_batch")
    assert picker.options[0].endswith("· 4 samples · 1 rejected · pending"), picker.options
    # The browser keeps showing the text the batch had when it was chosen unless the page sends the new one.
    assert picker.proto.set_value and picker.proto.raw_value == picker.options[0]
    assert [t.value for t in at.toast] == [f"Sample #{memorized} rejected"]
    assert at.session_state["review_open"] == memorized


def test_decision_feedback_logs_no_fragment_warning(users, digits, caplog):
    batch = make_batch(digits, 9, 3)
    at, first = first_sample_open(users["rita"], batch)
    at.selectbox(key=f"tag_pick_{first}").set_value("blur").run()
    button(at, "Add tag").click().run()
    assert [t.value for t in at.toast] == [f"#{first} tagged blur"]
    at.text_input(key=f"batch_reject_reason_{batch}").input("blurry throughout").run()
    button(at, "Reject batch").click().run()
    assert not at.exception
    assert [t.value for t in at.toast] == [f"Batch {batch} rejected"]
    assert "A fragment rerun was triggered with a callback" not in caplog.text


def test_a_decompression_bomb_png_shows_the_placeholder(users, digits):
    from db.engine import home

    batch = make_batch(digits, 9, 2)
    with session_scope() as session:
        path = session.scalars(select(Sample.path).where(Sample.batch_id == batch).order_by(Sample.id)).first()
    bomb_png(home() / path)  # its header claims 400 million pixels: Pillow refuses it while opening
    at = review(users["rita"], batch)
    assert images_shown(at) == 2
    assert any(path in w.value for w in at.warning if "image file missing or unreadable" in w.value)


def test_an_unscored_batch_is_scored_from_the_page_and_a_failed_scoring_can_be_retried(users, digits):
    import shutil

    from db.models import Job
    from ganaug import evaluation
    from ganaug_core import paths
    from ganaug.worker import execute_job

    batch = make_batch(digits, 7, 6, scored=False)
    evaluation.ensure_feature_extractor(digits, steps=20)  # a short extractor; scoring reuses it
    with session_scope() as session:
        first = paths.resolve(session.scalars(select(Sample.path).where(Sample.batch_id == batch).order_by(Sample.id)).first())
    aside = first.with_suffix(".aside")
    shutil.move(first, aside)  # the first scoring fails: a sample file is missing

    at = review(users["rita"], batch)
    assert button(at, "Approve batch").disabled
    button(at, "Compute scores").click().run()
    assert not at.exception
    assert not [b for b in at.button if b.label == "Compute scores"]  # its progress shows instead
    assert any("Scoring job" in p.proto.text and "queued" in p.proto.text for p in at.get("progress"))
    at.run()
    with session_scope() as session:
        jobs = session.scalars(select(Job)).all()
        assert [(j.kind, j.params, j.requested_by) for j in jobs] == [("evaluate", {"batch_id": batch}, users["rita"]["id"])]
        failing = jobs[0].id
    assert execute_job(failing) == "failed"

    at.run()
    assert any(f"Scoring job {failing} failed" in e.value for e in at.error)
    shutil.move(aside, first)
    button(at, "Compute scores").click().run()  # a retry is a new job
    with session_scope() as session:
        retry = session.scalars(select(Job.id).where(Job.id != failing)).one()
    assert execute_job(retry) == "done"

    at.run()
    assert not at.exception
    assert not [b for b in at.button if b.label == "Compute scores"]
    assert not any("not computed yet" in w.value for w in at.warning)
    with session_scope() as session:
        assert session.get(Batch, batch).scores_computed
        assert session.scalar(select(func.count()).where(Sample.batch_id == batch, Sample.realism.is_(None))) == 0
        # The scoring job measured the batch as `ganaug evaluate batch` does: its metrics are the Evaluate page's.
        [metrics] = session.scalars(select(Report).where(Report.kind == "batch_metrics")).all()
        assert metrics.summary["batch"] == batch
        assert session.get(Batch, batch).scoring_version == SCORING_VERSION  # today's: nothing said (below)
        assert not any("older" in c.value for c in at.caption)
        session.get(Batch, batch).scoring_version = None  # as a batch scored before versions were recorded reads

    at.run()
    button(at, "Compute scores again").click().run()  # it scores it again, over the stored scores
    with session_scope() as session:
        again = session.scalars(select(Job).where(Job.id.not_in((failing, retry)))).one()
        assert again.params == {"batch_id": batch, "rescore": True}
    assert execute_job(again.id) == "done"
    at.run()
    assert not any("older" in c.value for c in at.caption) and not at.exception
    with session_scope() as session:
        assert session.get(Batch, batch).scoring_version == SCORING_VERSION


def test_a_batch_scored_by_an_older_check_says_so_beside_its_scores(users, digits):
    """A reviewer approving on a memorization flag from an older, weaker copy check could not tell."""
    from db.models import Job
    from db.review import approve_batch
    from db.users import get_user

    unknown, older = make_batch(digits, 7, 3, scoring_version=None), make_batch(digits, 8, 3, scoring_version=0)
    today = make_batch(digits, 9, 3)
    with session_scope(immediate=True) as session:  # decided: no button, the command that scores it again
        approve_batch(session, older, get_user(session, "rita"))
    at = app_test(users["rita"], "review.py")
    at.toggle(key="review_show_all").set_value(True).run()  # one page for all three: each run takes a while
    at.selectbox(key="review_batch").set_value(unknown).run()
    assert [c.value for c in at.caption if "older" in c.value] == [
        f"Scored by an older check (before versions were recorded; now version {SCORING_VERSION}): Compute scores "
        "again for today's scores and memorization flags."]
    assert not button(at, "Approve batch").disabled  # approving stays the reviewer's decision
    button(at, "Compute scores again").click().run()
    with session_scope() as session:
        assert [(j.kind, j.params) for j in session.scalars(select(Job))] == [
            ("evaluate", {"batch_id": unknown, "rescore": True})]
    assert any("Scoring job" in p.proto.text for p in at.get("progress"))

    at.selectbox(key="review_batch").set_value(older).run()
    assert [c.value for c in at.caption if "older" in c.value] == [
        f"Scored by an older check (version 0; now version {SCORING_VERSION}): `ganaug evaluate batch {older} "
        "--rescore` computes scores again."]
    assert not [b for b in at.button if "Compute" in b.label]
    at.selectbox(key="review_batch").set_value(today).run()
    assert not [c for c in at.caption if "older" in c.value] and not [b for b in at.button if "Compute" in b.label]

def test_a_refusal_is_also_a_toast(users, digits):
    """The message above the grid is out of sight of a button clicked below it."""
    batch = make_batch(digits, 7, 3)
    at = review(users["rita"], batch)
    button(at, "Reject batch").click().run()
    assert [t.value for t in at.toast] == ["A reason is required to reject a batch."]


def box_controls(at) -> list:
    """The opened sample's controls column, in page order: (element type, its key or its text)."""
    [box] = [el for el in walk(at.main) if getattr(el, "key", None) == "review_detail"]
    act = [el for el in walk(box) if el.type == "column"][1]
    return [(el.type, getattr(el, "key", None) or getattr(el, "value", None)) for el in walk(act)
            if el.type in ("button", "error", "info")]


def test_an_opened_samples_refusal_is_said_in_its_box_above_the_button_not_in_a_toast(users, digits):
    """At 1024 px the page scrolls to the opened sample's box; a refused "Reject sample" was said above the grid,
    out of sight, and in a toast that covered the top of the box for 4 s: nothing readable at once."""
    from db.review import reject_sample
    from db.users import get_user

    batch = make_batch(digits, 7, 3)
    at, first = first_sample_open(users["rita"], batch)
    button(at, "Reject sample").click().run()
    assert [t.value for t in at.toast] == []
    controls = box_controls(at)
    said = ("error", "A reason is required to reject a sample.")
    assert controls[controls.index(said) + 1] == ("button", f"reject_sample_{first}")  # just above it
    assert [e.value for e in at.error].count(said[1]) == 1  # said once, not above the grid too
    at.run()
    assert said not in box_controls(at)  # said once: gone with the next click

    # A colleague rejected it first: the box now shows the sample rejected, and says why this click recorded nothing
    at.text_input(key=f"reject_reason_{first}").input("smeared")
    with session_scope(immediate=True) as session:
        reject_sample(session, first, get_user(session, "ada"), "blurred")
    button(at, "Reject sample").click().run()
    assert [t.value for t in at.toast] == []
    errors = [value for kind, value in box_controls(at) if kind == "error"]
    assert len(errors) == 1 and "ada" in errors[0], box_controls(at)


def test_a_refusal_of_a_sample_no_longer_shown_is_said_above_and_as_a_toast(users, digits):
    # A colleague rejected the whole batch meanwhile: the page moves on and shows no box to say it in.
    from db.review import reject_batch
    from db.users import get_user

    batch = make_batch(digits, 7, 3)
    at, first = first_sample_open(users["rita"], batch)
    at.text_input(key=f"reject_reason_{first}").input("smeared")
    with session_scope(immediate=True) as session:
        reject_batch(session, batch, get_user(session, "ada"), "off-class")
    button(at, "Reject sample").click().run()
    assert not at.exception
    [said] = [e.value for e in at.error]
    assert [t.value for t in at.toast] == [said] and f"batch {batch}" in said, said
    assert "review_sample_flash" not in at.session_state


def test_a_rejected_memorized_sample_no_longer_asks_to_be_rejected(users, digits):
    batch = make_batch(digits, 7, 3, memorized={0})
    with session_scope() as session:
        memorized = session.scalar(select(func.min(Sample.id)).where(Sample.batch_id == batch))
    at = open_sample(review(users["rita"], batch), memorized)
    assert [e.value for e in at.error if "near-copy" in e.value]
    at.text_input(key=f"reject_reason_{memorized}").input("copy of a training image").run()
    button(at, "Reject sample").click().run()
    assert not [e.value for e in at.error if "near-copy" in e.value]
    assert any("rejected, so it no longer blocks the approval" in c.value for c in at.caption)


def test_the_batch_picker_catches_up_with_another_reviewers_decision(users, digits):
    from db.review import reject_batch
    from db.users import get_user

    b7, b9 = make_batch(digits, 7, 2), make_batch(digits, 9, 2)
    at = review(users["rita"], b9)
    with session_scope(immediate=True) as session:
        reject_batch(session, b9, get_user(session, "ada"), "blurry throughout")
    button(at, "Approve batch").click().run()  # within the queue's 3 s cache
    assert not at.exception
    picker = at.selectbox(key="review_batch")
    assert [o for o in picker.options if o.startswith(f"batch {b9} ")] == [], picker.options  # no longer "pending"
    assert picker.value == b7
    assert any(f"batch {b9} was rejected by ada" in e.value and "left the queue of pending batches" in e.value
               for e in at.error), [e.value for e in at.error]


def components(at, name: str) -> list:
    """The page's custom components named `name` (the tile clicks, the reveal): no widget AppTest can drive, but
    what the browser gets is here."""
    from streamlit.testing.v1.element_tree import UnknownElement

    return [el for el in walk(at._tree) if isinstance(el, UnknownElement) and el.type == "bidi_component"
            and el.proto.component_name.endswith(name)]


def test_the_tile_click_component_gets_the_grids_ids_in_tile_order(users, digits):
    batch = make_batch(digits, 7, 5)
    at = review(users["rita"], batch)
    ids = [int(c.split(" ")[0].lstrip("#")) for c in image_captions(at)[:5]]

    [component] = components(at, "ganaug_tile_clicks")
    data = json.loads(component.proto.json)
    assert data == {"grid": "review_grid", "ids": ids}  # a click on tile i names ids[i] (the browser test clicks one)


def test_the_opened_sample_is_a_box_between_its_picker_and_the_grid(users, digits):
    """In a third of the page beside the grid, 1024 px with the sidebar open (a 564-px page) left the opened sample
    180 px: its nearest real images stood one above the other and "Reject sample" sat 1,500 px below it. It is a
    box across the page, between the picker that opens it and the grid, its controls beside it (the browser test
    checks "Reject sample" is in sight at 1024 px)."""
    batch = make_batch(digits, 7, 3)
    at, first = first_sample_open(users["rita"], batch)

    keys = [getattr(el, "key", None) for el in walk(at.main)]
    assert (keys.index(f"open_pick_{batch}_0_48") < keys.index("review_detail") < keys.index("review_grid")
            < keys.index("reject_batch"))
    [box] = [el for el in walk(at.main) if getattr(el, "key", None) == "review_detail"]
    [look, act] = [el for el in walk(box) if el.type == "column"]  # the sample beside its controls
    assert [el.type for el in walk(look)] == ["image", "caption"]
    assert {f"tag_pick_{first}", f"tag_add_{first}", f"reject_sample_{first}"} <= {getattr(el, "key", None)
                                                                                 for el in walk(act)}
    images = [el for el in walk(box) if el.type == "image"]  # below both: the nearest real images, in one strip
    assert len(images) == 2 and images[1].proto.imgs[0].caption.startswith("real #")


def test_the_opened_sample_shows_its_nearest_real_images_in_one_strip(users, digits):
    from db.models import RealImage
    from ganaug_core import paths

    batch = make_batch(digits, 7, 3)
    at, first = first_sample_open(users["rita"], batch)
    with session_scope() as session:
        nn_ids = session.get(Sample, first).nn_real_ids
        gone = session.get(RealImage, nn_ids[1]).path
        classes = [str(session.get(RealImage, i).class_index) for i in nn_ids]  # the digits' names are their digits
    assert classes[0] != "7"  # neighbours of another class than the sample's: the caption must say whose they are
    strips = [el for el in at.get("image") if el.proto.imgs and el.proto.imgs[0].caption.startswith("real #")]
    assert len(strips) == 1  # one element, however many neighbours: tiles in a row, not a column each
    captions = [img.caption for img in strips[0].proto.imgs]
    assert captions[0] == f"real #{nn_ids[0]} · {classes[0]} · d=0.50"  # nearest first, at the recorded distance
    assert captions[1:] == [f"real #{i} · {c}" for i, c in zip(nn_ids[1:], classes[1:])]
    assert not [w for w in at.warning if "missing or unreadable" in w.value]  # (its realism below 1 is, above the grid)

    (paths.home() / gone).unlink()  # a real image gone from disk: a placeholder in its place, and a warning naming it
    at.run()
    strip = [el for el in at.get("image") if el.proto.imgs and el.proto.imgs[0].caption.startswith("real #")][0]
    assert len(strip.proto.imgs) == len(nn_ids)
    assert any(gone in w.value for w in at.warning)


def _scoring_job(batch: int, user_id: int, status: str = "queued") -> int:
    from db.jobs import claim_job, submit_job

    with session_scope(immediate=True) as session:
        job = submit_job(session, "evaluate", {"batch_id": batch}, f"score-{batch}", requested_by=user_id).id
        if status == "running":
            claim_job(session, job, 1)
    return job


def test_a_queued_scoring_says_what_it_waits_for_and_can_be_cancelled(users, digits, home):
    # It showed a bar stuck at "queued", with no word of the job ahead (or of no worker at all) and no Cancel.
    from db.jobs import claim_job, submit_job
    from db.models import Job

    batch = make_batch(digits, 7, 4, scored=False)
    with session_scope(immediate=True) as session:
        ahead = submit_job(session, "train_generate", {"dataset": digits}, "r", requested_by=users["ada"]["id"]).id
        claim_job(session, ahead, 1)  # a worker is alive (its heartbeat is fresh), and busy
    at = review(users["rita"], batch)
    button(at, "Compute scores").click().run()
    assert not at.exception
    with session_scope() as session:
        job = session.scalars(select(Job.id).where(Job.kind == "evaluate")).one()
    assert any(c.value.startswith(f"Queued behind job {ahead}: the worker runs one job at a time") for c in at.caption)
    assert any(c.value.startswith("Launched by rita at") for c in at.caption)
    button(at, "Cancel").click().run()
    assert not at.exception
    with session_scope() as session:
        assert session.get(Job, job).status == "cancelled"
    at.run()
    assert any(c.value.startswith(f"Scoring job {job} was cancelled. Launched by rita") for c in at.caption)
    assert button(at, "Compute scores")  # it can be queued again


def test_a_running_scoring_can_be_cancelled_and_says_what_it_left(users, digits):
    # Cancel was offered only while the job was queued: the scoring handler used to ignore the stop.
    from db.jobs import cancel_job, claim_job
    from db.models import Job

    batch = make_batch(digits, 7, 4, scored=False)
    at = review(users["rita"], batch)
    button(at, "Compute scores").click().run()
    with session_scope(immediate=True) as session:
        job = session.scalars(select(Job.id).where(Job.kind == "evaluate")).one()
        claim_job(session, job, 1)
    at.run()
    button(at, "Cancel").click().run()
    assert not at.exception
    assert any(c.value.startswith("Cancel requested by rita; the worker stops before its next stage") for c in at.caption)
    with session_scope(immediate=True) as session:
        assert session.get(Job, job).cancel_requested
        cancel_job(session, job, f"cancelled on request: batch {batch} was not scored: none of its scores were stored")
    at.run()
    assert any(c.value.startswith(f"Scoring job {job} was cancelled.") for c in at.caption)
    assert f"cancelled on request: batch {batch} was not scored: none of its scores were stored" in [
        c.value for c in at.caption]


def test_a_failed_scoring_shows_one_line_and_its_details_folded(users, digits):
    from db.jobs import fail_job

    batch = make_batch(digits, 7, 4, scored=False)
    job = _scoring_job(batch, users["rita"]["id"], "running")
    with session_scope(immediate=True) as session:
        fail_job(session, job, "sample file missing: x.png\n\nTraceback (most recent call last):\n  File \"x\"")
    at = review(users["rita"], batch)
    assert not at.exception
    assert [e.value for e in at.error] == [f"Scoring job {job} failed: sample file missing: x.png"]
    assert [e.label for e in at.expander] == ["Details (for a bug report)"]


def test_a_scoring_whose_worker_died_is_marked_failed_by_the_page(users, digits):
    import datetime as dt

    from db.models import Job

    batch = make_batch(digits, 7, 4, scored=False)
    job = _scoring_job(batch, users["rita"]["id"], "running")
    with session_scope(immediate=True) as session:
        session.get(Job, job).heartbeat_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
    at = review(users["rita"], batch)  # the bar stayed on "running" for good, and no button to retry
    assert not at.exception
    assert any(f"Scoring job {job} failed" in e.value and "stopped sending heartbeats" in e.value for e in at.error)
    assert button(at, "Compute scores")


def test_a_reload_keeps_the_batch_it_was_on(users, digits):
    # A reload (a new session) opened the queue's first batch: a reviewer watching a batch being scored lost it.
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT, TIMEOUT

    older, newer = make_batch(digits, 7, 2), make_batch(digits, 8, 2)  # the queue lists the newer first
    at = review(users["rita"], older)
    assert at.query_params["batch"] == str(older)  # the address names the batch shown
    reloaded = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    reloaded.session_state["user"] = users["rita"]
    reloaded.query_params["batch"] = str(older)
    reloaded.switch_page("pages/review.py")
    reloaded.run()
    assert not reloaded.exception
    assert reloaded.selectbox(key="review_batch").value == older
    assert app_test(users["rita"], "review.py").selectbox(key="review_batch").value == newer  # no address


def _colour_dataset(tmp_path, side: int) -> str:
    """A two-class dataset of side×side colour images, ingested at that side."""
    from PIL import Image

    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    rng = np.random.default_rng(1)
    for name in ("crack", "ok"):
        (tmp_path / "parts" / name).mkdir(parents=True)
        for i in range(3):
            pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "parts" / name / f"{i}.png")
    ingest_dataset(str(tmp_path / "parts"), "parts", IngestOptions(resolution=side, workers=1))
    return "parts"


def _colour_samples(batch: int, side: int) -> list[np.ndarray]:
    """Give the batch's samples colour pixels (HWC), recorded with their sha256, as a colour run would."""
    from ganaug_core import paths
    from ganaug_core.imageio import save_png

    rng = np.random.default_rng(2)
    out = []
    with session_scope() as session:
        for s in session.scalars(select(Sample).where(Sample.batch_id == batch).order_by(Sample.id)):
            chw = rng.integers(0, 256, (3, side, side), dtype=np.uint8)
            s.sha256 = save_png(chw, paths.resolve(s.path))
            out.append(chw.transpose(1, 2, 0))
    return out


def test_a_64px_colour_batch_is_drawn_at_whole_multiples_of_its_side(users, digits, tmp_path):
    # Drawn 112, 160 and 96 px wide by nearest neighbour, a 64² sample had every other pixel row and column doubled
    # (1.75×, 2.5×, 1.5×): a regular pattern that reads as the generator's checkerboard artifact.
    import base64
    import io

    from PIL import Image

    from db.models import RealImage
    from ganaug_core import paths
    from ganaug_core.imageio import read_png

    dataset = _colour_dataset(tmp_path, 64)
    batch = make_batch(dataset, 0, 3)
    samples = _colour_samples(batch, 64)
    at, first = first_sample_open(users["rita"], batch)
    shown = tiles(at)
    assert [t.shape for t in shown] == [(128, 128, 3)] * 3
    assert all((t[::2, ::2] == s).all() and (t[1::2, 1::2] == s).all() for t, s in zip(shown, samples))
    detail = [(np.asarray(Image.open(io.BytesIO(base64.b64decode(img.url.split(",", 1)[1])))), img.caption)
              for element in images_in(at, "review_detail") for img in element.proto.imgs]
    opened, *reals = detail
    assert opened[0].shape == (192, 192, 3) and (opened[0][::3, ::3] == samples[0]).all()  # 3×: 160 px asked
    assert len(reals) == 3 and all(im.shape == (128, 128, 3) for im, _ in reals)
    with session_scope() as session:
        real_id = int(reals[0][1].split("#")[1].split(" ")[0])
        real = read_png(paths.resolve(session.get(RealImage, real_id).path)).transpose(1, 2, 0)
    assert (reals[0][0][1::2, 1::2] == real).all()  # every pixel of the real image, each drawn 2×2

