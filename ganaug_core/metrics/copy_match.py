"""Why a sample was flagged as a copy: the alignment the pixel copy check found, in numbers and in words.

pixel_copies.py finds, for each sample, the training image it copies (or the larger part of a blend) among all
real images; this module then aligns each flagged sample with that one image again, the same way, and keeps how:
mirrored or not, shifted by how many pixels, cropped to what share of the side; or, for a blend, which second
image and the share of each. One image per sample, so it costs little next to the check itself.

A match is a plain dict (stored as JSON with the sample, so an auditor later reads what the reviewer read):
  {"kind": "copy", "parts": [i], "mirrored": None | "left-right" | "upside-down", "shift": [dx, dy],
   "crop": None | side fraction, "crop_at": None | [x, y], "ratio": r}
  {"kind": "blend", "parts": [i, j], "weights": [wi, wj], "ratio": r}
  {"kind": "features", "parts": [i], "ratio": r}  (close in the domain features only)
`parts` index the real images given here; the caller may replace them by its own ids. Shifts and crop positions
are in pixels of the sample; dx > 0 is to the right, dy > 0 down.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ganaug_core.metrics.pixel_copies import (CROP_SCALES, MAX_SHIFT, MAX_SIDE, _block_average, _crops,
                                              _exact_crop_distance, _overlap_distance, _prepare, _shifts)

_MIRRORS = (None, "left-right", "upside-down")


def copy_matches(synth_images: np.ndarray, real_images: np.ndarray, index: np.ndarray, blend: np.ndarray,
                 ratio: np.ndarray, flagged: np.ndarray, prepared: Optional[np.ndarray] = None) -> list[Optional[dict]]:
    """(N,) a match for each flagged sample (None elsewhere): `index`, `blend` and `ratio` as pixel_copy_ratio
    returned them (`blend`: the sample is closer to a blend whose larger part is `index`). `prepared`: the real
    images as the check prepared them (its bank's `images`), to save preparing them again."""
    rows = np.flatnonzero(flagged)
    out: list[Optional[dict]] = [None] * len(synth_images)
    if len(rows) == 0:
        return out
    s = _prepare(synth_images[rows])
    r = _prepare(real_images) if prepared is None else prepared
    factor = synth_images.shape[-1] / s.shape[-1]  # the check compares images block-averaged to ≤ MAX_SIDE
    for n, row in enumerate(rows):
        i = int(index[row])
        match = (_blend_match(s[n], r, i, real_images) if blend[row]
                 else {**_aligned_match(s[n], r[i], factor), "parts": [i]})
        out[row] = {**match, "ratio": float(ratio[row])}
    return out


def _aligned_match(s: np.ndarray, r: np.ndarray, factor: float) -> dict:
    """How `s` (one prepared sample) lines up with `r` (one prepared real image): orientation, shift, crop."""
    side = s.shape[-1]
    max_shift = min(MAX_SHIFT, side // 4)
    bank = _crops(r[None])[:, 0].reshape(len(CROP_SCALES), -1)  # (K, D)
    views = [np.ascontiguousarray(v) for v in (s, s[..., ::-1], s[..., ::-1, :])]
    best = (np.inf, 0, 0, 0)
    for o, view in enumerate(views):
        shifted, masks = _shifts(view[None], max_shift)  # (T, 1, D), (T, D)
        a = shifted[:, 0].astype(np.float64)
        for k, b in enumerate(bank.astype(np.float64)):
            d = _overlap_distance(a @ b, a.sum(1), (a * a).sum(1), masks @ b, masks @ (b * b), masks.sum(1))
            t = int(d.argmin())
            if d[t] < best[0] - 1e-9:
                best = (float(d[t]), o, k, t)
    d, o, k, t = best
    crop_d, crop_where = _exact_crop_distance(views[o][None], r[None])
    if crop_d[0] < d - 1e-9:  # a crop between the centred scales, at any position: no shift on top of it
        window, x, y = (int(n) for n in crop_where[0])
        return dict(kind="copy", mirrored=_MIRRORS[o], shift=[0, 0], crop=round(window / side, 3),
                    crop_at=[int(round(x * factor)), int(round(y * factor))])
    width = 2 * max_shift + 1
    ay, ax = t // width - max_shift, t % width - max_shift  # the oriented sample is the real image moved by (ax, ay)
    dx, dy = (-ax, ay) if o == 1 else (ax, -ay) if o == 2 else (ax, ay)  # undo the mirror: the real image's frame
    scale = CROP_SCALES[k]
    return dict(kind="copy", mirrored=_MIRRORS[o], shift=[int(round(dx * factor)), int(round(dy * factor))],
                crop=None if scale == 1.0 else scale, crop_at=None)


def _blend_match(s: np.ndarray, r: np.ndarray, i: int, real_images: np.ndarray) -> dict:
    """The second part j of the best non-negative blend a·r_i + b·r_j of the sample, and each part's share of the
    blend of the images as they are (a 50/50 blend of two images reads 50 % / 50 % whatever their contrast)."""
    flat, v = r.reshape(len(r), -1).astype(np.float64), s.reshape(-1).astype(np.float64)
    sr, g, rr = flat @ v, flat @ flat[i], (flat * flat).sum(1)
    det = rr[i] * rr - g * g
    ok = det > 1e-9 * np.maximum(rr[i] * rr, 1e-12)
    det = np.where(ok, det, 1.0)
    wa, wb = (rr * sr[i] - g * sr) / det, (rr[i] * sr - g * sr[i]) / det
    res = np.where(ok & (wa > 0) & (wb > 0), (v @ v) - wa * sr[i] - wb * sr, np.inf)
    res[i] = np.inf
    j = int(res.argmin())
    # The prepared images have unit norm: a part's weight in the images as they are is its weight over its norm.
    norm_i, norm_j = _centred_norms(real_images[[i, j]])
    a, b = wa[j] / max(norm_i, 1e-12), wb[j] / max(norm_j, 1e-12)
    return dict(kind="blend", parts=[i, j], weights=[round(float(a / (a + b)), 3), round(float(b / (a + b)), 3)])


def _centred_norms(images: np.ndarray) -> np.ndarray:
    x = _block_average(images.astype(np.float32) / 255.0, MAX_SIDE)
    x = x - x.mean(axis=(1, 2, 3), keepdims=True)
    return np.sqrt((x.astype(np.float64) ** 2).sum(axis=(1, 2, 3)))


def copy_reason(match: Optional[dict]) -> Optional[str]:
    """The match in words, its parts named as stored: 'a copy of training image 4211, mirrored left-right and
    shifted 3 px right', 'a blend of training images 12 (60 %) and 907 (40 %)'. None for no match."""
    if not match or not match.get("parts"):
        return None
    parts = match["parts"]
    if match["kind"] == "blend":
        wa, wb = match.get("weights") or (None, None)
        shares = ((f" ({wa:.0%})".replace("%", " %"), f" ({wb:.0%})".replace("%", " %")) if wa is not None
                  else ("", ""))
        return f"a blend of training images {parts[0]}{shares[0]} and {parts[1]}{shares[1]}"
    if match["kind"] == "features":
        return f"close to training image {parts[0]} in the domain features"
    how = []
    if match.get("crop"):
        at = match.get("crop_at")
        how.append(f"cropped to {match['crop']:.0%}".replace("%", " %") + " of its side"
                   + (f" (from x={at[0]}, y={at[1]})" if at else ""))
        how.append("enlarged")
    if match.get("mirrored"):
        how.append("mirrored left-right" if match["mirrored"] == "left-right" else "flipped upside down")
    moves = _moves(*(match.get("shift") or (0, 0)))
    if moves:
        how.append("shifted " + " and ".join(moves))
    text = f"a copy of training image {parts[0]}"
    if not how:
        return text
    return text + ", " + (", ".join(how[:-1]) + " and " + how[-1] if len(how) > 1 else how[0])


def _moves(dx: int, dy: int) -> list[str]:
    out = []
    if dx:
        out.append(f"{abs(dx)} px {'right' if dx > 0 else 'left'}")
    if dy:
        out.append(f"{abs(dy)} px {'down' if dy > 0 else 'up'}")
    return out
