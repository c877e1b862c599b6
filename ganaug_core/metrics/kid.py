"""Kernel Inception Distance (Bińkowski et al. 2018) on domain features: unbiased MMD² with a cubic kernel.

Unlike FID it is unbiased in the number of samples, which matters here: a rare class may have a dozen real
images. Averaged over seeded random subsets, as in stylegan2-ada's `kernel_inception_distance.py`.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

MIN_SAMPLES = 2


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    m, n = len(x), len(y)
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * kxy.mean())


def kid(
    real_features: np.ndarray,
    synth_features: np.ndarray,
    num_subsets: int = 20,
    max_subset_size: int = 1000,
    seed: int = 0,
) -> Optional[dict]:
    """{"mean", "std", "subset_size", "subsets"} of MMD² over subsets; None when either side has fewer than two
    samples. When both sides fit in one subset of equal size every subset would be the same two sets: MMD² is
    computed once and "std" is None (a spread of 0 would read as certainty)."""
    real = np.asarray(real_features, dtype=np.float64)
    synth = np.asarray(synth_features, dtype=np.float64)
    if len(real) < MIN_SAMPLES or len(synth) < MIN_SAMPLES:
        return None
    size = min(len(real), len(synth), max_subset_size)
    if size == len(real) == len(synth):
        return {"mean": _mmd2_unbiased(real, synth), "std": None, "subset_size": int(size), "subsets": 1}
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(num_subsets):
        x = real[rng.choice(len(real), size, replace=False)]
        y = synth[rng.choice(len(synth), size, replace=False)]
        values.append(_mmd2_unbiased(x, y))
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "subset_size": int(size),
            "subsets": int(num_subsets)}
