"""Distance to closest record: copies of training images are closer to train than to the held-out set."""

import numpy as np
import pytest

from ganaug_core.metrics.dcr import dcr


def test_ordering_for_copies_of_train_and_of_holdout():
    rng = np.random.default_rng(0)
    train, holdout = rng.normal(size=(50, 4)), rng.normal(size=(50, 4))
    leaked = dcr(train, holdout, train[:20])
    assert leaked["median_dcr_train"] == 0.0 < leaked["median_dcr_holdout"]
    assert leaked["closer_to_train"] == 1.0 and leaked["overfitting_protection"] == 0.0
    fresh = dcr(train, holdout, holdout[:20])
    assert fresh["median_dcr_holdout"] == 0.0 < fresh["median_dcr_train"]
    assert fresh["closer_to_train"] == 0.0 and fresh["overfitting_protection"] == 1.0


def test_reference_sets_equalised_and_by_hand():
    train = np.array([[0.0], [100.0], [200.0]])
    holdout = np.array([[3.0]])
    # Synthetic 1.0: 1 from train point 0, 2 from the holdout point. The distances use every record; the share
    # uses one seeded train point against the one holdout point, so it is exactly 0 or 1.
    r = dcr(train, holdout, np.array([[1.0]]), seed=0)
    assert r["median_dcr_train"] == pytest.approx(1.0) and r["median_dcr_holdout"] == pytest.approx(2.0)
    assert r["reference_size"] == 1
    assert r["closer_to_train"] in (0.0, 1.0)
    assert dcr(train, holdout[:0], train) is None
