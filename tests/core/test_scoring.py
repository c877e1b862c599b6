"""Per-sample scores: a copied real image is memorized, a lightly altered copy too, a new image is not."""

import numpy as np
import pytest

from ganaug_core.errors import GanaugError
from ganaug_core.metrics.neighbours import kth_neighbour_radii
from ganaug_core.metrics.pixel_copies import prepare_real
from ganaug_core.scoring import NEIGHBOURS, REALISM_CAP, realism_scores, score_samples
from tests.core.test_features import tiny_extractor_and_data


@pytest.fixture(scope="module")
def data():
    return tiny_extractor_and_data()


def test_copies_are_memorized_new_images_are_not(data):
    fe, x, y, hx, hy = data
    copy = x[5]
    brighter = np.clip(x[8].astype(int) + 2, 0, 255).astype(np.uint8)
    new = hx[hy == int(y[5])][:4]  # real images the extractor never saw, of the same class
    synth = np.concatenate([copy[None], brighter[None], new])
    s = score_samples(fe, x, y, synth, int(y[5]))
    assert len(s) == 6
    assert s.memorized.tolist() == [True, True, False, False, False, False]
    assert s.exact_copy.tolist()[:2] == [True, False] and s.near_copy.tolist()[:2] == [True, True]
    assert s.novelty[0] == 0.0 and s.nn_distance[0] == 0.0 and (s.novelty[2:] > 0.25).all()
    assert s.nn_index[0, 0] == 5 and s.nn_index.shape == (6, NEIGHBOURS)
    assert (np.diff(s.nn_distances[2:], axis=1) >= 0).all()  # nearest first (a copy lists its source first)
    assert ((s.class_confidence >= 0) & (s.class_confidence <= 1)).all()
    assert s.class_confidence[2:].mean() > 1 / 3  # held-out images of the class: better than chance
    assert ((s.realism >= 0) & (s.realism <= REALISM_CAP)).all()


def test_realism_by_hand():
    real = np.array([[0.0], [1.0], [2.0], [10.0]])  # k = 1 radii: 1, 1, 1, 8 → the 8 is pruned (above median)
    r = realism_scores(real, np.array([[0.5], [1.0], [20.0]]), k=1)
    assert r.tolist() == pytest.approx([2.0, REALISM_CAP, 1 / 18])  # max radius/distance: 1/0.5, 1/0 capped, 1/18


def test_labels_per_sample_and_bad_input(data):
    fe, x, y, hx, hy = data
    s = score_samples(fe, x, y, hx[:3], hy[:3])
    assert len(s) == 3
    with pytest.raises(GanaugError, match="no synthetic"):
        score_samples(fe, x, y, hx[:0], 0)
    with pytest.raises(GanaugError, match="do not match"):
        score_samples(fe, x, y, np.zeros((2, 1, 16, 16), np.uint8), 0)
    with pytest.raises(GanaugError, match="out of range"):
        score_samples(fe, x, y, hx[:2], 7)


def test_real_features_computed_once_give_the_same_scores(data, monkeypatch):
    """The benchmark's gan_filtered arm scores each class's candidates in turn against the same real images: at 100
    classes, their features computed again for every class cost more than the scoring itself. It prepares the copy
    check's real side and the features' radii once too (ganaug/benchmark_inputs.py)."""
    fe, x, y, hx, hy = data
    synth = np.concatenate([hx[:5], x[3:4]])  # a copy among them: its match is the same as well
    expected = score_samples(fe, x, y, synth, hy[:6])
    real_features = fe.features(x)
    seen = []
    features = fe.features
    monkeypatch.setattr(fe, "features", lambda images: seen.append(len(images)) or features(images))
    got = score_samples(fe, x, y, synth, hy[:6], real_features=real_features, pixel_bank=prepare_real(x),
                        real_radii=kth_neighbour_radii(real_features, 1))
    assert seen == [6]  # the samples' features only
    for field in ("class_confidence", "realism", "novelty", "nn_index", "nn_distances", "memorized"):
        assert np.array_equal(getattr(got, field), getattr(expected, field)), field
    assert got.copy_match == expected.copy_match and got.memorized[5]
