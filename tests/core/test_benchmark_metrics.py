"""Benchmark metrics and statistics against hand-computed tiny examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from imblearn.metrics import geometric_mean_score
from sklearn.metrics import balanced_accuracy_score

from ganaug_core.benchmark.metrics import expected_calibration_error, evaluate, macro_gmean, per_class_recall
from ganaug_core.benchmark.stats import best_arm, compare_gan_arms, mean_ci, paired_comparison


def one_hot(pred, k, conf=1.0):
    p = np.full((len(pred), k), (1 - conf) / (k - 1))
    p[np.arange(len(pred)), pred] = conf
    return p


def test_recall_balanced_accuracy_and_minority_recall_by_hand():
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    pred = np.array([0, 0, 0, 1, 1, 0, 2, 2])
    # recall: class 0 → 3/4, class 1 → 1/2, class 2 → 2/2
    np.testing.assert_allclose(per_class_recall(y, pred, 3), [0.75, 0.5, 1.0])
    m = evaluate(y, one_hot(pred, 3), minority=[1, 2])
    assert m["balanced_accuracy"] == pytest.approx((0.75 + 0.5 + 1.0) / 3)
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["minority_recall"] == pytest.approx(0.75)
    assert m["per_class_recall"] == pytest.approx([0.75, 0.5, 1.0])
    assert set(m["pr_auc"]) == {1, 2}


def test_macro_gmean_matches_imbalanced_learn_and_a_hand_value():
    y = np.array([0, 0, 1, 1])
    pred = np.array([0, 1, 1, 1])
    # class 0: recall 1/2, specificity 2/2; class 1: recall 2/2, specificity 1/2 → both sqrt(1/2)
    assert macro_gmean(y, pred, 2) == pytest.approx(math.sqrt(0.5))
    rng = np.random.default_rng(0)
    y, pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    assert macro_gmean(y, pred, 4) == pytest.approx(geometric_mean_score(y, pred, average=None).mean())


def test_ece_is_zero_when_calibrated_and_the_gap_when_overconfident():
    y = np.array([0, 1, 0, 1])
    # Confidence 1.0 and always right → 0; confidence 0.9 and right half the time → |0.5 − 0.9| = 0.4.
    assert expected_calibration_error(y, one_hot(y, 2, 1.0)) == pytest.approx(0.0)
    pred = np.array([0, 0, 0, 0])
    assert expected_calibration_error(y, one_hot(pred, 2, 0.9)) == pytest.approx(0.4)


def test_pr_auc_is_one_for_a_perfect_ranking_and_the_base_rate_for_a_constant_score():
    y = np.array([0, 0, 0, 1])
    perfect = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.1, 0.9]])
    assert evaluate(y, perfect, [1])["pr_auc"][1] == pytest.approx(1.0)
    constant = np.full((4, 2), 0.5)
    assert evaluate(y, constant, [1])["pr_auc"][1] == pytest.approx(0.25)


def test_mean_ci_uses_student_t_and_handles_one_value():
    ci = mean_ci([1.0, 2.0, 3.0])
    # mean 2, sd 1, t(0.975, 2) = 4.3027 → half width 4.3027 / sqrt(3) = 2.4842
    assert ci["mean"] == 2.0 and ci["high"] - 2.0 == pytest.approx(2.4842, abs=1e-4)
    # One seed has no spread: its standard deviation is undefined, not 0 (which reads as a seed-proof score).
    assert mean_ci([0.5]) == {"mean": 0.5, "low": 0.5, "high": 0.5, "std": None, "n": 1}
    assert mean_ci([0.9, 1.0, 1.0], bounds=(0, 1))["high"] == 1.0
    assert mean_ci([])["mean"] is None


def test_paired_comparison_counts_wins_and_ignores_shared_seed_noise():
    base = [0.5, 0.7, 0.6, 0.8]
    gan = [b + 0.05 for b in base]  # always 0.05 better: the seed noise cancels in the paired difference
    r = paired_comparison(gan, base)
    assert r["mean_diff"] == pytest.approx(0.05) and r["wins"] == 4 and r["n"] == 4
    assert r["low"] == pytest.approx(0.05) and r["high"] == pytest.approx(0.05)
    wide = paired_comparison([1.0, 0.0], [0.0, 1.0])  # two scores in [0, 1] differ by at most 1 either way
    assert wide["mean_diff"] == 0.0 and (wide["low"], wide["high"]) == (-1.0, 1.0)
    assert paired_comparison([1.0, 0.0], [0.0, 1.0], bounds=None)["high"] > 1.0


def test_gan_beats_only_with_disjoint_intervals_against_the_best_baseline():
    vals = {
        "oversample": {"balanced_accuracy": [0.70, 0.71, 0.72], "minority_recall": [0.4, 0.41, 0.42]},
        "smote": {"balanced_accuracy": [0.80, 0.81, 0.82], "minority_recall": [0.5, 0.52, 0.51]},
        "gan": {"balanced_accuracy": [0.90, 0.91, 0.92], "minority_recall": [0.50, 0.53, 0.52]},
    }
    summary = {a: {m: mean_ci(v) for m, v in d.items()} for a, d in vals.items()}
    assert best_arm(summary, ["oversample", "smote", "classic"], "balanced_accuracy") == "smote"
    comp = compare_gan_arms(summary, vals, ["gan"])
    assert comp["best_baseline"] == {"balanced_accuracy": "smote", "minority_recall": "smote"}
    assert comp["arms"]["gan"]["metrics"]["balanced_accuracy"]["beats"] is True
    assert comp["arms"]["gan"]["metrics"]["minority_recall"]["beats"] is False  # overlapping intervals
    assert comp["target_met"] is False


def test_a_lower_is_better_metric_is_won_and_beaten_from_below():
    vals = {"smote": {"ece": [0.20, 0.21, 0.22]}, "gan": {"ece": [0.05, 0.06, 0.07]}}
    summary = {a: {m: mean_ci(v) for m, v in d.items()} for a, d in vals.items()}
    row = compare_gan_arms(summary, vals, ["gan"], baselines=["smote"], metrics=["ece"])["arms"]["gan"]["metrics"]["ece"]
    assert row["wins"] == 3 and row["beats"] is True and row["mean_diff"] == pytest.approx(-0.15)
    worse = {"smote": vals["gan"], "gan": vals["smote"]}
    summary = {a: {m: mean_ci(v) for m, v in d.items()} for a, d in worse.items()}
    row = compare_gan_arms(summary, worse, ["gan"], baselines=["smote"], metrics=["ece"])["arms"]["gan"]["metrics"]["ece"]
    assert row["wins"] == 0 and row["beats"] is False


def reference_ece(y: np.ndarray, proba: np.ndarray, bins: int = 15) -> float:
    """Guo et al. (2017), written out: bins (lo, hi] of equal width over the top-label confidence."""
    conf, right = proba.max(axis=1), proba.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(right[inside].mean() - conf[inside].mean())
    return total


def test_ece_and_macro_f1_match_their_definitions_with_confidences_on_bin_edges():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 90)
    proba = rng.dirichlet(np.ones(3), 90)
    edges = np.linspace(0.0, 1.0, 16)
    top = proba.argmax(axis=1)
    for i, edge in zip(range(0, 90, 9), edges[6:]):  # ten samples whose confidence lies exactly on an edge
        proba[i] = (1.0 - edge) / 2
        proba[i, top[i]] = edge
    assert expected_calibration_error(y, proba) == pytest.approx(reference_ece(y, proba), abs=1e-9)
    pred = proba.argmax(axis=1)
    f1 = []
    for c in range(3):  # F1 per class from its counts, then the unweighted mean
        tp, fp, fn = ((pred == c) & (y == c)).sum(), ((pred == c) & (y != c)).sum(), ((pred != c) & (y == c)).sum()
        f1.append(2 * tp / (2 * tp + fp + fn))
    assert evaluate(y, proba, [2])["macro_f1"] == pytest.approx(np.mean(f1), abs=1e-9)


@pytest.mark.parametrize("values", [[0.71, 0.74], [0.70, 0.74, 0.69, 0.75, 0.72]])
def test_intervals_over_two_and_five_seeds_are_students_and_the_paired_one_too(values):
    """With 2 seeds the 95 % interval uses t(0.975, 1) = 12.71, with 5 seeds t(0.975, 4) = 2.78: scipy's interval
    for the mean, and for the paired differences the interval and p-value of a paired t-test."""
    from scipy import stats

    v = np.asarray(values)
    ci = mean_ci(values)
    low, high = stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
    assert (ci["low"], ci["high"]) == pytest.approx((low, high), abs=1e-9)
    other = v - np.array([0.02, 0.05, 0.01, 0.03, 0.04])[: len(v)]
    r = paired_comparison(values, list(other), bounds=None)
    d = v - other
    low, high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert (r["low"], r["high"]) == pytest.approx((low, high), abs=1e-9)
    assert r["p_value"] == pytest.approx(stats.ttest_rel(v, other).pvalue, abs=1e-9)
