"""Authenticity (Alaa et al. 2022) on points placed by hand: an exact copy is flagged, a new point is not."""

import numpy as np
import pytest

from ganaug_core.metrics.authenticity import COPY_RATIO, authenticity, authenticity_score


def test_copy_flagged_and_ratios_by_hand():
    real = np.array([[0.0], [10.0], [20.0]])  # each real point's own nearest real neighbour is 10 away
    synth = np.array([[10.0], [5.0], [30.0], [21.0]])
    a = authenticity(real, synth, k=2)
    assert a.ratio.tolist() == pytest.approx([0.0, 0.5, 1.0, 0.1])
    assert a.copy.tolist() == [True, False, False, True]  # ratio below COPY_RATIO (0.25)
    assert a.authentic.tolist() == [False, False, True, False]  # Alaa et al.'s test: ratio ≥ 1
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
