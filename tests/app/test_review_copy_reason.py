"""A memorized sample's detail on the Review page says why it was flagged and shows the training images it matched
beside it: a blend, or a shifted or mirrored copy, does not look like its source at a glance."""

from __future__ import annotations

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Sample
from tests.app.conftest import image_captions, make_batch
from tests.app.test_review import open_sample, review


def test_a_blend_says_which_two_images_and_shows_both(users, digits):
    batch = make_batch(digits, 7, 3, memorized={0})
    with session_scope(immediate=True) as session:
        sample = session.get(Sample, session.scalar(select(func.min(Sample.id)).where(Sample.batch_id == batch)))
        a, b = sample.nn_real_ids[1], sample.nn_real_ids[2]  # not the first: the reason names its own images
        sample.copy_match = dict(kind="blend", parts=[a, b], weights=[0.6, 0.4], ratio=0.012)
        sid = sample.id
    at = open_sample(review(users["rita"], batch), sid)
    assert not at.exception
    assert [m.value for m in at.markdown if "Why it was flagged" in m.value] == [
        f"**Why it was flagged:** it is a blend of training images {a} (60 %) and {b} (40 %) (pixel copy ratio "
        "0.012; under 0.35 is a copy)."]
    captions = image_captions(at)
    assert f"sample #{sid}" in captions
    assert any(c.startswith(f"training image #{a} ·") and c.endswith("60 %") for c in captions), captions
    assert any(c.startswith(f"training image #{b} ·") and c.endswith("40 %") for c in captions), captions


def test_a_sample_scored_before_the_reason_was_kept_says_how_to_get_it(users, digits):
    batch = make_batch(digits, 7, 2, memorized={0})
    with session_scope() as session:
        sid = session.scalar(select(func.min(Sample.id)).where(Sample.batch_id == batch))
    at = open_sample(review(users["rita"], batch), sid)
    assert any(f"ganaug evaluate batch {batch} --rescore" in c.value for c in at.caption)


def test_a_rotated_corner_crop_says_where_and_how_far(users, digits):
    batch = make_batch(digits, 7, 2, memorized={0})
    with session_scope(immediate=True) as session:
        sample = session.get(Sample, session.scalar(select(func.min(Sample.id)).where(Sample.batch_id == batch)))
        a = sample.nn_real_ids[0]
        sample.copy_match = dict(kind="copy", parts=[a], mirrored="left-right", shift=[0, 0], crop=0.8,
                                 crop_at=[0, 3], side=16, rotated=-6.0, turned=None, ratio=0.021)
        sid = sample.id
    at = open_sample(review(users["rita"], batch), sid)
    assert not at.exception
    assert [m.value for m in at.markdown if "Why it was flagged" in m.value] == [
        f"**Why it was flagged:** it is a copy of training image {a}, cropped to 80 % of its side from its bottom "
        "left corner (x=0, y=3), enlarged, rotated 6° clockwise and mirrored left-right (pixel copy ratio 0.021; "
        "under 0.35 is a copy)."]
    assert any(c.startswith(f"training image #{a} ·") for c in image_captions(at))
