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
    # Named apart from `data report`'s near-copy sets (a dataset's own images that are near-copies of each other);
    # `near_copies`, its name before, is kept one release for scripts.
    assert r["exact_copies"] == 1 and r["near_copies_of_training"] == r["near_copies"] == 1
    assert r["copy_fraction"] == 0.2
    assert r["repeated_in_batch_exact"] == 1  # other[0] twice
    assert r["repeated_in_batch_near"] == 2  # both members of the pair


def test_the_real_images_are_compared_a_block_at_a_time(monkeypatch):
    # Brought to float whole, 48,000 64² colour training images took 7 GB to find each sample's nearest one.
    from ganaug_core.metrics import duplicates

    compared, real_nearest = [], duplicates.nearest
    monkeypatch.setattr(duplicates, "REAL_BLOCK", 4)
    monkeypatch.setattr(duplicates, "nearest", lambda a, b, k: compared.append(len(b)) or real_nearest(a, b, k))
    real = _images(10)
    real[9] = real[2]  # a tie across blocks: the first image stays, as in one pass
    synth = np.stack([real[2], real[7], _images(1, seed=99)[0]])
    idx, rms = nearest_pixel_rms(synth, real)
    assert compared == [4, 4, 2]
    a, b = synth.reshape(3, -1) / 255.0, real.reshape(10, -1) / 255.0
    brute = np.sqrt(((a[:, None] - b[None]) ** 2).mean(axis=2))
    assert idx.tolist() == brute.argmin(axis=1).tolist() == [2, 7, int(brute[2].argmin())]
    assert np.allclose(rms, brute.min(axis=1), atol=1e-6) and rms[0] == rms[1] == 0.0


def test_neighbour_radii_hold_a_block_of_distances_at_a_time(monkeypatch):
    # The whole N × N matrix and its sorted copy: 37 GB for 48,000 training images, and scoring was killed.
    from ganaug_core.metrics import neighbours

    held, real_distances = [], neighbours.pairwise_distances
    monkeypatch.setattr(neighbours, "RADII_BLOCK", 200)
    monkeypatch.setattr(neighbours, "pairwise_distances", lambda a, b: held.append(len(a) * len(b)) or real_distances(a, b))
    x = np.random.default_rng(0).normal(size=(50, 3))
    x[7] = x[30]  # twins: each one's nearest other row is at distance 0
    radii = neighbours.kth_neighbour_radii(x, 3)
    assert max(held) <= 200 and len(held) == 13  # 4 rows of 50 a block
    full = np.sqrt(((x[:, None] - x[None]) ** 2).sum(axis=2))
    np.fill_diagonal(full, np.inf)
    assert np.allclose(radii, np.sort(full, axis=1)[:, 2])
    assert neighbours.kth_neighbour_radii(x, 1)[[7, 30]].tolist() == [0.0, 0.0]
