"""Euclidean nearest-neighbour primitives shared by PRDC, authenticity, DCR and the per-sample scores."""

from __future__ import annotations

import numpy as np

_CHUNK = 2048  # rows per block: keeps a (chunk × M) float64 distance block small for large real sets


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances, float64 (len(a), len(b)); exact zeros for identical rows."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    bb = (b * b).sum(1)
    out = np.empty((len(a), len(b)), dtype=np.float64)
    for i in range(0, len(a), _CHUNK):
        x = a[i : i + _CHUNK]
        d2 = (x * x).sum(1)[:, None] + bb[None, :] - 2.0 * x @ b.T
        out[i : i + _CHUNK] = np.sqrt(np.maximum(d2, 0.0))
    # The expansion above loses precision for near-identical rows; recompute exact matches exactly.
    out[out < 1e-6] = 0.0
    return out


def nearest(a: np.ndarray, b: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `a`, the indices (N, k) and distances (N, k) of its k nearest rows of `b`, nearest first."""
    k = min(k, len(b))
    d = pairwise_distances(a, b)
    if k < len(b) // 4:  # large reference sets: partition first, then sort only the k candidates
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        order = np.lexsort((part, np.take_along_axis(d, part, axis=1)), axis=1)  # by distance, ties by index
        idx = np.take_along_axis(part, order, axis=1)
    else:
        idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(d, idx, axis=1)


def kth_neighbour_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of `x` to its k-th nearest *other* row (the PRDC manifold radius)."""
    if len(x) < 2:
        raise ValueError("need at least two points for a neighbour radius")
    k = min(k, len(x) - 1)
    d = pairwise_distances(x, x)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]
