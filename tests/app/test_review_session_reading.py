"""What a dermatologist reviewing colour samples misread: a rejected sample that did not say what was recorded and a
rare class "100 % covered" by one collapsed batch (the decision colours a red-green colour-blind reader could not
tell apart: tests/app/test_colour_distance.py)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Dataset, RealImage, Sample
from tests.app.conftest import app_test, button, embed_reals, make_batch
from tests.app.test_review import first_sample_open


def test_a_rejected_sample_says_who_rejected_it_and_why(users, digits):
    batch = make_batch(digits, 9, 3)
    at, first = first_sample_open(users["rita"], batch)
    at.text_input(key=f"reject_reason_{first}").input("smeared border").run()
    button(at, "Reject sample").click().run()
    assert not at.exception
    # It said "This sample is rejected." alone: not whether the reason typed was recorded, nor by whom.
    [note] = [i.value for i in at.info if i.value.startswith("This sample is rejected.")]
    assert "rita rejected it on " in note and "“smeared border”" in note and "stays out of training" in note


def test_coverage_of_a_class_with_a_handful_of_real_images_says_it_tells_little(users, digits):
    embed_reals(digits)
    with session_scope() as session:  # the demo's rarest class: a handful of real images, as a rare lesion has
        ds = session.scalars(select(Dataset.id).where(Dataset.name == digits)).one()
        nines = session.scalar(select(func.count()).where(RealImage.dataset_id == ds, RealImage.class_index == 9,
                                                          RealImage.split == "train"))
    assert nines < 10
    make_batch(digits, 9, 4)
    make_batch(digits, 0, 4, seed=1)
    at = app_test(users["rita"], "embeddings.py")
    [chart] = [c for c in at.get("plotly_chart") if "emb_coverage" in c.proto.id]
    bar = json.loads(chart.proto.spec)["data"][0]
    labels = dict(zip(bar["y"], bar["text"]))
    # It read a bare "100%" for 4 real points: one sample anywhere near them covers them all.
    assert labels["9"].endswith(f": only {nines} real, too few to tell")
    assert labels["0"].endswith("%")  # a class with many real images keeps its plain figure
    assert any("too few to tell" in c.value for c in at.caption)


def test_overview_says_an_export_adds_at_most_one_approved_sample_per_real_image(users, digits):
    from db.review import approve_batch
    from db.users import get_user

    batch = make_batch(digits, 9, 10)
    with session_scope(immediate=True) as session:
        approve_batch(session, batch, get_user(session, "rita"))
        ds = session.scalars(select(Dataset.id).where(Dataset.name == digits)).one()
        nines = session.scalar(select(func.count()).where(RealImage.dataset_id == ds, RealImage.class_index == 9,
                                                          RealImage.split == "train"))
    at = app_test(users["rita"])
    # The class's bar grew past the majority's with 10 approved samples of its 4 real images, and read as balanced;
    # the export at its default ratio adds 4 of them.
    assert any(f"9: 10 approved, {nines} added" in c.value for c in at.caption), [c.value for c in at.caption]


def test_an_opened_sample_says_what_its_scores_mean(users, digits):
    batch = make_batch(digits, 9, 3)
    at, first = first_sample_open(users["rita"], batch)
    with session_scope() as session:
        s = session.get(Sample, first)
        realism, novelty, confidence = s.realism, s.novelty, s.class_confidence
    [scores] = [c.value for c in at.caption if c.value.startswith("confidence ")]
    # It read "confidence 0.64 · realism 0.27 · novelty 1.00": numbers whose good side only the help told.
    assert (f"realism {realism:.2f}: " + ("among" if realism >= 1 else "outside")
            + " the real images of its class") in scores
    assert f"novelty {novelty:.2f}: as far from the training images as real images are from each other" in scores
    assert (f"confidence {confidence:.2f}: the classifier " + ("sees" if confidence >= 0.5 else "doubts")) in scores
