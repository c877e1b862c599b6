"""The crops the pixel copy check aligns a sample with (pixel_copies.py, copy_match.py): a real image cropped to
each of CROP_SCALES of its side and rescaled to full size, centred or at the windows off the centre that shifts of up
to max_shift pixels do not reach from there; the candidates' crops made only when they are aligned; and, for the best
match, every crop at whole pixels down to the smallest scale."""

from __future__ import annotations

from typing import Optional

import numpy as np

from ganaug_core.metrics.pixel_align import MAX_SHIFT, _normalise, _window_matrix

CROP_SCALES = (1.0, 0.875, 0.8125, 0.75)  # side of the centred crop that is rescaled to full size; 1.0: no crop


def _crop_windows(side: int, max_shift: int) -> list[list[tuple[float, float]]]:
    """For each of CROP_SCALES, the (y, x) offsets of the crop windows aligned: the centred one where shifts of up
    to max_shift pixels reach every crop position from it; else a grid of windows that does (a 75 % crop at a
    corner lies 5.3 px from the centred one at 32²: 4 windows)."""
    if max_shift < 1:  # no shift reaches any other position: no number of windows would cover them
        raise ValueError(f"crop windows need shifts of at least one pixel, got {max_shift} (images of {side}×{side})")
    out = []
    for scale in CROP_SCALES:
        span, reach = side - scale * side, max_shift * scale
        n = 1 if span <= 2 * reach else int(np.ceil(span / (2 * reach)))
        at = [span / 2] if n == 1 else np.linspace(reach, span - reach, n).tolist()
        out.append([(y, x) for y in at for x in at])
    return out


def _crop(r: np.ndarray, k: int, window: Optional[int] = None, max_shift: int = MAX_SHIFT) -> np.ndarray:
    """(M, C, S, S): each image's crop at CROP_SCALES[k] (centred, or the `window` of _crop_windows), rescaled to
    full size and renormalised. One product per image and channel (matmul over the stack), so an image's crop is
    the same bits whichever other images are cropped with it: the check crops only its candidates, copy_match one
    image."""
    if CROP_SCALES[k] == 1.0:
        return r
    side = r.shape[-1]
    centred = (side - CROP_SCALES[k] * side) / 2
    oy, ox = (centred, centred) if window is None else _crop_windows(side, max_shift)[k][window]
    wy, wx = (_window_matrix(side, CROP_SCALES[k] * side, o) for o in (oy, ox))
    return _normalise(wy @ r @ wx.T)


def _candidate_images(images: np.ndarray, cand: np.ndarray, max_shift: int = MAX_SHIFT) -> np.ndarray:
    """(*cand.shape, D): the crops that candidate codes `cand` name ((w · K + k) · M + m: image m, crop scale k,
    crop window w of _crop_windows; the bank's flat indices are window 0), computed for these candidates only. A
    bank of every crop held 4 × the real images' pixels (≈ 0.5 GB at 10,000 32×32 colour images); the candidates
    are at most a few thousand distinct crops per block of samples."""
    m, scales = len(images), len(CROP_SCALES)
    flat = images.reshape(m, -1)
    out = flat[cand % m]  # scale 0: the image itself
    code = cand.reshape(-1) // m
    for kw in np.unique(code[code % scales > 0]):
        at = np.flatnonzero(code == kw)
        unique, inverse = np.unique(cand.reshape(-1)[at] % m, return_inverse=True)
        out.reshape(-1, flat.shape[1])[at] = _crop(images[unique], int(kw % scales), int(kw // scales),
                                                   max_shift).reshape(len(unique), -1)[inverse]
    return out


def _with_windows(cand: np.ndarray, m: int, side: int, max_shift: int) -> np.ndarray:
    """`cand` (N, C) with each candidate at a scale of several crop windows replaced by all of them (window 0 is
    the code itself), rows padded with their first candidate (a repeat never wins a tie)."""
    windows, scales = _crop_windows(side, max_shift), len(CROP_SCALES)
    extra = [np.where(cand // m == k, cand + w * scales * m, -1)
             for k, ws in enumerate(windows) for w in range(1, len(ws))]
    if not extra:
        return cand
    every = np.concatenate([cand, *extra], axis=1)
    every = np.take_along_axis(every, np.argsort(every < 0, axis=1, kind="stable"), axis=1)
    every = every[:, : int((every >= 0).sum(1).max())]
    return np.where(every >= 0, every, every[:, :1])


def _exact_crop_distance(view: np.ndarray, source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) distance of each row of `view` to the nearest crop of its `source` row taken at whole pixels (every
    side from the smallest crop scale up, every position) and rescaled to full size, and (N, 3) that crop's side,
    x and y (copy_match.py says where). The centred crops and whole shifts of the search land up to half a pixel
    off such a crop, which on sharp strokes costs as much as the difference between two images."""
    size = view.shape[-1]
    v = view.reshape(len(view), -1)
    best = np.full(len(view), np.inf)
    where = np.zeros((len(view), 3), dtype=np.int64)
    for window in range(int(np.ceil(min(CROP_SCALES) * size)), size):
        a = np.stack([_window_matrix(size, window, o) for o in range(size - window + 1)])  # (O, S, S)
        crops = np.einsum("aij,ncjk,blk->nabcil", a, source, a, optimize=True).reshape(len(view), -1, v.shape[1])
        # `v` has zero mean and unit norm: only the crop needs centring, and only in its norm.
        dot = np.matmul(crops, v[:, :, None])[..., 0]
        var = (crops * crops).sum(2) - crops.sum(2) ** 2 / v.shape[1]
        ncc = np.where(var > 1e-12, dot / np.sqrt(np.where(var > 1e-12, var, 1.0)), 0.0)
        k = ncc.argmax(axis=1)  # position a·O + b: a the crop's row offset (y), b its column offset (x)
        d = np.sqrt(np.maximum(2.0 - 2.0 * ncc[np.arange(len(view)), k], 0.0))
        better = d < best
        best[better] = d[better]
        where[better] = np.stack([np.full(len(view), window), k % len(a), k // len(a)], axis=1)[better]
    return best, where
