"""Authenticity (Alaa et al. 2022, "How Faithful is your Synthetic Data?").

For a synthetic sample s, take its nearest real training sample r and compare d(s, r) with r's own distance to
its nearest *other* real sample. A sample that sits closer to r than any real neighbour of r does is
unauthentic: the generator reproduced r rather than drew a new point. The ratio d(s, r) / d(r, nn(r)) is the
per-sample novelty score; far below 1 means a copy.

COPY_RATIO is the memorization flag's threshold. Calibrated on the demo digits (benchmarks/evaluation.py) with
images no decision ever reads: a quarter of each common class's training images, held out of the extractor's
training and of the reference set (the test split is not read). Of those 208 genuinely new images none has a
ratio below 0.35 against the reference set (1st percentile 0.45, median 1.07), while exact copies score 0 and
copies with σ = 4-level noise a median 0.21. (An earlier calibration used the test split; this one, which does
not, separates the same way, so the threshold stayed.) Alaa et al.'s own test (ratio < 1) would flag a large
share of those new images (their median is 1.07), so it is reported as a score, not used as the flag. Copies that
the features see as new (a shifted or brightened copy) are caught in pixel space: see pixel_copies.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ganaug_core.metrics.neighbours import kth_neighbour_radii, nearest

COPY_RATIO = 0.25


@dataclass
class Authenticity:
    nn_index: np.ndarray  # (N, k) indices into the real array, nearest first
    nn_distance: np.ndarray  # (N, k) distances to those real samples
    real_nn_distance: np.ndarray  # (N,) the nearest real sample's own distance to its nearest real neighbour
    ratio: np.ndarray  # (N,) nn_distance[:, 0] / real_nn_distance — the novelty score
    authentic: np.ndarray  # (N,) bool: ratio > 1 (Alaa et al.'s per-sample test)
    copy: np.ndarray  # (N,) bool: ratio < COPY_RATIO — flagged as memorized

    @property
    def score(self) -> float:
        """Share of authentic samples (Alaa et al.'s authenticity)."""
        return float(self.authentic.mean()) if len(self.authentic) else float("nan")


def authenticity(
    real_features: np.ndarray, synth_features: np.ndarray, k: int = 5, copy_ratio: float = COPY_RATIO,
    real_radii: Optional[np.ndarray] = None,
) -> Authenticity:
    """`real_features` are the real *training* features (the set a generator could have memorized). `real_radii`:
    `kth_neighbour_radii(real_features, 1)`, where a caller measures many batches against the same real features
    (75 s for 48,000 training images on 2 cores: more than the rest of a batch's scores)."""
    if len(real_features) < 2:
        raise ValueError("authenticity needs at least two real samples")
    own = kth_neighbour_radii(real_features, 1) if real_radii is None else real_radii
    idx, dist = nearest(synth_features, real_features, k)
    ref = own[idx[:, 0]]
    # A real sample with an exact twin in the real set has own distance 0: any synthetic point at distance 0
    # from it is a copy (ratio 0); any other point is as novel as can be measured (ratio inf → capped).
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ref > 0, dist[:, 0] / np.where(ref > 0, ref, 1.0), np.where(dist[:, 0] > 0, np.inf, 0.0))
    ratio = np.minimum(ratio, 1e6)
    # Strictly farther, as Alaa et al.'s code tests it (`real_to_real[args] < real_to_synth`): a sample exactly as
    # far from r as r's real neighbour is not authentic. `>=` counted it authentic.
    return Authenticity(idx, dist, ref, ratio, ratio > 1.0, ratio < copy_ratio)


def authenticity_score(real_features: np.ndarray, synth_features: np.ndarray,
                       real_radii: Optional[np.ndarray] = None) -> dict:
    a = authenticity(real_features, synth_features, real_radii=real_radii)
    return {
        "authenticity": a.score,
        "copies": int(a.copy.sum()),
        "copy_fraction": float(a.copy.mean()),
        "median_feature_novelty": float(np.median(a.ratio)),  # features only; the per-sample score also reads pixels
    }
