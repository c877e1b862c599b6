"""Distance to closest record (the SDMetrics DCR idea): are synthetic samples closer to the training images than
to real images the generator never saw?

If the generator generalises, a synthetic sample is as likely to be closest to a held-out image as to a
training image once both sets have the same size; a share well above one half closer to training means the
training images leaked. The held-out set is the dataset's 'val' split when it has one; otherwise the caller may
pass the test split, and then this is a reported metric only — never used to flag or gate anything.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ganaug_core.metrics.neighbours import pairwise_distances


def dcr(
    train_features: np.ndarray, holdout_features: np.ndarray, synth_features: np.ndarray, seed: int = 0
) -> Optional[dict]:
    if len(train_features) == 0 or len(holdout_features) == 0 or len(synth_features) == 0:
        return None
    # The distances themselves are to every record; the closer-to-train share uses equal-size reference sets,
    # or the larger set would win "closest" by sheer numbers.
    d_train_all = pairwise_distances(synth_features, train_features).min(axis=1)
    d_holdout_all = pairwise_distances(synth_features, holdout_features).min(axis=1)
    n = min(len(train_features), len(holdout_features))
    rng = np.random.default_rng(seed)
    train = train_features[np.sort(rng.choice(len(train_features), n, replace=False))]
    holdout = holdout_features[np.sort(rng.choice(len(holdout_features), n, replace=False))]
    d_train = pairwise_distances(synth_features, train).min(axis=1)
    d_holdout = pairwise_distances(synth_features, holdout).min(axis=1)
    closer = float((d_train < d_holdout).mean() + 0.5 * (d_train == d_holdout).mean())
    return {
        "median_dcr_train": float(np.median(d_train_all)),
        "median_dcr_holdout": float(np.median(d_holdout_all)),
        "closer_to_train": closer,
        # SDMetrics' DCROverfittingProtection: 1 when at most half are closer to training, 0 when all are.
        "overfitting_protection": float(min(1.0, 2.0 * (1.0 - closer))),
        "reference_size": int(n),
    }
