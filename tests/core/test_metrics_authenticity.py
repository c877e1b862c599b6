"""Authenticity (Alaa et al. 2022) on points placed by hand: an exact copy is flagged, a new point is not."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from ganaug_core.metrics.authenticity import COPY_RATIO, authenticity, authenticity_score


def test_copy_flagged_and_ratios_by_hand():
    real = np.array([[0.0], [10.0], [20.0]])  # each real point's own nearest real neighbour is 10 away
    synth = np.array([[10.0], [5.0], [31.0], [21.0]])
    a = authenticity(real, synth, k=2)
    assert a.ratio.tolist() == pytest.approx([0.0, 0.5, 1.1, 0.1])
    assert a.copy.tolist() == [True, False, False, True]  # ratio below COPY_RATIO (0.25)
    assert a.authentic.tolist() == [False, False, True, False]  # Alaa et al.'s test: ratio > 1
    assert a.score == pytest.approx(0.25)
    assert a.nn_index[:, 0].tolist() == [1, 0, 2, 2]  # ties resolve to the lower index
    assert a.nn_distance[0].tolist() == pytest.approx([0.0, 10.0])
    assert COPY_RATIO == 0.25


def test_exact_twin_in_the_real_set():
    real = np.array([[0.0], [0.0], [5.0]])  # real 0 and 1 are identical: own distance 0
    a = authenticity(real, np.array([[0.0], [1.0]]))
    assert a.copy.tolist() == [True, False]
    assert np.isfinite(a.ratio).all()


def test_summary():
    real = np.random.default_rng(0).normal(size=(40, 3))
    s = authenticity_score(real, real[:10])
    assert s["copies"] == 10 and s["copy_fraction"] == 1.0 and s["authenticity"] == 0.0


def alaa_authenticity(real: np.ndarray, synth: np.ndarray) -> np.ndarray:
    """Alaa et al.'s own per-sample test, written out: authentic when the sample is strictly farther from its
    nearest real point r than r is from its nearest other real point (`real_to_real[args] < real_to_synth`)."""
    rr = cdist(real, real)
    np.fill_diagonal(rr, np.inf)
    rs = cdist(synth, real)
    nearest = rs.argmin(axis=1)
    return rr.min(axis=1)[nearest] < rs.min(axis=1)


def test_a_sample_exactly_as_far_as_the_real_neighbour_is_not_authentic():
    """Alaa et al. count a sample authentic only when strictly farther: one at exactly the real neighbour distance
    (ratio 1) was counted authentic, so a batch's authenticity read 1.0 where the published definition gives 0.5."""
    real = np.array([[0.0], [10.0], [20.0]])
    synth = np.array([[30.0], [45.0]])  # 10 from real 20 (as far as 20's neighbour), and 25 from it
    a = authenticity(real, synth)
    assert a.ratio.tolist() == pytest.approx([1.0, 2.5])
    assert a.authentic.tolist() == alaa_authenticity(real, synth).tolist() == [False, True]
    assert a.score == 0.5
    rng = np.random.default_rng(3)  # and on points with no ties, the same test sample by sample
    real, synth = rng.normal(size=(40, 3)), rng.normal(size=(30, 3)) * 1.3
    assert authenticity(real, synth).authentic.tolist() == alaa_authenticity(real, synth).tolist()
