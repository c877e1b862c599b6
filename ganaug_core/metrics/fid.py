"""Fréchet distance between Gaussians fitted to real and synthetic features (FID, Heusel et al. 2017).

Computed on the domain extractor's features, so values are comparable within one dataset and extractor only —
never with published Inception FIDs.
"""

from __future__ import annotations

from typing import Optional

import warnings

import numpy as np
import scipy.linalg

MIN_SAMPLES = 2  # a covariance needs two points; below that FID is undefined and reported as None


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(features, dtype=np.float64)
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    diff = mu1 - mu2
    with warnings.catch_warnings():
        # Few samples or dead ReLU units make the product singular; sqrtm still returns the right root then.
        warnings.simplefilter("ignore")
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(sigma1)) * 1e-6  # as the reference implementation regularises
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
    return max(value, 0.0)  # tiny negative values are round-off of a zero distance


def fid(real_features: np.ndarray, synth_features: np.ndarray) -> Optional[float]:
    if len(real_features) < MIN_SAMPLES or len(synth_features) < MIN_SAMPLES:
        return None
    return frechet_distance(*gaussian_stats(real_features), *gaussian_stats(synth_features))
