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
