"""FID against hand-computed values: identical sets, a pure mean shift, a pure scale change."""

import numpy as np
import pytest

from ganaug_core.metrics.fid import fid


def test_identical_sets_give_zero():
    x = np.random.default_rng(0).normal(size=(200, 8))
    assert fid(x, x.copy()) == pytest.approx(0.0, abs=1e-6)


def test_mean_shift_is_the_squared_distance_of_the_means():
    x = np.random.default_rng(1).normal(size=(100, 4))
    shift = np.array([1.0, -2.0, 0.0, 0.5])  # same covariance: FID = |shift|² = 1 + 4 + 0.25
    assert fid(x, x + shift) == pytest.approx(5.25, rel=1e-6)


def test_scale_change_by_hand():
    # The four corners (±1, ±1): mean 0, variance 4/3 per axis (ddof 1), no covariance. Doubling them gives
    # variance 16/3. Per axis FID = σ_r² + σ_s² − 2 σ_r σ_s = 4/3 + 16/3 − 16/3 = 4/3; two axes → 8/3.
    real = np.array([[-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [1.0, 1.0]])
    synth = 2.0 * real
    assert fid(real, synth) == pytest.approx(8 / 3, rel=1e-6)


def test_too_few_samples_is_none():
    x = np.ones((1, 3))
    assert fid(x, np.zeros((5, 3))) is None
    assert fid(np.zeros((5, 3)), x) is None
