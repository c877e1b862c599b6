"""What a dermatologist reviewing colour samples misread: a rejected sample that did not say what was recorded, a
rare class "100 % covered" by one collapsed batch, and decision colours a red-green colour-blind reader could not
tell apart."""

from __future__ import annotations

import json

import numpy as np
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


def _as_seen(hex_colour: str, matrix: np.ndarray) -> np.ndarray:
    """CIELAB of the colour as a reader with full deuteranopia or protanopia sees it (Machado et al. 2009)."""
    c = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    rgb = np.clip(matrix @ np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4), 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb
    f = np.cbrt(np.maximum(xyz / np.array([0.9505, 1.0, 1.089]), 0.008856 ** 3))
    f = np.where(xyz / np.array([0.9505, 1.0, 1.089]) > 0.008856, f, 7.787 * xyz / np.array([0.9505, 1.0, 1.089]) + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_decision_colours_stay_apart_for_red_green_colour_blindness():
    from pages.point_map import DECISION_COLOURS

    deuteranopia = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                             [-0.011820, 0.042940, 0.968881]])
    protanopia = np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                           [-0.003882, -0.048116, 1.051998]])
    names = list(DECISION_COLOURS)
    for m in (deuteranopia, protanopia):
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                gap = np.linalg.norm(_as_seen(DECISION_COLOURS[a], m) - _as_seen(DECISION_COLOURS[b], m))
                # D3's green/orange/red were 5–7 ΔE apart: approved, pending and rejected looked the same
                assert gap > 20, (a, b, round(float(gap), 1))


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
