"""The benchmark's time estimate for gan_filtered's scoring (`duration.scoring_seconds`), from a dataset's summary
alone: a factory's 32² colour parts spent 4.7 of 6.5 minutes scoring while the line said "under a minute"."""

from __future__ import annotations

import pytest

from ganaug_core.benchmark import duration as D
from ganaug_core.benchmark.classifier import QUICK_BUDGET
from ganaug_core.benchmark.sweep import QUICK_MULTIPLIERS

SEVEN_ARMS = ["real", "oversample", "smote", "classic", "gan", "gan_classic", "gan_filtered"]
PARTS = D.ScoringLoad(channels=3, train_counts=[240, 45, 3], extractor_fitted=False)  # ok, scratch, crack


def test_the_scoring_is_counted_from_the_candidates_the_training_images_and_the_extractors_fit():
    assert PARTS.candidates() == 3 * (195 + 237)  # each class's gap to the largest, 3 candidates a sample kept
    own, per_thousand = D.CANDIDATE_COST[32]
    colour = D.COLOUR_COST
    # two seeds, against 288 training images
    scoring = 2 * 1296 * (own * colour["own"] + per_thousand * colour["per_thousand"] * 288 / 1000)
    prepare = 288 * D.PREPARE_COST[32] * colour["prepare"] + 288 ** 2 * D.PAIR_COST
    fit = D.EXTRACTOR_STEPS * D.EXTRACTOR_STEP_COST[32] * colour["fit"]
    fitted = D.ScoringLoad(3, [240, 45, 3], extractor_fitted=True)
    assert D.scoring_seconds(32, 2, fitted) == pytest.approx((scoring + prepare) * D.CLASSIFIER_STEP_S)
    assert D.scoring_seconds(32, 2, PARTS) == pytest.approx((scoring + prepare + fit) * D.CLASSIFIER_STEP_S)
    # Grey costs less than colour, a smaller side less than a larger, more training images more.
    grey = D.ScoringLoad(1, [240, 45, 3], True)
    assert D.scoring_seconds(16, 2, grey) < D.scoring_seconds(32, 2, grey) < D.scoring_seconds(32, 2, fitted)
    assert D.scoring_seconds(32, 2, D.ScoringLoad(3, [2400, 450, 30], True)) > 10 * D.scoring_seconds(32, 2, fitted)
    # Above 32² the copy check compares block-averaged 32² images: only the extractor's fit grows (as 64²'s pixels).
    assert D.scoring_seconds(64, 2, fitted) == pytest.approx(D.scoring_seconds(32, 2, fitted))
    assert D.scoring_seconds(64, 2, PARTS) - D.scoring_seconds(32, 2, PARTS) == pytest.approx(
        3 * fit * D.CLASSIFIER_STEP_S)
    assert D.ScoringLoad(1, [50, 50], True).candidates() == 0  # balanced: nothing to generate, nothing to score


def test_the_line_before_a_benchmark_counts_gan_filtereds_scoring():
    line = D.expected_line(32, SEVEN_ARMS, 2, QUICK_BUDGET, QUICK_MULTIPLIERS, PARTS)
    trainings = D.expected_seconds(32, 16, QUICK_BUDGET)
    assert trainings < 60  # what it said: "under a minute"
    total = trainings + D.scoring_seconds(32, 2, PARTS)
    assert line == ("This benchmark trains 16 classifiers of 150 steps at 32² (7 arms and 1 sweep point, 2 seeds) and "
                    "scores up to 2,592 gan_filtered candidates against 288 training images, after fitting the "
                    f"dataset's feature extractor: {D.about(total)} on a quiet 2-core machine, up to "
                    f"{D.about(total - trainings)} of it scoring (other jobs on its cores have made a benchmark 10× "
                    "slower).")
    assert D.about(total) == "about 4 min"  # the parts took 6.5 min on a shared machine, 2× slower than this says
    # Without gan_filtered, or without the dataset's summary, nothing is scored.
    assert "scores" not in D.expected_line(32, SEVEN_ARMS[:-1], 2, QUICK_BUDGET, QUICK_MULTIPLIERS, PARTS)
    assert "scores" not in D.expected_line(32, SEVEN_ARMS, 2, QUICK_BUDGET, QUICK_MULTIPLIERS)
