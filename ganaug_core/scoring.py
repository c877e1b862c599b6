"""Per-sample scores stored with every synthetic sample, so reviewers can sort and the gate can filter.

- class_confidence: the real-trained classifier's probability of the conditioned class.
- realism: Kynkäänniemi et al. (2019)'s realism score against real training features of the same class:
  max over real r of radius_k(r) / d(s, r). Above 1 means the sample lies inside the real class manifold.
- novelty: the authenticity ratio (see metrics/authenticity.py) against all real training images; ≈ 0 for a copy.
- memorized: an exact pixel copy, a pixel near-duplicate, or novelty below the copy ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganaug_core.errors import GanaugError
from ganaug_core.metrics.authenticity import COPY_RATIO, authenticity
from ganaug_core.metrics.duplicates import NEAR_RMS, exact_matches, nearest_pixel_rms
from ganaug_core.metrics.neighbours import kth_neighbour_radii, pairwise_distances

REALISM_K = 5
REALISM_CAP = 10.0  # a copy would score infinity; capped so the value sorts and serialises
NEIGHBOURS = 5  # nearest real training images kept per sample for the review page


@dataclass
class SampleScores:
    class_confidence: np.ndarray  # (N,) float
    realism: np.ndarray  # (N,) float in [0, REALISM_CAP]
    novelty: np.ndarray  # (N,) float, nearest-real distance ratio
    nn_distance: np.ndarray  # (N,) distance in feature space to the nearest real training image
    nn_index: np.ndarray  # (N, k) indices into the real arrays, nearest first
    nn_distances: np.ndarray  # (N, k) feature distances to those images
    exact_copy: np.ndarray  # (N,) bool
    near_copy: np.ndarray  # (N,) bool: pixel RMS difference below NEAR_RMS
    memorized: np.ndarray  # (N,) bool: exact_copy | near_copy | novelty < COPY_RATIO

    def __len__(self) -> int:
        return len(self.memorized)


def realism_scores(real_class_features: np.ndarray, synth_features: np.ndarray, k: int = REALISM_K) -> np.ndarray:
    radii = kth_neighbour_radii(real_class_features, k)
    # The original prunes the largest half of the radii so that outlying real points do not vouch for anything.
    keep = radii <= np.median(radii)
    d = pairwise_distances(synth_features, real_class_features[keep])
    with np.errstate(divide="ignore"):
        ratio = np.where(d > 0, radii[keep][None, :] / np.where(d > 0, d, 1.0), np.inf)
    return np.minimum(ratio.max(axis=1), REALISM_CAP)


def score_samples(
    extractor, real_images: np.ndarray, real_labels: np.ndarray, synth_images: np.ndarray, synth_labels
) -> SampleScores:
    """`real_*` are the real *training* split; `synth_labels` the conditioned class of each sample (or one int)."""
    if len(synth_images) == 0:
        raise GanaugError("no synthetic samples to score")
    if len(real_images) < 2:
        raise GanaugError("scoring needs at least two real training images")
    if synth_images.shape[1:] != real_images.shape[1:]:
        raise GanaugError(f"synthetic images {synth_images.shape[1:]} do not match the real ones {real_images.shape[1:]}")
    real_labels = np.asarray(real_labels)
    synth_labels = np.broadcast_to(np.asarray(synth_labels, dtype=np.int64), (len(synth_images),))
    if synth_labels.max() >= extractor.num_classes or synth_labels.min() < 0:
        raise GanaugError(f"class index out of range for a {extractor.num_classes}-class dataset")
    real_f = extractor.features(real_images)
    synth_f = extractor.features(synth_images)
    probs = extractor.predict_proba(synth_images)
    confidence = probs[np.arange(len(synth_labels)), synth_labels].astype(np.float64)

    realism = np.zeros(len(synth_images), dtype=np.float64)
    for c in np.unique(synth_labels):
        ref = real_f[real_labels == c]
        if len(ref) < 2:  # a class with 0–1 real images has no manifold of its own; fall back to all classes
            ref = real_f
        mask = synth_labels == c
        realism[mask] = realism_scores(ref, synth_f[mask])

    auth = authenticity(real_f, synth_f, k=NEIGHBOURS)
    exact = exact_matches(synth_images, real_images) >= 0
    near = nearest_pixel_rms(synth_images, real_images)[1] < NEAR_RMS
    return SampleScores(
        class_confidence=confidence,
        realism=realism,
        novelty=auth.ratio.astype(np.float64),
        nn_distance=auth.nn_distance[:, 0].astype(np.float64),
        nn_index=auth.nn_index,
        nn_distances=auth.nn_distance,
        exact_copy=exact,
        near_copy=near,
        memorized=exact | near | (auth.ratio < COPY_RATIO),
    )
