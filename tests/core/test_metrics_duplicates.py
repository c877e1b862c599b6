"""Exact and near-duplicate detection in pixel space."""

import numpy as np

from ganaug_core.metrics.duplicates import NEAR_RMS, duplicate_report, exact_matches, near_duplicates, nearest_pixel_rms


def _images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 1, 8, 8), dtype=np.uint8)


def test_exact_and_near_copies():
    real = _images(10)
    brighter = np.clip(real[3].astype(int) + 2, 0, 255).astype(np.uint8)  # +2 levels: RMS ≤ 2/255 ≈ 0.008
    synth = np.stack([real[7], brighter, _images(1, seed=99)[0]])
    assert exact_matches(synth, real).tolist() == [7, -1, -1]
    idx, rms = nearest_pixel_rms(synth, real)
    assert idx[:2].tolist() == [7, 3] and rms[0] == 0.0 and rms[1] < NEAR_RMS < rms[2]
    assert near_duplicates(synth, real).tolist() == [True, True, False]


def test_report_counts_copies_and_repeats_within_the_batch():
    real = _images(10)
    other = _images(3, seed=5)
    synth = np.stack([real[0], other[0], other[0], other[1], other[2]])
    r = duplicate_report(synth, real)
    assert r["exact_copies"] == 1 and r["near_copies"] == 1 and r["copy_fraction"] == 0.2
    assert r["repeated_in_batch_exact"] == 1  # other[0] twice
    assert r["repeated_in_batch_near"] == 2  # both members of the pair
