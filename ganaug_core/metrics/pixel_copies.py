"""Near-copies in pixel space that feature distances miss: a training image shifted, cropped and rescaled, rotated,
turned, brightened, contrast-scaled, mirrored, lightly noised, or blended from two training images.

The authenticity ratio of Alaa et al. again, but on pixels: for each synthetic image, the distance to the closest real
training image once the two are aligned, divided by that real image's own (plain, unaligned) distance to its nearest
other real image. Aligned means: each colour channel's mean brightness removed and the image scaled to unit norm, each
channel alike (contrast; a tinted copy is a copy: pixel_align._normalise); the sample mirrored left-right or upside
down; shifted by up to MAX_SHIFT pixels (at most a quarter of the side) each way, the two compared on their overlap
only (a shifted copy has lost a strip at one border, to repeated edge pixels or wrapped-around ones); the real image
cropped to CROP_SCALES of its side and rescaled to full size, the crop centred or, where the shifts do not reach a
corner from there (75 % at 32²), at a few windows off the centre that together cover every position; each candidate
also rotated by ROTATIONS (±4–16°, the best refined to 0.5°: ±3–17°), compared where both are inside the image; and
for the best match every whole-pixel crop down to the smallest scale. Quarter turns and flips along a diagonal
(ORIENTATIONS) are searched too, against whole images shifted up to QUARTER_SHIFT pixels. A blend of two training
images is measured apart (pixel_distances.py): the residual of the best non-negative combination a·r_i + b·r_j (r_i
among the BLEND_FIRST real images most correlated with the sample, r_j any), over r_i's plain distance to its nearest
other real image, is a copy below BLEND_RATIO. Colour images are aligned once more ignoring colour, the few nearest
candidates only, and only where that fit is well below its fit to the sample's other such candidates (pixel_colours.py):
a copy greyed, with its channels swapped or mixed, mirrored and shifted. Not aligned: rotations over 17° (other than
quarter turns) or combined with a crop at a corner, turned copies that are also cropped or shifted more than
QUARTER_SHIFT, shears, crops below 75 %, shifts over MAX_SHIFT, a blend of three or more images or of shifted ones,
blurring beyond what the ratio tolerates, and a greyed or channel-swapped copy that is also cropped, rotated or turned.

PIXEL_COPY_RATIO and BLEND_RATIO are calibrated on the demo digits (benchmarks/evaluation.py, 200 copies of each
kind; BENCHMARKS.md "Evaluation") against 208 images no decision reads (a quarter of each common class's training
images, held out of the reference set; the test split is not read) and 800 samples of a trained generator: see
BENCHMARKS.md for the rates. The lowest of the held-out images: 0.413 (threshold 0.35) and, as a blend, 0.347
(BLEND_RATIO 0.25); of 800 samples of a trained generator 0.70.

Cost: images above 32×32 are compared block-averaged to at most 32×32. Candidates are chosen against every real
image (and every crop scale) on images block-averaged to at most SHORTLIST_SIDE, searched over the shifts there that
move the sample by at most MAX_SHIFT pixels; the full alignment is then computed only for the CANDIDATES nearest
plus any the caller adds (feature neighbours), their crops made when aligned. On 200 samples against 1,000 real
32×32 images that is ≈ 11× the cost of the one-pixel check it replaced, ≈ 20× at 16×16 (BENCHMARKS.md). The
candidate search and the blend fit still read every real image: at 32×32 colour, a batch of 200 takes seconds per
10,000 real images, and the prepared real side (RealBank) holds ≈ 1.1 × their pixels in float32. The crop windows,
rotations and turned orientations (2026-12-06) cost ≈ 12 s more per 200 samples at 32×32 colour, whatever the number
of real images: ≈ 4–6× the check's time against 1,000 such images, ≈ 1.7× against 10,000. The colour images' pass
that ignores colour (2026-12-07) took 6.3 of 325.6 s for 2,048 64² colour samples against 5,000 such images (≈ 2 %);
fitting every channel, not the grey alone, costs ≈ 1.6× that.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ganaug_core.metrics.pixel_align import MAX_SHIFT, _block_average, _overlap_distance, _prepare, _shifts, _turned
from ganaug_core.metrics.pixel_crops import (CROP_SCALES, _candidate_images, _crop, _exact_crop_distance,
                                             _with_windows)
from ganaug_core.metrics.pixel_colours import COLOUR_FIRST, _beyond_chance, _nearest_recoloured, _recoloured_distances
from ganaug_core.metrics.pixel_distances import _blend_residual, _own_distances, _ratio
from ganaug_core.progress import stop_if

PIXEL_COPY_RATIO = 0.35
BLEND_RATIO = 0.25
SHORTLIST_SIDE = 8
CANDIDATES = 32
ROTATIONS = (-16, -12, -8, -4, 4, 8, 12, 16)  # degrees (anticlockwise as shown) every candidate is first turned
ROTATION_SIDE = 16  # side at most at which every candidate is turned by every ROTATIONS angle
ROTATION_SHIFT = (1, 2)  # pixels a turned candidate is shifted each way: every one, then the best finer turned
QUARTER_SHIFT = 1  # pixels a sample turned by quarter turns (or flipped along a diagonal) is shifted each way
_ROWS = 256  # samples aligned at a time
_SLICE = 2048  # coarse bank rows the candidate search compares at a time
# The smallest side the check aligns, the smallest a dataset is stored at (`DatasetSpec.validate`). A shift is at most a
# quarter of the side (below, pixel_copy_ratio): at 2–3 pixels that is none, from which the crop windows could not be
# placed (a division by zero); and at 4² the check flagged 33 of 100 distinct tinted digits as copies (2026-12-07).
MIN_SIDE = 8


def _check_side(images: np.ndarray, which: str) -> None:
    """Square images (as a dataset stores them: a numpy shape error came from deep inside) of MIN_SIDE and up."""
    if images.ndim != 4 or images.shape[-1] != images.shape[-2] or images.shape[-1] < MIN_SIDE:
        got = "×".join(map(str, images.shape[-2:])) if images.ndim == 4 else f"an array of shape {images.shape}"
        raise ValueError(f"the pixel copy check needs square {which} images of at least {MIN_SIDE}×{MIN_SIDE} pixels, "
                         f"got {got}")


def _go_on() -> None:
    """A stop that never stops (pixel_copy_ratio's `stop` where no `should_stop` was given)."""


def _rotated(view, images, cand, max_shift):
    """(N,) smallest distance of each row of `view` to its candidates (codes, as _candidate_images) turned by
    every ROTATIONS angle and shifted up to ROTATION_SHIFT[0] pixels, the best of them then turned by 2° and 1°
    more either way and shifted up to ROTATION_SHIFT[1]; the candidate, the shift (index of _shifts(…,
    ROTATION_SHIFT[1])) and the angle reaching it. One degree off costs a sharp 32² digit ≈ 0.06 of distance, a
    quarter of its distance to the nearest other digit: the angle is searched to 0.5°. Every candidate is turned:
    ranked by their unturned distance, the right one was often not among the first 10 at 15°."""
    targets = _candidate_images(images, cand, max_shift)  # (N, C, D)
    n, rows = len(view), np.arange(len(view))
    coarse, fine = (min(r, max_shift) for r in ROTATION_SHIFT)
    # Every candidate at every angle on grey images block-averaged to ≤ ROTATION_SIDE (a quarter of the pixels at
    # 32², a twelfth in colour, and 2° off costs less there); the best one at full size.
    grey = targets.reshape(-1, view.shape[1], view.shape[-1] ** 2).mean(axis=1)  # grey first: a third to average
    small_view = _block_average(view.mean(axis=1, keepdims=True), ROTATION_SIDE)
    small = _block_average(grey.reshape(-1, 1, *view.shape[2:]), ROTATION_SIDE).reshape(*targets.shape[:2], -1)
    d = np.stack([_turned(small_view, small, a, coarse)[0] for a in ROTATIONS], 1)  # (N, A, C)
    a, k = np.unravel_index(d.reshape(n, -1).argmin(axis=1), d.shape[1:])
    angle, target = np.asarray(ROTATIONS, float)[a], targets[rows, k][:, None]
    best, where = _turned(view, target, angle, fine)
    best, where = best[:, 0].astype(np.float64), where[:, 0]
    for step in (2.0, 1.0):
        around = angle.copy()
        for sign in (-1, 1):
            dt, tt = _turned(view, target, around + sign * step, fine)
            better = dt[:, 0] < best
            best[better], angle[better], where[better] = dt[better, 0], around[better] + sign * step, tt[better, 0]
    return best, cand[rows, k], where, angle


def _coarse(x: np.ndarray) -> np.ndarray:
    return _block_average(x, SHORTLIST_SIDE).mean(axis=1, keepdims=True)


def _phases_of_shifts(factor: int, p: int, reach: int) -> list[np.ndarray]:
    """For each coarse shift t of _shifts(…, p), the phases (py major) whose pair with it moves the sample by at most
    `reach` pixels each way: phase (py, px) moves it py down and px right, shift t then p − dy and p − dx coarse
    pixels. The other pairs (up to 7 px one way at 32²) cost as much and move it beyond what is aligned."""
    move = np.arange(factor)[:, None] + factor * (p - np.arange(2 * p + 1))[None, :]  # (phase, coarse shift)
    near = np.abs(move) <= reach
    width = 2 * p + 1
    return [np.flatnonzero((near[:, t // width, None] & near[None, :, t % width]).reshape(-1))
            for t in range(width ** 2)]


def _shortlist(view: np.ndarray, coarse_bank: np.ndarray, max_shift: int, k: int, scales: int = len(CROP_SCALES),
               stop: Callable[[], None] = _go_on) -> np.ndarray:
    """(N, k) indices into the flattened bank (scale-major) of the nearest over all shifts, on small grey images:
    the mean squared difference on the overlap (the exact alignment of _aligned costs too much against every
    real image), in ascending index order. A shift that is not a whole number of coarse pixels is covered by first
    moving the sample by the remainder at full size: half a coarse pixel off costs as much as a different image.
    Shifts reach MAX_SHIFT pixels, and for a crop as far as a crop anywhere lies from the centred one (5.3 px for
    a 75 % crop at 32²): 91 of the 144 pairs of phase and coarse shift at 32², 81 of 100 at 16². `scales`: only
    the first CROP_SCALES are searched (1: the whole images). `stop()` is called before each slice of the bank."""
    side = view.shape[-1]
    factor = side // _coarse(view[:1]).shape[-1]
    phases = [np.pad(view, ((0, 0), (0, 0), (py, 0), (px, 0)))[..., :side, :side]
              for py in range(factor) for px in range(factor)]
    p = -(-max_shift // factor)
    shifted, masks = zip(*(_shifts(_coarse(phase), p) for phase in phases))
    shifted, masks, n = np.stack(shifted, axis=1), masks[0], masks[0].sum(1)  # (T, P, N, d), (T, d), (T,)
    # One product gives (|v|² + |b|² − 2 v·b) / n on the overlap: the search's cost is this matmul.
    va = np.concatenate([shifted, np.ones((*shifted.shape[:3], 1), np.float32),
                         (shifted * shifted).sum(-1, keepdims=True)], axis=-1)
    va = va.reshape(len(masks), -1, va.shape[-1])  # (T, P × N, d + 2)
    m = len(coarse_bank) // len(CROP_SCALES)
    k = min(k, scales * m)
    top_d, top_i = np.empty((len(view), 0), np.float32), np.empty((len(view), 0), np.int64)
    for scale_at, scale in enumerate(CROP_SCALES[:scales]):
        reach = max(max_shift, int(np.ceil((1 - scale) / 2 * side / scale)))
        usable = _phases_of_shifts(factor, p, reach)
        # The bank in slices: the phases' distances to one slice stay in cache, and memory stays bounded (the
        # whole (N, bank) table was 0.2 GB per block at 50,000 real images).
        for lo in range(scale_at * m, (scale_at + 1) * m, _SLICE):
            stop()
            b = coarse_bank[lo : min(lo + _SLICE, (scale_at + 1) * m)]
            sbb = masks @ (b * b).T  # (T, B)
            best = np.full((len(view), len(b)), np.inf, dtype=np.float32)
            for t, use in enumerate(usable):
                if len(use):
                    ba = np.concatenate([-2.0 * b, sbb[t][:, None], np.ones((len(b), 1), np.float32)], axis=1) / n[t]
                    v = va[t].reshape(len(phases), len(view), -1)[use].reshape(len(use) * len(view), -1)
                    d = (v @ ba.T.astype(np.float32)).reshape(len(use), len(view), len(b))
                    np.minimum(best, d.min(axis=0), out=best)
            top_d = np.concatenate([top_d, best], axis=1)
            top_i = np.concatenate([top_i, np.broadcast_to(np.arange(lo, lo + len(b)), best.shape)], axis=1)
            if top_d.shape[1] > k:
                keep = np.argpartition(top_d, k - 1, axis=1)[:, :k]
                top_d, top_i = np.take_along_axis(top_d, keep, 1), np.take_along_axis(top_i, keep, 1)
    return np.sort(top_i, axis=1)


def _aligned(view, images, cand, max_shift):
    """(N,) smallest aligned distance of each row of `view` to its candidates (codes of crops of `images`, as
    _candidate_images), and the candidate and the shift (index of _shifts) reaching it."""
    targets = _candidate_images(images, cand, max_shift)  # (N, C, D)
    shifted, masks = _shifts(view, max_shift)  # (T, N, D)
    sa, saa = shifted.sum(2).T[:, :, None], (shifted * shifted).sum(2).T[:, :, None]
    shifted = shifted.transpose(1, 0, 2)  # (N, T, D)
    n = masks.sum(1)[None, :, None]
    # The candidates' sums over each shift's overlap: one product for all rows (twice as fast as a stacked one).
    flat = targets.reshape(-1, targets.shape[-1])
    sb, sbb = ((x @ masks.T).reshape(*targets.shape[:2], -1).transpose(0, 2, 1) for x in (flat, flat * flat))
    d = _overlap_distance(np.matmul(shifted, targets.transpose(0, 2, 1)), sa, saa, sb, sbb, n)  # (N, T, C)
    t, c = np.unravel_index(d.reshape(len(view), -1).argmin(axis=1), d.shape[1:])
    rows = np.arange(len(view))
    # Recomputed in float64 for the winner: float32 sums cannot resolve an exact copy's zero.
    a, b, m = shifted[rows, t].astype(np.float64), targets[rows, c].astype(np.float64), masks[t].astype(np.float64)
    best = _overlap_distance((a * b).sum(1), a.sum(1), (a * a).sum(1), (b * m).sum(1), (b * b * m).sum(1), m.sum(1))
    best[best < 1e-6] = 0.0
    return best, cand[rows, c], t


# How a sample's view relates to the real image it is aligned with: the sample is the real image turned this
# many degrees clockwise, then mirrored. The first three views (unturned) are searched fully, with crops, shifts
# and rotations; the turned and diagonal ones (a quarter turn is rare in a generator's copies, and costs as much)
# against the whole images shifted up to QUARTER_SHIFT pixels only.
ORIENTATIONS = ((0, None), (0, "left-right"), (0, "upside-down"), (180, None), (90, None), (270, None),
                (270, "left-right"), (90, "left-right"))
MIRROR_VIEWS = 3


def _views(s: np.ndarray) -> list[np.ndarray]:
    # A mirrored or turned copy of a patient's image is still that image: each orientation is aligned in turn.
    lr = s[..., ::-1]
    views = (s, lr, s[..., ::-1, :], np.rot90(s, 2, axes=(-2, -1)), np.rot90(s, 1, axes=(-2, -1)),
             np.rot90(s, -1, axes=(-2, -1)), np.rot90(lr, -1, axes=(-2, -1)), np.rot90(lr, 1, axes=(-2, -1)))
    return [np.ascontiguousarray(v) for v in views]


def _view_shift(o: int, max_shift: int) -> int:
    return max_shift if o < MIRROR_VIEWS else min(QUARTER_SHIFT, max_shift)


def _nearest_aligned(s, images, shortlists, max_shift, extra=None, small=None, stop=_go_on):
    """(N,) distance to, and index of, the nearest real image after alignment; `shortlists`: _shortlist of each
    of _views(s); `small`: for colour images, `images` block-averaged to ≤ SHORTLIST_SIDE, each channel kept: the
    COLOUR_FIRST of each mirror view's candidates nearest ignoring colour there are aligned so at full size
    (pixel_colours.py). `stop()` is called before each view and each view's rotations."""
    m = len(images)
    best_d = np.full(len(s), np.inf)
    index = np.zeros(len(s), dtype=np.int64)
    orientation = np.zeros(len(s), dtype=np.int64)
    views = _views(s)
    recolour = []
    for o, (view, cand) in enumerate(zip(views, shortlists)):
        stop()
        if extra is not None:
            cand = np.concatenate([cand, extra], axis=1)  # at full size, scale index 0
        if small is not None and o < MIRROR_VIEWS:
            recolour.append(_nearest_recoloured(view, small, cand % m, COLOUR_FIRST))
        shift = _view_shift(o, max_shift)
        cand = _with_windows(cand, m, s.shape[-1], shift)
        d, c, _ = _aligned(view, images, cand, shift)
        if o < MIRROR_VIEWS:  # a generator's copy is often slightly rotated: every candidate turned a little
            stop()
            turned, c_turned = _rotated(view, images, cand, shift)[:2]
            c, d = np.where(turned < d, c_turned, c), np.minimum(d, turned)
        better = d < best_d  # ties keep the earlier orientation, the unmirrored one first
        index[better], best_d[better], orientation[better] = c[better] % m, d[better], o
    if recolour:  # a greyed or channel-swapped copy, the whole images only
        each = []
        for o, cand in enumerate(recolour):
            stop()
            each.append(_recoloured_distances(views[o], images, cand, _view_shift(o, max_shift)).min(axis=1))
        d, c, at = _beyond_chance(np.concatenate(each, axis=1), np.concatenate(recolour, axis=1))
        better = d < best_d
        index[better], best_d[better], orientation[better] = c[better], d[better], at[better] // recolour[0].shape[1]
    # Whole-pixel crops of the best match only, in its orientation: the costly step, kept to one image per row.
    view = np.stack(views)[orientation, np.arange(len(s))]
    return np.minimum(best_d, _exact_crop_distance(view, images[index])[0]), index


@dataclass(frozen=True)
class RealBank:
    """The real side of the check, which depends on the real images alone: a worker scoring batch after batch
    against the same training images prepares it once. It holds the prepared images in float32 (the exact
    stages need them: an exact copy's distance is zero only in float32 or better) and their crops only as the
    candidate search compares them, 8×8 grey: ≈ 1.1 × the real images' pixels in float32 at 32×32 colour (it
    held 5 ×, the crops at full size; BENCHMARKS.md). The candidates' crops are computed when aligned."""

    images: np.ndarray  # (M, C, S, S) prepared real images
    coarse: np.ndarray  # (len(CROP_SCALES) × M, d): every centred crop (_crop) as the shortlist compares them
    digest: str  # bank_digest of the raw real images, to refuse a bank of other images
    # The last samples' search (_searched), which extra candidates do not change: a batch's scores and metrics
    # check the same samples, with and without the feature neighbours.
    recent: dict = field(default_factory=dict, repr=False, compare=False)


def bank_digest(images: np.ndarray) -> str:
    """sha256 of an array's shape, type and bytes (0.07 s for 10,000 32×32 colour images, against seconds saved),
    hashed in place: a copy of the bytes was as large as the training images (590 MB at 48,000 64² ones)."""
    x = np.ascontiguousarray(images)
    h = hashlib.sha256(f"{x.shape}{x.dtype}".encode())
    h.update(memoryview(x))
    return h.hexdigest()


def prepare_real(real_images: np.ndarray) -> RealBank:
    """The real images prepared for pixel_copy_ratio (its `bank`)."""
    if len(real_images) < 2:
        raise ValueError("the pixel copy check needs at least two real images")
    _check_side(real_images, "real")
    first = _prepare(real_images[:1])
    r = np.empty((len(real_images), *first.shape[1:]), np.float32)
    coarse = np.empty((len(CROP_SCALES), len(r), _coarse(first).size), np.float32)
    # A slice at a time (each image's numbers do not depend on the others'): the float copies and every crop at
    # full size exist for one slice only, so preparing peaks near the bank's own size.
    for lo in range(0, len(r), _SLICE):
        part = r[lo : lo + _SLICE]
        part[:] = _prepare(real_images[lo : lo + _SLICE])
        for k in range(len(CROP_SCALES)):
            coarse[k, lo : lo + len(part)] = _coarse(_crop(part, k)).reshape(len(part), -1)
    coarse = coarse.reshape(len(CROP_SCALES) * len(r), -1)
    for a in (r, coarse):
        a.setflags(write=False)  # a bank is shared by every check that reads it
    return RealBank(images=r, coarse=coarse, digest=bank_digest(real_images))


def _searched(s: np.ndarray, bank: RealBank, max_shift: int, digest: str, stop: Callable[[], None] = _go_on
              ) -> list[tuple]:
    """For each block of _ROWS samples (a block's shifted copies are rows × shifts × pixels, its blend fits rows ×
    reals): the shortlist of each orientation, and the best blend's residual and larger part. Kept with the bank
    for the last samples searched (`digest`), the same arrays whatever candidates are added to the shortlists; a
    search stopped part-way keeps nothing."""
    key = (digest, max_shift)
    found = bank.recent.get(key)
    if found is None:
        s_flat, r_flat = s.reshape(len(s), -1), bank.images.reshape(len(bank.images), -1)
        found = [([_shortlist(v, bank.coarse, _view_shift(o, max_shift), CANDIDATES, 1 if o >= MIRROR_VIEWS else
                              len(CROP_SCALES), stop) for o, v in enumerate(_views(s[i : i + _ROWS]))],
                  *_blend_residual(s_flat[i : i + _ROWS], r_flat, stop)) for i in range(0, len(s), _ROWS)]
        for shortlists, *blend in found:
            for a in (*shortlists, *blend):
                a.setflags(write=False)
        bank.recent.clear()
        bank.recent[key] = found
    return found


def pixel_copy_ratio(
    synth_images: np.ndarray,
    real_images: np.ndarray,
    extra_candidates: Optional[np.ndarray] = None,
    max_shift: int = MAX_SHIFT,
    return_blend: bool = False,
    bank: Optional[RealBank] = None,
    should_stop: Optional[Callable[[], bool]] = None,
) -> tuple[np.ndarray, ...]:
    """(N,) index of the closest real image after alignment (for a blend, its larger part), and (N,) the pixel
    authenticity ratio (0 = copy), a blend's scaled so that PIXEL_COPY_RATIO is the one threshold for both.
    `return_blend`: also (N,) bool, the ratio is a blend's (copy_match.py then says how the sample matched).
    `bank`: prepare_real(real_images), where the caller checks many batches against the same real images.
    `should_stop()` is asked between chunks of the work (a slice of the real images in the candidate search, a
    part of the blend fit, an orientation of a block of samples, its rotations) and stops the check by raising
    InterruptedError: at 50,000 real images one block of 200 samples took ≈ 130 s, which a Cancel (or Ctrl-C in
    `ganaug app`, whose worker turns it into a stop) otherwise waited out."""
    stopped = InterruptedError("the copy check was stopped before its end")

    def stop() -> None:
        stop_if(should_stop, stopped)

    _check_side(synth_images, "synthetic")
    if max_shift < 1:  # the crop windows are placed for the shifts to reach every position between them
        raise ValueError(f"max_shift must be at least 1 pixel, got {max_shift}")
    if bank is None:
        bank = prepare_real(real_images)
    elif bank.digest != bank_digest(real_images):
        raise ValueError("the prepared real images (bank) are not these real images")
    s, r = _prepare(synth_images), bank.images
    # Small images shift less: the overlap keeps at least (3/4)² of the image, or anything would match something.
    max_shift = min(max_shift, s.shape[-1] // 4)
    extra = None if extra_candidates is None else np.asarray(extra_candidates, dtype=np.int64).reshape(len(s), -1)
    r_flat = r.reshape(len(r), -1)
    # Colour images are aligned once more ignoring colour (pixel_colours.py), their candidates chosen on the real
    # images block-averaged as the shortlist's are, each channel kept.
    small = _block_average(r, SHORTLIST_SIDE) if s.shape[1] > 1 else None
    parts = [(*_nearest_aligned(s[i : i + _ROWS], r, shortlists, max_shift,
                                None if extra is None else extra[i : i + _ROWS], small, stop), residual, part)
             for i, (shortlists, residual, part) in zip(
                 range(0, len(s), _ROWS), _searched(s, bank, max_shift, bank_digest(synth_images), stop))]
    distance, index, residual, part = (np.concatenate([p[k] for p in parts]) for k in range(4))
    # The denominators stay plain (unaligned) distances: aligning the real images to one another as well made new
    # images look no newer and hid more noisy copies (BENCHMARKS.md), at twice the cost.
    unique, inverse = np.unique(np.concatenate([index, part[part >= 0]]), return_inverse=True)
    own = _own_distances(r_flat, unique)[inverse]
    ratio = _ratio(distance, own[: len(s)])
    blend = np.full(len(s), np.inf)
    has = part >= 0
    blend[has] = _ratio(residual[has], own[len(s) :]) * (PIXEL_COPY_RATIO / BLEND_RATIO)
    use_blend = blend < ratio
    index[use_blend] = part[use_blend]
    if return_blend:
        return index, np.minimum(ratio, blend), use_blend
    return index, np.minimum(ratio, blend)
