"""The benchmark's classifier at larger sides, and the line that says how long a benchmark will take."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from ganaug_core.benchmark.classifier import (QUICK_BUDGET, Budget, SmallCNN, extra_stages, predict_proba,
                                              train_classifier)
from ganaug_core.benchmark.duration import about, classifier_trainings, expected_line, step_cost
from ganaug_core.benchmark.sweep import MULTIPLIERS, QUICK_MULTIPLIERS

SEVEN_ARMS = ["real", "oversample", "smote", "classic", "gan", "gan_classic", "gan_filtered"]


def blob_pairs(n: int, side: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two bright blobs side by side (class 0) or one above the other (class 1), 3/8 of the side apart: each blob
    alone looks the same in both classes, so only a feature that sees both tells them apart."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side]
    labels = rng.integers(0, 2, n)
    images = np.empty((n, 1, side, side), np.uint8)
    gap, r = side * 3 / 8, side / 12
    for i, c in enumerate(labels):
        cy, cx = rng.uniform(side * 0.4, side * 0.6, 2)
        dy, dx = (0, gap / 2) if c == 0 else (gap / 2, 0)
        img = np.full((side, side), 40.0)
        for s in (-1, 1):
            img[(yy - cy - s * dy) ** 2 + (xx - cx - s * dx) ** 2 < r * r] = 200
        images[i, 0] = np.clip(img + rng.normal(0, 20, img.shape), 0, 255)
    return images, labels


def test_at_48_the_classifier_sees_a_structure_wider_than_18_px():
    # Three conv layers see 18 px and then averaged a 12² map: on this set they scored 0.52 (chance) with seeds 0,
    # 1 and 2; a stage more (a 6² map, 38 px seen) scored 0.985–1.0 with the same seeds and budget.
    X, y = blob_pairs(96, 48, seed=0)
    Xt, yt = blob_pairs(100, 48, seed=1)
    model = train_classifier(X, y, 2, seed=0, budget=Budget(steps=60, batch_size=16, width=4))
    accuracy = float((predict_proba(model, Xt).argmax(1) == yt).mean())
    assert accuracy >= 0.9
    # Its stages more draw from the seed too: the same seed, the same classifier.
    a, b = (predict_proba(train_classifier(X, y, 2, seed=4, budget=Budget(steps=4, batch_size=16, width=4)), Xt)
            for _ in range(2))
    assert np.array_equal(a, b)


def test_up_to_32_the_classifier_is_the_one_of_before_and_above_it_averages_a_map_of_at_most_8():
    assert [extra_stages(s) for s in (8, 16, 32, 48, 64, 128, 256)] == [0, 0, 0, 1, 1, 2, 3]
    # Up to 32² a seed draws the weights of the classifier every report before the change trained.
    torch.manual_seed(3)
    w = 4
    before = nn.Sequential(
        nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
    head = nn.Linear(4 * w, 4)
    torch.manual_seed(3)
    now = SmallCNN(1, 4, w, 32).state_dict()
    drawn = {**{f"features.{k}": v for k, v in before.state_dict().items()},
             **{f"head.{k}": v for k, v in head.state_dict().items()}}
    assert list(now) == list(drawn) and all(torch.equal(now[k], drawn[k]) for k in now)
    for side in (32, 48, 64, 128, 256):
        averaged = SmallCNN(1, 4, 4, side).features[:-1].eval()(torch.zeros(1, 1, side, side))
        assert 4 <= averaged.shape[-1] <= 8, side


def test_the_benchmark_counts_its_trainings_as_its_progress_does():
    assert classifier_trainings(SEVEN_ARMS, 2, QUICK_MULTIPLIERS) == 16  # 0 and 1 × are the real and gan arms
    assert classifier_trainings(SEVEN_ARMS, 5, MULTIPLIERS) == 50
    assert classifier_trainings(["real", "smote"], 2, QUICK_MULTIPLIERS) == 4  # no gan arm: no sweep
    assert classifier_trainings(["gan"], 1, QUICK_MULTIPLIERS) == 3  # the sweep's 0 × trains a real-only one


def test_the_line_before_a_benchmark_says_what_it_trains_and_about_how_long():
    line = expected_line(128, SEVEN_ARMS, 2, QUICK_BUDGET, QUICK_MULTIPLIERS)
    assert line.startswith("This benchmark trains 16 classifiers of 150 steps at 128² (7 arms and 1 sweep point, "
                           "2 seeds): about ")
    assert line.endswith("on a quiet 2-core machine (other jobs on its cores have made a benchmark 10× slower).")
    # The measured runs it is scaled from: --quick at 32² took 53 s, the full benchmark 428 s (quiet Zen 4).
    assert "under a minute" in expected_line(32, SEVEN_ARMS, 2, QUICK_BUDGET, QUICK_MULTIPLIERS)
    assert "about 7 min" in expected_line(32, SEVEN_ARMS, 5, Budget(), MULTIPLIERS)
    assert expected_line(32, ["real"], 1, QUICK_BUDGET, QUICK_MULTIPLIERS).startswith(
        "This benchmark trains 1 classifier of 150 steps at 32² (1 arm, 1 seed): ")
    # A side between two measured ones costs between them; above 128² it grows as the pixels.
    assert step_cost(32, QUICK_BUDGET) < step_cost(48, QUICK_BUDGET) < step_cost(64, QUICK_BUDGET)
    assert step_cost(256, QUICK_BUDGET) == pytest.approx(4 * step_cost(128, QUICK_BUDGET))
    assert [about(s) for s in (59, 61, 5350, 5400)] == ["under a minute", "about 1 min", "about 89 min",
                                                        "about 1 h 30 min"]
