"""A copy whose colours were changed as a whole (pixel_copies.py's second pass, colour images only): a training image
greyed (turned to luminance and back to three channels), its channels swapped (RGB → BGR, or any other order) or
otherwise mixed (sepia, a colour matrix). The first pass compares each channel with the same channel: a channel of
such a copy is another picture there wherever the image's channels differ.

Here each of the sample's prepared channels is compared with the best combination of the candidate's prepared
channels, on their overlap (each centred there): the residual of those least-squares fits (a colour matrix), the
channels together, as a distance on the scale of the first pass's (0 for a copy, √2 for an unrelated image). Every
copy above is such a matrix exactly (up to rounding): a channel swap a permutation, a greyed copy's channels one
luminance, sepia a mix. Only the COLOUR_FIRST of a sample's shortlisted candidates that come nearest on their grey so
on images block-averaged as the shortlist's (each channel kept, shifted a coarse pixel at most) are aligned so at full
size, over the mirror views and shifts: the whole images, not their crops, rotations or quarter turns, which a greyed
or swapped copy that is also cropped or turned misses. The shortlist's own distance (on the channels' mean) ranked the
source of a greyed copy 16th of 200 among digits whose channels are three different digits.

The first version (2026-12-07) fitted the sample's grey alone, and its distance counted wherever lower than the first
pass's: three free weights, tried over 4 candidates × 3 views × up to 81 shifts, fit distinct images closely where a
channel holds few values (every 8² image of 2×2-pixel blocks any other exactly; 68 of 100 distinct 16² ones of
4×4-pixel blocks flagged, none before). Fitting every channel makes a chance fit as rare as three at once, and the
distance counts only below COLOUR_MARGIN × the same fit's smallest distance to any other of the sample's real images
so aligned (_beyond_chance): a clean greyed or swapped copy's is under 0.04 of it, a distinct image's 0.52 or more on
the sets measured (BENCHMARKS.md).
"""

from __future__ import annotations

import numpy as np

from ganaug_core.metrics.pixel_align import _shifts
from ganaug_core.metrics.pixel_crops import _candidate_images

COLOUR_FIRST = 4  # shortlisted real images aligned ignoring colour: those nearest so on 8×8 images
COLOUR_MARGIN = 0.5  # the fit counts only below this share of its distance to the sample's next real image
_RIDGE = 1e-6  # share of a candidate's channel variance added to its channels' covariance (a grey one has rank 1)


def _fit_distances(a, masks: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, T, K) distance of a row's channels, each shifted T ways (`a`: an iterable of (N, T, D), zero off each
    shift's overlap `masks` (T, D)), to the best combinations of the C channels of each of its K candidates (`b`
    (N, K, C, D)), one per channel of `a`, all centred on the overlap: √(2 − 2 × the share of the row's variance, its
    channels together, that the combinations explain, square-rooted)."""
    n, k, ch, size = b.shape
    count = masks.sum(1).astype(np.float64)[None, :]  # (1, T)
    sb = (b.reshape(-1, size) @ masks.T).astype(np.float64).reshape(n, k, ch, -1).transpose(0, 3, 1, 2)  # (N,T,K,C)
    cov = np.empty((n, masks.shape[0], k, ch, ch))
    for i in range(ch):
        for j in range(i, ch):  # the channels' products summed over each overlap: C × (C + 1) / 2 products
            sbb = ((b[:, :, i] * b[:, :, j]).reshape(-1, size) @ masks.T).astype(np.float64).reshape(n, k, -1)
            cov[..., i, j] = cov[..., j, i] = sbb.transpose(0, 2, 1) - sb[..., i] * sb[..., j] / count[..., None]
    cov = cov + _RIDGE * np.trace(cov, axis1=-2, axis2=-1)[..., None, None] * np.eye(ch) + 1e-12 * np.eye(ch)
    explained, var = 0.0, 0.0
    for x in a:  # one channel of the row at a time: its shifted copies are as large as the grey's were
        sa, saa = x.sum(2).astype(np.float64), (x * x).sum(2).astype(np.float64)  # (N, T)
        sab = np.matmul(x, b.reshape(n, k * ch, size).transpose(0, 2, 1)).astype(np.float64).reshape(n, -1, k, ch)
        cross = sab - sa[..., None, None] * sb / count[..., None, None]  # (N, T, K, C)
        var = var + np.maximum(saa - sa * sa / count, 0.0)[..., None]  # (N, T, 1)
        fit = np.linalg.solve(cov, cross[..., None])[..., 0]
        explained = explained + np.maximum((fit * cross).sum(-1), 0.0)  # the variance the best combination explains
    ncc = np.where(var > 1e-12, np.sqrt(np.minimum(explained / np.where(var > 1e-12, var, 1.0), 1.0)), 0.0)
    return np.sqrt(np.maximum(2.0 - 2.0 * ncc, 0.0))


def _recoloured_distances(view: np.ndarray, images: np.ndarray, cand: np.ndarray, max_shift: int) -> np.ndarray:
    """(N, T, K) distance of each row, shifted T ways (_shifts, up to max_shift pixels), to each of its K candidates
    (codes of crops of `images`, as _candidate_images) through the best colour matrix: each of the row's channels
    the best combination of the candidate's."""
    n, ch = view.shape[:2]
    targets = _candidate_images(images, cand, max_shift).reshape(n, cand.shape[1], ch, -1)
    masks = _shifts(view[:1, :1], max_shift)[1]
    channels = (_shifts(view[:, c : c + 1], max_shift)[0].transpose(1, 0, 2) for c in range(ch))  # zero off overlap
    return _fit_distances(channels, masks, targets)


def _recoloured(view: np.ndarray, images: np.ndarray, cand: np.ndarray, max_shift: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N,) smallest distance of each row to its candidates (codes of crops of `images`, as _candidate_images)
    through the best colour matrix (_recoloured_distances), over shifts of up to max_shift pixels; (N,) the candidate
    and (N,) the shift (index of _shifts) reaching it."""
    n = len(view)
    d = _recoloured_distances(view, images, cand, max_shift).reshape(n, -1)
    best = d.argmin(axis=1)
    rows = np.arange(n)
    return d[rows, best], cand[rows, best % cand.shape[1]], best // cand.shape[1]


def _nearest_recoloured(view: np.ndarray, small: np.ndarray, cand: np.ndarray, first: int) -> np.ndarray:
    """(N, first) the distinct real images among each row's `cand` (indices into `small`, the real images
    block-averaged, each channel kept) nearest ignoring colour once `view` is block-averaged alike, shifted up to a
    block each way; a row with fewer distinct candidates repeats its nearest."""
    n, ch, side = len(view), small.shape[1], small.shape[-1]
    grey = view.mean(axis=1, keepdims=True)
    grey = grey.reshape(n, 1, side, grey.shape[-1] // side, side, -1).mean(axis=(3, 5))
    shifted, masks = _shifts(grey, 1)
    d = _fit_distances([shifted.transpose(1, 0, 2)], masks, small[cand].reshape(n, cand.shape[1], ch, -1)).min(axis=1)
    order = np.argsort(cand, axis=1, kind="stable")
    ids = np.take_along_axis(cand, order, 1)
    again = np.zeros_like(ids, dtype=bool)
    again[:, 1:] = ids[:, 1:] == ids[:, :-1]
    np.put_along_axis(d, order, np.where(again, np.inf, np.take_along_axis(d, order, 1)), 1)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :first]
    nearest = np.where(np.isfinite(np.take_along_axis(d, nearest, 1)), nearest, nearest[:, :1])
    return np.take_along_axis(cand, nearest, 1)


def _beyond_chance(d: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N,) each row's smallest distance ignoring colour, the real image and the column reaching it, from `d` (N, J)
    its distances to the real images `cand` (N, J) (each mirror view's COLOUR_FIRST, a real image possibly in
    several); the distance is inf where it is not below COLOUR_MARGIN × the smallest to any other of them."""
    rows = np.arange(len(d))
    best = d.argmin(axis=1)
    index = cand[rows, best]
    other = np.where(cand != index[:, None], d, np.inf).min(axis=1)
    # The free weights fit anything where a channel holds few values (2×2-pixel blocks at 8²: every candidate
    # exactly): only a distance the same fit does not reach on the sample's other real images is a copy's.
    chance = ~(d[rows, best] < COLOUR_MARGIN * other)
    return np.where(chance, np.inf, d[rows, best]), index, best
