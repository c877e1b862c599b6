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


def reference_fid(real: np.ndarray, synth: np.ndarray) -> float:
    """Heusel et al.'s distance written another way: tr((Σ1 Σ2)^½) is the sum of the square roots of the eigenvalues
    of Σ1^½ Σ2 Σ1^½, a symmetric positive semi-definite matrix (no complex root, no sqrtm)."""
    mu1, mu2 = real.mean(axis=0), synth.mean(axis=0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(synth, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    eig = np.linalg.eigvalsh(root @ s2 @ root)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * np.sqrt(np.clip(eig, 0.0, None)).sum())


@pytest.mark.parametrize("n,d", [(6, 16), (12, 64), (30, 8)])
def test_singular_covariances_and_dead_features_match_the_reference(n, d):
    """Fewer samples than features (a rare class) and features that never vary (dead ReLU units) make both
    covariances singular: sqrtm's complex round-off and negative eigenvalues must not move the distance."""
    rng = np.random.default_rng(n)
    real, synth = np.maximum(rng.normal(size=(n, d)), 0.0), 1.5 * rng.normal(size=(n + 3, d)) + 0.2
    real[:, : d // 4] = 0.0
    synth[:, : d // 4] = 1.0  # constant, and different from the real constant: only the means differ there
    expected = reference_fid(real, synth)
    assert fid(real, synth) == pytest.approx(expected, rel=1e-6)
    assert fid(real, real.copy()) == pytest.approx(0.0, abs=1e-6)
