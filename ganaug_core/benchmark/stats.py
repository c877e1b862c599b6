"""Mean and 95 % interval per metric and arm, and the paired comparison of each GAN arm with the best baseline.

Intervals are Student-t intervals over seeds (n − 1 degrees of freedom). With one seed there is no interval:
low = high = the single value, "std" is None (undefined, not 0), and `n` says so. The paired comparison uses the
per-seed differences (same seed → same classifier initialisation and batch order), which removes the seed-to-seed
variance both arms share.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from scipy import stats as scipy_stats

from ganaug_core.benchmark.metrics import LOWER_IS_BETTER

LEVEL = 0.95
BASELINE_ARMS = ("oversample", "smote", "classic")
TARGET_METRICS = ("balanced_accuracy", "minority_recall")


def _clean(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def mean_ci(values: Sequence[float], level: float = LEVEL, bounds: tuple[float, float] | None = None) -> dict:
    """Mean and Student-t interval; `bounds` clips the interval to the metric's range (scores live in [0, 1])."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    n = len(v)
    if n == 0:
        return {"mean": None, "low": None, "high": None, "std": None, "n": 0}
    mean = float(v.mean())
    if n == 1:  # one value has no spread: a std of 0.0 in report.json read as a seed-proof score
        return {"mean": mean, "low": mean, "high": mean, "std": None, "n": 1}
    std = float(v.std(ddof=1))
    half = float(scipy_stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return {"mean": mean, "low": low, "high": high, "std": std, "n": n}


def paired_comparison(a: Sequence[float], b: Sequence[float], level: float = LEVEL,
                      lower_is_better: bool = False, bounds: tuple[float, float] | None = (0.0, 1.0)) -> dict:
    """a − b per seed: mean difference with its interval, a paired t-test p-value, and how often a wins (is higher,
    or lower with `lower_is_better`). With both metrics in `bounds` (scores in [0, 1]) a difference lies within
    ±(high − low), and its interval is clipped there, as each arm's interval is clipped to its range."""
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    a = np.asarray([x for x, _ in pairs], dtype=np.float64)
    b = np.asarray([y for _, y in pairs], dtype=np.float64)
    diff = a - b
    ci = mean_ci(diff, level, None if bounds is None else (bounds[0] - bounds[1], bounds[1] - bounds[0]))
    p = None
    if len(diff) > 1 and np.ptp(diff) > 1e-9:  # constant differences: the t statistic is undefined
        p = _clean(float(scipy_stats.ttest_rel(a, b).pvalue))
    return {
        "mean_diff": ci["mean"],
        "low": ci["low"],
        "high": ci["high"],
        "p_value": p,
        "wins": int(((-diff if lower_is_better else diff) > 0).sum()),
        "ties": int((diff == 0).sum()),
        "n": int(len(diff)),
    }


def best_arm(summary: Mapping[str, Mapping[str, dict]], candidates: Sequence[str], metric: str) -> str | None:
    """The candidate arm with the best mean on `metric` (the strongest baseline is the fair one to beat)."""
    present = [a for a in candidates if a in summary and summary[a][metric]["mean"] is not None]
    if not present:
        return None
    sign = -1 if metric in LOWER_IS_BETTER else 1
    return max(present, key=lambda a: sign * summary[a][metric]["mean"])


def compare_gan_arms(
    summary: Mapping[str, Mapping[str, dict]],
    values: Mapping[str, Mapping[str, Sequence[float]]],
    gan_arms: Sequence[str],
    baselines: Sequence[str] = BASELINE_ARMS,
    metrics: Sequence[str] = TARGET_METRICS,
) -> dict:
    """For each GAN arm and metric: the best baseline, the paired difference, and whether the 95 % intervals
    are disjoint with the GAN arm on the better side ("beats": above, or below for a lower-is-better metric).
    `target_met` is true when some GAN arm beats the best baseline on every one of `metrics`."""
    best = {m: best_arm(summary, baselines, m) for m in metrics}
    per_arm = {}
    for arm in gan_arms:
        if arm not in summary:
            continue
        rows = {}
        for m in metrics:
            base = best[m]
            if base is None:
                continue
            g, b = summary[arm][m], summary[base][m]
            lower = m in LOWER_IS_BETTER
            disjoint = (g["high"] < b["low"]) if lower else (g["low"] > b["high"])
            beats = g["n"] > 1 and b["n"] > 1 and g["low"] is not None and b["low"] is not None and disjoint
            rows[m] = {"baseline": base, **paired_comparison(values[arm][m], values[base][m], lower_is_better=lower),
                       "beats": bool(beats)}
        per_arm[arm] = {"metrics": rows, "beats_on_all": bool(rows) and all(r["beats"] for r in rows.values())}
    return {
        "best_baseline": best,
        "arms": per_arm,
        "target_met": any(r["beats_on_all"] for r in per_arm.values()),
        "rule": "a GAN arm beats the best baseline when its 95 % interval lies entirely above the baseline's "
                "(below, for a lower-is-better metric)",
    }
