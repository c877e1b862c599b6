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
        "coverage": float((d.min(axis=1) < real_radii).mean()),
        "k": int(k_used),
    }
