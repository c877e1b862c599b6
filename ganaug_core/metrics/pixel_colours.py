"""A copy whose colours were changed as a whole (pixel_copies.py's second pass, colour images only): a training image
greyed (turned to luminance and back to three channels), its channels swapped (RGB → BGR, or any other order) or
otherwise mixed (sepia, a colour matrix). The first pass compares each channel with the same channel: a channel of
such a copy is another picture there wherever the image's channels differ.

Here the sample's grey (its prepared channels' mean) is compared with the best combination of the candidate's prepared
channels, on their overlap (each centred there): the residual of that least-squares fit, as a distance on the scale
of the first pass's (0 for a copy, √2 for an unrelated image). Every copy above is such a combination exactly (up to
rounding): a channel swap leaves the channels' mean unchanged, a greyed copy's channels are one luminance, a linear
mix of the training image's channels. Only the COLOUR_FIRST of a sample's shortlisted candidates that come nearest
so on images block-averaged as the shortlist's (each channel kept, shifted a coarse pixel at most) are aligned so at
full size, over the mirror views and shifts: the whole images, not their crops, rotations or quarter turns, which a
greyed or swapped copy that is also cropped or turned misses. The shortlist's own distance (on the channels' mean)
ranked the source of a greyed copy 16th of 200 among digits whose channels are three different digits.
"""

from __future__ import annotations

import numpy as np

from ganaug_core.metrics.pixel_align import _shifts
from ganaug_core.metrics.pixel_crops import _candidate_images

COLOUR_FIRST = 4  # shortlisted real images aligned ignoring colour: those nearest so on 8×8 images
_RIDGE = 1e-6  # share of a candidate's channel variance added to its channels' covariance (a grey one has rank 1)


def _fit_distances(a: np.ndarray, masks: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, T, K) distance of each row's grey shifted T ways (`a` (N, T, D), zero off each shift's overlap `masks`
    (T, D)) to the best combination of the C channels of each of its K candidates (`b` (N, K, C, D)), all centred
    on the overlap: √(2 − 2 × the share of the grey's variance that the combination explains, square-rooted)."""
    n, k, ch, size = b.shape
    count = masks.sum(1).astype(np.float64)[None, :]  # (1, T)
    sa, saa = a.sum(2).astype(np.float64), (a * a).sum(2).astype(np.float64)  # (N, T)
    sab = np.matmul(a, b.reshape(n, k * ch, size).transpose(0, 2, 1)).astype(np.float64).reshape(n, -1, k, ch)
    sb = (b.reshape(-1, size) @ masks.T).astype(np.float64).reshape(n, k, ch, -1).transpose(0, 3, 1, 2)  # (N,T,K,C)
    cov = np.empty((n, masks.shape[0], k, ch, ch))
    for i in range(ch):
        for j in range(i, ch):  # the channels' products summed over each overlap: C × (C + 1) / 2 products
            sbb = ((b[:, :, i] * b[:, :, j]).reshape(-1, size) @ masks.T).astype(np.float64).reshape(n, k, -1)
            cov[..., i, j] = cov[..., j, i] = sbb.transpose(0, 2, 1) - sb[..., i] * sb[..., j] / count[..., None]
    cross = sab - sa[..., None, None] * sb / count[..., None, None]  # (N, T, K, C)
    var = np.maximum(saa - sa * sa / count, 0.0)[..., None]  # (N, T, 1)
    ridge = _RIDGE * np.trace(cov, axis1=-2, axis2=-1)[..., None, None] * np.eye(ch) + 1e-12 * np.eye(ch)
    fit = np.linalg.solve(cov + ridge, cross[..., None])[..., 0]
    explained = np.maximum((fit * cross).sum(-1), 0.0)  # the variance the best combination explains
    ncc = np.where(var > 1e-12, np.sqrt(np.minimum(explained / np.where(var > 1e-12, var, 1.0), 1.0)), 0.0)
    return np.sqrt(np.maximum(2.0 - 2.0 * ncc, 0.0))


def _recoloured(view: np.ndarray, images: np.ndarray, cand: np.ndarray, max_shift: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N,) smallest distance of each row's grey to the best combination of its candidates' channels (codes of crops
    of `images`, as _candidate_images), over shifts of up to max_shift pixels; (N,) the candidate and (N,) the shift
    (index of _shifts) reaching it."""
    n, ch = view.shape[:2]
    targets = _candidate_images(images, cand, max_shift).reshape(n, cand.shape[1], ch, -1)
    shifted, masks = _shifts(view.mean(axis=1, keepdims=True), max_shift)  # zero outside the overlap
    d = _fit_distances(shifted.transpose(1, 0, 2), masks, targets).reshape(n, -1)
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
    d = _fit_distances(shifted.transpose(1, 0, 2), masks, small[cand].reshape(n, cand.shape[1], ch, -1)).min(axis=1)
    order = np.argsort(cand, axis=1, kind="stable")
    ids = np.take_along_axis(cand, order, 1)
    again = np.zeros_like(ids, dtype=bool)
    again[:, 1:] = ids[:, 1:] == ids[:, :-1]
    np.put_along_axis(d, order, np.where(again, np.inf, np.take_along_axis(d, order, 1)), 1)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :first]
    nearest = np.where(np.isfinite(np.take_along_axis(d, nearest, 1)), nearest, nearest[:, :1])
    return np.take_along_axis(cand, nearest, 1)
