"""The pixel operations the copy check aligns images with (pixel_copies.py, copy_match.py): block averaging,
normalising brightness and contrast (of each colour channel), bilinear crop windows, shifts compared on their
overlap, and rotations compared where both images have pixels. Every function takes and returns float32
(N, C, S, S) arrays or their flattened rows.
"""

from __future__ import annotations

import functools

import numpy as np

MAX_SIDE = 32  # images above it are compared block-averaged to at most this side
MAX_SHIFT = 4  # pixels at the compared (≤ MAX_SIDE) resolution
CHANNEL_FLOOR = 0.25  # share of its strongest channel's contrast a colour channel is scaled as having at least


def block_factor(side: int, max_side: int = MAX_SIDE) -> int:
    """How many pixels a side of `side` is averaged in blocks of: halved while above `max_side` and still even
    (128 → 32, 96 → 24, 100 → 25, 48 → 24): the side the copy check compares is side // block_factor(side)."""
    factor = 1
    while side // factor > max_side and side % (factor * 2) == 0:
        factor *= 2
    return factor


def _block_average(x: np.ndarray, max_side: int) -> np.ndarray:
    factor = block_factor(x.shape[-1], max_side)
    if factor == 1:
        return x
    n, c, h, w = x.shape
    return x.reshape(n, c, h // factor, factor, w // factor, factor).mean(axis=(3, 5))


def _normalise(x: np.ndarray) -> np.ndarray:
    # Each channel apart: a copy tinted (its channels brightened or contrast-scaled unequally) stays a copy. A
    # channel with little contrast of its own is scaled up no more than to CHANNEL_FLOOR of the image's strongest,
    # or its noise (a copy's rounding) would weigh as much as the picture. One channel (grey): exactly the whole
    # image's alignment, bit for bit (its share is 1.0), but a flat image, whose mean's round-off was scaled up to
    # unit norm at some grey levels (200 of 255), is all zeros now.
    flat = x.max(axis=(2, 3), keepdims=True) == x.min(axis=(2, 3), keepdims=True)
    x = x - x.mean(axis=(2, 3), keepdims=True)
    norm = np.sqrt((x * x).sum(axis=(2, 3), keepdims=True))
    scale = np.maximum(norm, CHANNEL_FLOOR * norm.max(axis=1, keepdims=True))
    scale = np.where(scale > 1e-6, scale, 1.0)
    share = np.sqrt(((norm / scale) ** 2).sum(axis=1, keepdims=True))  # the image's norm so far
    scale = scale * np.where(share > 0, share, 1.0)
    return np.where(flat | (norm <= 1e-6), 0.0, x / scale).astype(np.float32)


def _prepare(images: np.ndarray) -> np.ndarray:
    """float32 (N, C, S, S), block-averaged to ≤ MAX_SIDE, each channel's mean removed and each image scaled to
    unit norm, its channels alike but for a faint one (_normalise: a copy with its brightness or contrast changed,
    in all channels or in each its own way, stays a copy; a flat image stays all zeros)."""
    return _normalise(_block_average(images.astype(np.float32) / 255.0, MAX_SIDE))


def _window_matrix(size: int, window: float, offset: float) -> np.ndarray:
    """(size, size) bilinear weights: row i samples the window [offset, offset + window) at output pixel i, the
    window rescaled to the full size (the pixel-centre convention of PIL's and torch's bilinear resize)."""
    pos = offset + (np.arange(size) + 0.5) * window / size - 0.5
    pos = np.clip(pos, offset, offset + window - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, size - 1)
    w = np.zeros((size, size), dtype=np.float32)
    np.add.at(w, (np.arange(size), lo), 1 - (pos - lo))
    np.add.at(w, (np.arange(size), hi), pos - lo)
    return w


def _shifts(x: np.ndarray, max_shift: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, N, D) every shift of up to max_shift pixels each way, zero-filled, and (T, D) the mask of the pixels
    each shift keeps: a shifted copy has lost a strip at one border, so images are compared on the overlap only."""
    p = max_shift
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    inside = np.pad(np.ones(x.shape[1:], dtype=np.float32), ((0, 0), (p, p), (p, p)))
    h, w = x.shape[-2:]
    window = [(slice(dy, dy + h), slice(dx, dx + w)) for dy in range(2 * p + 1) for dx in range(2 * p + 1)]
    shifted = np.empty((len(window), *x.shape), x.dtype)  # written once, not sliced and then stacked
    for t, (sy, sx) in enumerate(window):
        shifted[t] = padded[..., sy, sx]
    return shifted.reshape(len(window), len(x), -1), np.stack([inside[..., sy, sx].reshape(-1) for sy, sx in window])


def _overlap_distance(sab, sa, saa, sb, sbb, n):
    """Distance between two images each centred and scaled to unit norm on their overlap (2 − 2 × their
    normalised cross-correlation, square-rooted), from the sums over the overlap."""
    cov = sab - sa * sb / n
    var = np.maximum(saa - sa * sa / n, 0.0) * np.maximum(sbb - sb * sb / n, 0.0)
    ncc = np.where(var > 1e-12, cov / np.sqrt(np.where(var > 1e-12, var, 1.0)), 0.0)
    return np.sqrt(np.maximum(2.0 - 2.0 * ncc, 0.0))


@functools.lru_cache(maxsize=64)
def _rotation(side: int, degrees: float):
    """Bilinear rotation of an S×S image by `degrees` anticlockwise (as shown, y down; PIL's Image.rotate) about its
    centre, as a sparse (S², S²) matrix (4 source pixels per output pixel), and (S²,) the pixels whose source lies
    inside the image (elsewhere the matrix row is 0: the copy's uncovered corners are compared on neither side)."""
    from scipy.sparse import csr_matrix

    c, t = (side - 1) / 2, np.deg2rad(degrees)
    y, x = np.mgrid[0:side, 0:side].reshape(2, -1) - c
    sx, sy = x * np.cos(t) - y * np.sin(t) + c, x * np.sin(t) + y * np.cos(t) + c
    inside = (sx >= 0) & (sx <= side - 1) & (sy >= 0) & (sy <= side - 1)
    x0, y0 = np.clip(np.floor(sx), 0, side - 2).astype(int), np.clip(np.floor(sy), 0, side - 2).astype(int)
    fx, fy = np.clip(sx - x0, 0, 1), np.clip(sy - y0, 0, 1)
    index = np.stack([y0 * side + x0, y0 * side + x0 + 1, (y0 + 1) * side + x0, (y0 + 1) * side + x0 + 1], 1)
    weight = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], 1) * inside[:, None]
    matrix = csr_matrix((weight.astype(np.float32).ravel(), (np.repeat(np.arange(side * side), 4), index.ravel())),
                        shape=(side * side, side * side))
    return matrix, inside.astype(np.float32)


def _turned(view, targets, degrees, shift):
    """(N, C) smallest distance of each row of `view` to each of its `targets` (N, C, D) turned by `degrees` (one
    angle, or one per row: (N,)), over shifts of up to `shift` pixels, compared where both are inside the image;
    (N, C) the shift (index of _shifts) reaching it."""
    if np.ndim(degrees):
        d, t = np.empty(targets.shape[:2]), np.empty(targets.shape[:2], dtype=np.int64)
        for a in np.unique(degrees):
            at = degrees == a
            d[at], t[at] = _turned(view[at], targets[at], float(a), shift)
        return d, t
    (n, c), (ch, side) = targets.shape[:2], view.shape[1::2]
    matrix, inside = _rotation(side, float(degrees))
    turned = np.ascontiguousarray((matrix @ targets.reshape(-1, side * side).T).T).reshape(n * c, -1)
    shifted, masks = _shifts(view, shift)  # (T, N, D), (T, D)
    keep = masks * np.tile(inside, ch)  # (T, D): the shifted sample's pixels where the turned one has any
    v = shifted.transpose(1, 0, 2) * keep  # (N, T, D)
    sb, sbb = ((x @ keep.T).reshape(n, c, -1).transpose(0, 2, 1) for x in (turned, turned * turned))
    turned = turned.reshape(n, c, -1)
    d = _overlap_distance(np.matmul(v, turned.transpose(0, 2, 1)), v.sum(2)[..., None], (v * v).sum(2)[..., None],
                          sb, sbb, keep.sum(1)[None, :, None])
    t = d.argmin(axis=1)
    return np.take_along_axis(d, t[:, None], axis=1)[:, 0], t

