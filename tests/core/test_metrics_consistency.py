"""Class consistency and mean confidence: exact fractions."""

import numpy as np
import pytest

from ganaug_core.metrics.consistency import class_consistency, mean_confidence


def test_exact_fractions():
    probs = np.array([
        [0.1, 0.9, 0.0],  # conditioned on 1: agrees
        [0.6, 0.3, 0.1],  # conditioned on 1: classifier says 0
        [0.2, 0.7, 0.1],  # agrees
        [0.0, 0.5, 0.5],  # tie: argmax picks class 1 (first maximum)
    ])
    labels = np.array([1, 1, 1, 1])
    assert class_consistency(probs, labels) == pytest.approx(3 / 4)
    assert mean_confidence(probs, labels) == pytest.approx((0.9 + 0.3 + 0.7 + 0.5) / 4)
    assert class_consistency(probs, np.array([1, 0, 2, 2])) == pytest.approx(2 / 4)


def test_empty_is_none():
    assert class_consistency(np.zeros((0, 3)), np.zeros(0, dtype=int)) is None
    assert mean_confidence(np.zeros((0, 3)), np.zeros(0, dtype=int)) is None
