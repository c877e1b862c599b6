"""Per-sample scores stored with every synthetic sample, so reviewers can sort and the gate can filter.

- class_confidence: the real-trained classifier's probability of the conditioned class.
- realism: Kynkäänniemi et al. (2019)'s realism score against real training features of the same class:
  max over real r of radius_k(r) / d(s, r). Above 1 means the sample lies inside the real class manifold.
- novelty: the authenticity ratio against all real training images, the smaller of its feature-space value
  (metrics/authenticity.py) and its pixel-space value (metrics/pixel_copies.py); ≈ 0 for a copy.
- memorized: an exact pixel copy, a pixel near-duplicate, or either ratio below its copy threshold. The copied
  training image (both parts of a blend) is then listed first among the sample's nearest real images, so reviewers
  see the source, and copy_match says how it matched (mirrored, shifted, cropped, blended: metrics/copy_match.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ganaug_core.errors import GanaugError
from ganaug_core.metrics.authenticity import authenticity
from ganaug_core.metrics.copy_match import copy_matches
from ganaug_core.metrics.duplicates import NEAR_RMS, exact_matches, nearest_pixel_rms
from ganaug_core.metrics.neighbours import kth_neighbour_radii, pairwise_distances
from ganaug_core.metrics.pixel_copies import PIXEL_COPY_RATIO, RealBank, pixel_copy_ratio

# The version of the scoring (these scores and the copy check behind `memorized`) that a batch's stored scores came
# from: `score_batch` records it on the batch (batches.scoring_version, migration 0012), and the Review page,
# `review samples` and `evaluate batch` say "scored by an older check" for a batch scored by a lower one, or before
# versions were recorded (NULL), with the rescore that brings it up to date. Bump it (and add its line below) with
# any change that can change what is stored for the same samples and training images: a memorized flag (a threshold
# such as COPY_RATIO, PIXEL_COPY_RATIO or NEAR_RMS, a transform the pixel check aligns, MIN_SIDE, the colour pass), a
# score's formula or constant (REALISM_K, REALISM_CAP, NEIGHBOURS), which real images are the nearest, copy_match's
# record, or the feature extractor's network or training. Not a change: a speed-up with the same values, a message.
SCORING_VERSION = 1
# 1 (2026-12-07): the copy check with its colour pass (2026-12-06/07), rotations, crops at a corner, quarter turns
#   and MIN_SIDE; every batch scored before it was recorded reads as older (NULL).
REALISM_K = 5
REALISM_CAP = 10.0  # a copy would score infinity; capped so the value sorts and serialises
NEIGHBOURS = 5  # nearest real training images kept per sample for the review page


@dataclass
class SampleScores:
    class_confidence: np.ndarray  # (N,) float
    realism: np.ndarray  # (N,) float in [0, REALISM_CAP]
    novelty: np.ndarray  # (N,) float: min(feature_novelty, pixel_novelty)
    feature_novelty: np.ndarray  # (N,) authenticity ratio on domain features
    pixel_novelty: np.ndarray  # (N,) authenticity ratio on mean-removed, shift-aligned pixels
    nn_distance: np.ndarray  # (N,) feature distance to the first of nn_index
    nn_index: np.ndarray  # (N, k) indices into the real arrays: a copy's source first, then nearest first
    nn_distances: np.ndarray  # (N, k) feature distances to those images
    exact_copy: np.ndarray  # (N,) bool
    near_copy: np.ndarray  # (N,) bool: pixel RMS difference below NEAR_RMS
    memorized: np.ndarray  # (N,) bool: exact | near | feature_novelty < COPY_RATIO | pixel_novelty < PIXEL_COPY_RATIO
    copy_match: list  # (N,) why a memorized sample was flagged (metrics/copy_match.py; parts index the real arrays),
    # None for the others

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
    extractor, real_images: np.ndarray, real_labels: np.ndarray, synth_images: np.ndarray, synth_labels,
    real_features: Optional[np.ndarray] = None, pixel_bank: Optional[RealBank] = None,
    real_radii: Optional[np.ndarray] = None, should_stop: Optional[Callable[[], bool]] = None,
) -> SampleScores:
    """`real_*` are the real *training* split; `synth_labels` the conditioned class of each sample (or one int).
    `real_features`: `extractor.features(real_images)`, where a caller scores many small sets against the same
    real images (the benchmark's gan_filtered arm scores each class's candidates in turn: at 100 classes,
    recomputing them took longer than the scoring itself). `pixel_bank`: pixel_copies.prepare_real(real_images),
    for the same reason (a quarter of the pixel copy check at 10,000 real images). `real_radii`: each real feature's
    distance to its nearest other (`kth_neighbour_radii(real_features, 1)`), for the same reason again.
    `should_stop()`: asked by the pixel copy check, the long part, between chunks of its work; it stops the scoring
    by raising InterruptedError."""
    synth_labels = _checked_labels(extractor, real_images, synth_images, synth_labels)
    real_labels = np.asarray(real_labels)
    real_f = extractor.features(real_images) if real_features is None else real_features
    synth_f = extractor.features(synth_images)
    probs = extractor.predict_proba(synth_images)
    confidence = probs[np.arange(len(synth_labels)), synth_labels].astype(np.float64)
    realism = _realism_by_class(real_f, real_labels, synth_f, synth_labels)

    auth = authenticity(real_f, synth_f, k=NEIGHBOURS, real_radii=real_radii)
    exact = exact_matches(synth_images, real_images) >= 0
    near = nearest_pixel_rms(synth_images, real_images)[1] < NEAR_RMS
    pix_index, pix_ratio, pix_blend = pixel_copy_ratio(synth_images, real_images, extra_candidates=auth.nn_index,
                                                       return_blend=True, bank=pixel_bank, should_stop=should_stop)
    pixel_copy = pix_ratio < PIXEL_COPY_RATIO
    memorized = exact | near | auth.copy | pixel_copy
    matches = copy_matches(synth_images, real_images, pix_index, pix_blend, pix_ratio, pixel_copy,
                           prepared=None if pixel_bank is None else pixel_bank.images)
    nn_index = _copied_first(auth, memorized, matches)
    nn_distances = np.linalg.norm(real_f[nn_index].astype(np.float64) - synth_f[:, None, :], axis=2)
    nn_distances[nn_distances < 1e-6] = 0.0  # as in pairwise_distances: round-off of identical images
    return SampleScores(
        class_confidence=confidence,
        realism=realism,
        novelty=np.minimum(auth.ratio, pix_ratio).astype(np.float64),
        feature_novelty=auth.ratio.astype(np.float64),
        pixel_novelty=pix_ratio.astype(np.float64),
        nn_distance=nn_distances[:, 0],
        nn_index=nn_index,
        nn_distances=nn_distances,
        exact_copy=exact,
        near_copy=near,
        memorized=memorized,
        copy_match=matches,
    )


def _checked_labels(extractor, real_images: np.ndarray, synth_images: np.ndarray, synth_labels) -> np.ndarray:
    """Each sample's class (one int given: every sample's), after refusing what cannot be scored."""
    if len(synth_images) == 0:
        raise GanaugError("no synthetic samples to score")
    if len(real_images) < 2:
        raise GanaugError("scoring needs at least two real training images")
    if synth_images.shape[1:] != real_images.shape[1:]:
        raise GanaugError(f"synthetic images {synth_images.shape[1:]} do not match the real ones {real_images.shape[1:]}")
    synth_labels = np.broadcast_to(np.asarray(synth_labels, dtype=np.int64), (len(synth_images),))
    if synth_labels.max() >= extractor.num_classes or synth_labels.min() < 0:
        raise GanaugError(f"class index out of range for a {extractor.num_classes}-class dataset")
    return synth_labels


def _realism_by_class(real_f: np.ndarray, real_labels: np.ndarray, synth_f: np.ndarray,
                      synth_labels: np.ndarray) -> np.ndarray:
    """Each sample's realism against the real images of its own class."""
    realism = np.zeros(len(synth_f), dtype=np.float64)
    for c in np.unique(synth_labels):
        ref = real_f[real_labels == c]
        if len(ref) < 2:  # a class with 0–1 real images has no manifold of its own; fall back to all classes
            ref = real_f
        mask = synth_labels == c
        realism[mask] = realism_scores(ref, synth_f[mask])
    return realism


def _copied_first(auth, memorized: np.ndarray, matches: list) -> np.ndarray:
    """Each sample's nearest real images, the copied one (both parts of a blend) first for a memorized sample, so
    reviewers see the source beside it; a sample flagged by its features (or pixel RMS) alone gets a `matches`
    entry naming its nearest image, the reason."""
    nn_index = auth.nn_index.copy()
    for i in np.flatnonzero(memorized):
        if matches[i] is None:  # flagged by its features (or pixel RMS) alone: its nearest image is the reason
            matches[i] = dict(kind="features", parts=[int(nn_index[i, 0])], ratio=float(auth.ratio[i]))
        first = [int(j) for j in matches[i]["parts"]]
        nn_index[i] = [*first, *[j for j in nn_index[i] if j not in first]][: nn_index.shape[1]]
    return nn_index


def older_scoring(version: Optional[int]) -> Optional[str]:
    """What made a batch's stored scores, where it is older than this scoring (None where it is this one, or a
    newer ganaug's): "before versions were recorded; now version 1" (NULL: scored before migration 0012) or
    "version 1; now version 2"."""
    if version is not None and version >= SCORING_VERSION:
        return None
    return f"{'before versions were recorded' if version is None else f'version {version}'}; now version {SCORING_VERSION}"

