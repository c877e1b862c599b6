"""The distances the pixel copy check's ratio is made of (pixel_copies.py): the residual of a sample's best blend of two
real images, and each real image's plain distance to its nearest other real image, the ratio's denominator."""

from __future__ import annotations

from typing import Callable

import numpy as np

BLEND_FIRST = 32  # first parts of a blend tried: the real images most correlated with the sample
_OWN_FIRST = 8  # nearest other real images, by float32 distance, whose distance is recomputed in float64
_OWN_SLICE = 8192  # real images the nearest-other search compares at a time


def _blend_residual(s_flat: np.ndarray, r_flat: np.ndarray, stop: Callable[[], None] = lambda: None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(N,) residual of the best combination a·r_i + b·r_j (a, b > 0), r_i among the BLEND_FIRST real images
    most correlated with the sample and r_j any other, and (N,) the index of the pair's larger part (-1 where no
    pair has both weights positive). The closed form of the two-image least squares for every r_j at once: a
    blend's parts are often not among the images nearest to it by plain distance. `stop()` is called before each
    first part (each a product with every real image)."""
    s, r = s_flat, r_flat  # float32: a blend's residual is far above float32's round-off
    rows = np.arange(len(s))
    sr, rr, ss = s @ r.T, (r * r).sum(1), (s * s).sum(1)
    order = np.argsort(-sr, axis=1, kind="stable")[:, : min(BLEND_FIRST, len(r))]
    best = np.full(len(s), np.inf)
    pair = np.full((len(s), 2), -1, dtype=np.int64)
    for p in range(order.shape[1]):
        stop()
        i = order[:, p]
        g = r[i] @ r.T  # (N, M)
        b1, ri = sr[rows, i][:, None], rr[i][:, None]
        det = ri * rr[None, :] - g * g
        ok = det > 1e-9 * np.maximum(ri * rr[None, :], 1e-12)
        det = np.where(ok, det, 1.0)
        wa, wb = (rr[None, :] * b1 - g * sr) / det, (ri * sr - g * b1) / det
        res2 = np.where(ok & (wa > 0) & (wb > 0), ss[:, None] - wa * b1 - wb * sr, np.inf)
        res2[rows, i] = np.inf
        j = res2.argmin(axis=1)
        better = res2[rows, j] < best
        best[better] = res2[rows, j][better]
        # The larger part, by its share of the blend's energy, is named as the copied image.
        larger = np.abs(wa[rows, j]) * np.sqrt(ri[:, 0]) >= np.abs(wb[rows, j]) * np.sqrt(rr[j])
        pair[better] = np.stack([np.where(larger, i, j), np.where(larger, j, i)], axis=1)[better]
    return np.sqrt(np.maximum(best, 0.0)), pair[:, 0]


def _own_distances(r_flat: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(len(rows),) plain distance of each real image r_flat[rows] to its nearest other real image. float32 over
    every real image in slices proposes the _OWN_FIRST nearest, float64 decides among them (the float64 copy of
    every real image took 1.2 GB per check at 50,000 32×32 colour images, and twice the time)."""
    x = r_flat[rows]
    xx, near_d, near_i = (x * x).sum(1), np.empty((len(rows), 0), np.float32), np.empty((len(rows), 0), np.int64)
    for lo in range(0, len(r_flat), _OWN_SLICE):
        b = r_flat[lo : lo + _OWN_SLICE]
        d = xx[:, None] + (b * b).sum(1)[None, :] - 2.0 * (x @ b.T)
        d[rows[:, None] == np.arange(lo, lo + len(b))[None, :]] = np.inf
        near_d = np.concatenate([near_d, d], axis=1)
        near_i = np.concatenate([near_i, np.broadcast_to(np.arange(lo, lo + len(b)), d.shape)], axis=1)
        if near_d.shape[1] > _OWN_FIRST:
            keep = np.argpartition(near_d, _OWN_FIRST - 1, axis=1)[:, :_OWN_FIRST]
            near_d, near_i = np.take_along_axis(near_d, keep, 1), np.take_along_axis(near_i, keep, 1)
    a, b = x.astype(np.float64), r_flat[near_i].astype(np.float64)  # (U, D), (U, F, D)
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(2) - 2.0 * np.einsum("ud,ufd->uf", a, b)
    d = np.sqrt(np.maximum(d2, 0.0))
    d[d < 1e-6] = 0.0  # as pairwise_distances: the expansion loses precision for near-identical rows
    d[near_i == rows[:, None]] = np.inf  # itself, proposed only where there are too few others
    return d.min(axis=1)


def _ratio(distance: np.ndarray, own: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(own > 0, distance / np.where(own > 0, own, 1.0), np.where(distance > 1e-6, 1e6, 0.0))
    ratio[distance < 1e-6] = 0.0
    return np.minimum(ratio, 1e6)
