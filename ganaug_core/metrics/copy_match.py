"""Why a sample was flagged as a copy: the alignment the pixel copy check found, in numbers and in words.

pixel_copies.py finds, for each sample, the training image it copies (or the larger part of a blend) among all
real images; this module then aligns each flagged sample with that one image again, the same way, and keeps how:
cropped to what share of the side and where, rotated by how many degrees, turned by quarter turns, mirrored or
not, shifted by how many pixels; or, for a blend, which second image and the share of each. One image per
sample, so it costs little next to the check itself.

A match is a plain dict (stored as JSON with the sample, so an auditor later reads what the reviewer read):
  {"kind": "copy", "parts": [i], "mirrored": None | "left-right" | "upside-down", "shift": [dx, dy],
   "crop": None | side fraction, "crop_at": None | [x, y], "rotated": None | degrees, "turned": None | degrees,
   "side": the sample's side in pixels, "ratio": r, and "recoloured": true where it lines up only once its colours
   are set aside (greyed, its channels swapped or mixed: pixel_colours.py)}
  {"kind": "blend", "parts": [i, j], "weights": [wi, wj], "ratio": r}
  {"kind": "features", "parts": [i], "ratio": r}  (close in the domain features only)
`parts` index the real images given here; the caller may replace them by its own ids. The sample is the training
image cropped at `crop_at` (its top left corner, in pixels of the training image) to `crop` of its side and
enlarged, rotated `rotated` degrees anticlockwise, turned `turned` degrees clockwise, mirrored, then shifted by
`shift` (pixels of the sample; dx > 0 is to the right, dy > 0 down). Records kept before 2026-12-06's rotations
have no "rotated", "turned" or "side", and none before 2026-12-07's recoloured copies a "recoloured": they read as
before.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ganaug_core.metrics.pixel_align import MAX_SHIFT, MAX_SIDE, _block_average, _prepare
from ganaug_core.metrics.pixel_colours import _recoloured
from ganaug_core.metrics.pixel_copies import (MIRROR_VIEWS, ORIENTATIONS, ROTATION_SHIFT, _aligned, _rotated,
                                              _view_shift, _views)
from ganaug_core.metrics.pixel_crops import CROP_SCALES, _crop_windows, _exact_crop_distance


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
                 else {**_aligned_match(s[n], r, i, factor), "parts": [i]})
        out[row] = {**match, "ratio": float(ratio[row])}
    return out


def _aligned_match(s: np.ndarray, r: np.ndarray, i: int, factor: float) -> dict:
    """How `s` (one prepared sample) lines up with r[i] (`r`: the prepared real images), searched as the check
    searches: every orientation, crop window, shift and rotation; then every whole-pixel crop."""
    side, m = s.shape[-1], len(r)
    max_shift = min(MAX_SHIFT, side // 4)
    windows = _crop_windows(side, max_shift)
    every = np.array([[(w * len(CROP_SCALES) + k) * m + i for k, ws in enumerate(windows) for w in range(len(ws))]])
    views = _views(s[None])
    best = (np.inf,)
    for o, view in enumerate(views):
        shift = _view_shift(o, max_shift)
        cand = every if o < MIRROR_VIEWS else np.array([[i]])
        d, c, t = _aligned(view, r, cand, shift)
        if d[0] < best[0] - 1e-9:
            best = (float(d[0]), o, int(c[0]), int(t[0]), shift, None)
        if o < MIRROR_VIEWS:
            d, c, t, angle = _rotated(view, r, cand, shift)
            if d[0] < best[0] - 1e-9:
                best = (float(d[0]), o, int(c[0]), int(t[0]), min(ROTATION_SHIFT[1], shift), float(angle[0]))
    crop_d, crop_where = _exact_crop_distance(views[best[1]], r[i][None])
    recoloured = False
    if s.shape[0] > 1:  # colour: a greyed or channel-swapped copy lines up on its grey (pixel_colours.py)
        in_colour = min(best[0], float(crop_d[0]))
        for o in range(MIRROR_VIEWS):
            shift = _view_shift(o, max_shift)
            d, c, t = _recoloured(views[o], r, every, shift)
            # Said only where colour alone lines up at least twice as far: a tinted copy is no greyed one.
            if d[0] < 0.5 * in_colour and d[0] < (best[0] if recoloured else np.inf) - 1e-9:
                best, recoloured = (float(d[0]), o, int(c[0]), int(t[0]), shift, None), True
        if recoloured:
            crop_d = np.full(1, np.inf)
    d, o, code, t, shift, angle = best
    turned, mirrored = ORIENTATIONS[o]
    common = dict(kind="copy", mirrored=mirrored, turned=turned or None, side=int(round(side * factor)),
                  **({"recoloured": True} if recoloured else {}))
    if crop_d[0] < d - 1e-9:  # a crop between the window scales, at any position: no shift on top of it
        window, x, y = (int(n) for n in crop_where[0])
        return dict(common, shift=[0, 0], crop=round(window / side, 3), rotated=None,
                    crop_at=[int(round(x * factor)), int(round(y * factor))])
    width = 2 * shift + 1
    ay, ax = t // width - shift, t % width - shift  # the oriented sample is the real image moved by (ax, ay)
    k, w = (code // m) % len(CROP_SCALES), code // (m * len(CROP_SCALES))
    scale, crop_at = CROP_SCALES[k], None
    if scale < 1.0:
        oy, ox = windows[k][w]
        span = side - scale * side
        ey, ex = oy - ay * scale, ox - ax * scale  # the window that the shift moves the crop to
        if angle is None and -0.5 <= min(ey, ex) and max(ey, ex) <= span + 0.5:
            (oy, ox), ax, ay = (min(max(ey, 0), span), min(max(ex, 0), span)), 0, 0
        crop_at = [int(round(ox * factor)), int(round(oy * factor))]
    dx, dy = _in_sample_frame(o, ax, ay, side)
    return dict(common, shift=[int(round(dx * factor)), int(round(dy * factor))],
                crop=None if scale == 1.0 else scale, crop_at=crop_at,
                rotated=None if angle is None else round(angle, 1))


def _in_sample_frame(o: int, ax: int, ay: int, side: int) -> tuple[int, int]:
    """A move (ax, ay) of view `o` of the sample as the same move of the sample itself: the view's inverse (a
    quarter turn, a mirror) turns the move too. Found by moving one pixel and undoing the view."""
    point = np.zeros((1, 1, 2 * side + 1, 2 * side + 1), np.float32)
    point[..., side, side] = 1
    moved = np.roll(point, (ay, ax), axis=(-2, -1))
    (y0, x0), (y1, x1) = (np.unravel_index(int(_undo_view(o, p)[0, 0].argmax()), p.shape[-2:]) for p in (point, moved))
    return int(x1 - x0), int(y1 - y0)


def _undo_view(o: int, view: np.ndarray) -> np.ndarray:
    """The sample whose view `o` (pixel_copies._views) is `view`: the real image turned ORIENTATIONS[o][0] degrees
    clockwise, then mirrored as ORIENTATIONS[o][1] says, where `view` is the real image."""
    turn = {0: 0, 90: -1, 180: 2, 270: 1}[ORIENTATIONS[o][0]]  # np.rot90's k: anticlockwise quarter turns
    x = np.rot90(view, turn, axes=(-2, -1))
    mirror = ORIENTATIONS[o][1]
    return x[..., ::-1] if mirror == "left-right" else x[..., ::-1, :] if mirror == "upside-down" else x


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
    shifted 3 px right', 'a copy of training image 12, cropped to 80 % of its side from its top left corner
    (x=0, y=0) and enlarged', 'a copy of training image 12, rotated 6° anticlockwise', 'a copy of training image
    5, its colours changed (greyed, or its channels swapped or mixed) and mirrored left-right', 'a blend of
    training images 12 (60 %) and 907 (40 %)'. None for no match."""
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
    if match.get("recoloured"):
        how.append("its colours changed (greyed, or its channels swapped or mixed)")
    if match.get("crop"):
        how.append(_cropped(match["crop"], match.get("crop_at"), match.get("side")))
        how.append("enlarged")
    if match.get("rotated"):
        a = match["rotated"]
        how.append(f"rotated {abs(a):g}° {'anticlockwise' if a > 0 else 'clockwise'}")
    if match.get("turned"):
        how.append({90: "turned a quarter turn clockwise", 180: "turned upside down (180°)",
                    270: "turned a quarter turn anticlockwise"}[match["turned"]])
    if match.get("mirrored"):
        how.append("mirrored left-right" if match["mirrored"] == "left-right" else "flipped upside down")
    moves = _moves(*(match.get("shift") or (0, 0)))
    if moves:
        how.append("shifted " + " and ".join(moves))
    text = f"a copy of training image {parts[0]}"
    if not how:
        return text
    return text + ", " + (", ".join(how[:-1]) + " and " + how[-1] if len(how) > 1 else how[0])


def _cropped(crop: float, at: Optional[list], side: Optional[int]) -> str:
    """'cropped to 80 % of its side from its top left corner (x=0, y=0)': where the crop lies, in thirds of the
    room it had to move, when the record knows the image's side (records before 2026-12-06's rotations say x and y
    only)."""
    text = f"cropped to {crop:.0%}".replace("%", " %") + " of its side"
    if not at:
        return text
    span = side - round(crop * side) if side else 0
    if span > 0:
        rows = ("top", "", "bottom")[min(2, int(3 * at[1] / (span + 1e-9)))] if at[1] < span else "bottom"
        cols = ("left", "", "right")[min(2, int(3 * at[0] / (span + 1e-9)))] if at[0] < span else "right"
        region = (f"{rows} {cols} corner" if rows and cols else f"{rows or cols} edge" if rows or cols
                  else "centre")
        return text + f" from its {region} (x={at[0]}, y={at[1]})"
    return text + f" (from x={at[0]}, y={at[1]})"


def _moves(dx: int, dy: int) -> list[str]:
    out = []
    if dx:
        out.append(f"{abs(dx)} px {'right' if dx > 0 else 'left'}")
    if dy:
        out.append(f"{abs(dy)} px {'down' if dy > 0 else 'up'}")
    return out
