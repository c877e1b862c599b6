"""Precision, recall, density and coverage (Naeem et al. 2020), k = 5, on domain features.

Each real point gets a ball reaching its k-th nearest real neighbour. Precision: share of synthetic points inside
some real ball (fidelity). Recall: share of real points inside some synthetic ball (diversity). Density: how many
real balls contain a synthetic point on average, divided by k (≈ 1 when the distributions match, > 1 when samples
crowd the dense regions). Coverage: share of real balls holding at least one synthetic point.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ganaug_core.metrics.neighbours import kth_neighbour_radii, pairwise_distances

DEFAULT_K = 5


def prdc(real_features: np.ndarray, synth_features: np.ndarray, k: int = DEFAULT_K) -> Optional[dict]:
    """None when either side has fewer than two points; k shrinks to (points − 1) on tiny sets and is reported."""
    if len(real_features) < 2 or len(synth_features) < 2:
        return None
    k_used = min(k, len(real_features) - 1, len(synth_features) - 1)
    real_radii = kth_neighbour_radii(real_features, k_used)
    synth_radii = kth_neighbour_radii(synth_features, k_used)
    d = pairwise_distances(real_features, synth_features)  # (n_real, n_synth)
    inside_real = d < real_radii[:, None]  # synthetic j inside real i's ball
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float((d < synth_radii[None, :]).any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k_used),
        "coverage": float(_covered(real_features, synth_features, real_radii).mean()),
        "k": int(k_used),
    }


def coverage(real: np.ndarray, synth: np.ndarray, k: int = DEFAULT_K) -> Optional[float]:
    """Coverage alone: the share of real points whose k-NN ball holds a synthetic point; None with fewer than two real
    points or no synthetic one. For many points (the Embeddings page's map: up to 2,000 real against 20,000 samples of
    a class), the distances are taken a slice of samples at a time."""
    if len(real) < 2 or len(synth) == 0:
        return None
    return float(_covered(real, synth, kth_neighbour_radii(real, min(k, len(real) - 1))).mean())


_SYNTH_CHUNK = 4096  # samples a slice: 2,000 real × 4,096 distances are 66 MB of float64


def _covered(real: np.ndarray, synth: np.ndarray, real_radii: np.ndarray) -> np.ndarray:
    """Whether each real point's ball (strictly inside its radius, as precision's) holds a synthetic point."""
    covered = np.zeros(len(real), dtype=bool)
    for start in range(0, len(synth), _SYNTH_CHUNK):
        covered |= (pairwise_distances(real, synth[start:start + _SYNTH_CHUNK]) < real_radii[:, None]).any(axis=1)
    return covered
