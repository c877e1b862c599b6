"""KID: the unbiased MMD² estimate by hand, ≈ 0 for identical sets, clearly positive for shifted ones."""

import numpy as np
import pytest

from ganaug_core.metrics.kid import _mmd2_unbiased, kid


def test_mmd_by_hand():
    # d = 1, k(a, b) = (a·b + 1)³. X = {0, 1}: k(0,1) = 1 → XX term 1. Y = {0, 2}: k(0,2) = 1 → YY term 1.
    # XY: k(0,0)=1, k(0,2)=1, k(1,0)=1, k(1,2)=27 → mean 7.5. MMD² = 1 + 1 − 2 × 7.5 = −13.
    assert _mmd2_unbiased(np.array([[0.0], [1.0]]), np.array([[0.0], [2.0]])) == pytest.approx(-13.0)


def test_identical_sets_near_zero_shifted_sets_not():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 16))
    same = kid(x, x.copy(), num_subsets=10, max_subset_size=100, seed=0)
    shifted = kid(x, x + 1.0, num_subsets=10, max_subset_size=100, seed=0)
    assert abs(same["mean"]) < 0.05 * shifted["mean"]
    assert shifted["mean"] > 0.5
    assert same["subset_size"] == 100


def test_seeded_and_undefined_on_tiny_sets():
    x = np.random.default_rng(1).normal(size=(50, 4))
    y = x + 0.3
    assert kid(x, y, seed=3) == kid(x, y, seed=3)
    assert kid(x[:1], y) is None


def test_sets_that_fit_one_subset_report_no_spread():
    x = np.random.default_rng(2).normal(size=(40, 4))
    whole = kid(x, x + 0.3, num_subsets=10, max_subset_size=100)  # every subset would be both whole sets
    assert whole["std"] is None and whole["subsets"] == 1
    assert whole["mean"] == pytest.approx(_mmd2_unbiased(x, x + 0.3))
    uneven = kid(x, np.concatenate([x, x])[:60] + 0.3, num_subsets=10, max_subset_size=100)
    assert uneven["std"] > 0 and uneven["subsets"] == 10 and uneven["subset_size"] == 40


def reference_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Bińkowski et al.'s unbiased MMD² written pair by pair, k(a, b) = (a·b / d + 1)³: within-set pairs i ≠ j,
    every cross pair."""
    d = x.shape[1]

    def k(a, b):
        return (a @ b / d + 1.0) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(a, b) for a in x for b in y) / (m * n)
    return float(xx + yy - 2.0 * xy)


def test_mmd_matches_the_pairwise_definition_in_several_dimensions():
    # The hand value above is in one dimension, where the kernel's 1/d is invisible.
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(7, 5)), rng.normal(size=(9, 5)) + 0.3
    assert _mmd2_unbiased(x, y) == pytest.approx(reference_mmd2(x, y), rel=1e-6)
    # Both sets whole: one estimate. The same set twice is no pair of independent samples: the unbiased estimate
    # drops the within-set i = j terms but keeps the cross ones, and falls below 0 (here −3.2), as the definition says.
    same = kid(x, x.copy())
    assert same["mean"] == pytest.approx(reference_mmd2(x, x), rel=1e-6)
    assert same["mean"] < 0 and same["std"] is None
