"""Why a sample was flagged as a copy: scoring keeps which training image(s) it matched and how, in numbers and in
words (a shifted or mirrored copy, or a blend, does not look like its source at a glance)."""

import numpy as np
import pytest

from ganaug_core.metrics.copy_match import copy_reason
from ganaug_core.scoring import score_samples
from tests.core.test_features import tiny_extractor_and_data


def test_scoring_keeps_how_a_blend_and_a_shifted_or_mirrored_copy_match():
    fe, x, y, hx, hy = tiny_extractor_and_data()  # 8×8 digits
    f = x.astype(np.float32)
    a, b = 3, int(np.flatnonzero(y != y[3])[4])  # two different digits
    synth = np.stack([
        np.round(0.6 * f[a] + 0.4 * f[b]).astype(np.uint8),  # a 60/40 blend
        np.pad(x[5], ((0, 0), (0, 0), (1, 0)), mode="edge")[..., :-1],  # one pixel to the right
        np.roll(x[7][..., ::-1], -1, axis=-2),  # mirrored left-right, one pixel up (wrapped)
        hx[0],  # a real image the check never saw: no copy
    ])
    s = score_samples(fe, x, y, synth, y[[a, 5, 7, 0]])
    assert s.memorized[:3].all()
    blend, shifted, mirrored = s.copy_match[:3]
    assert blend["kind"] == "blend" and blend["parts"] == [a, b]
    assert blend["weights"] == pytest.approx([0.6, 0.4], abs=0.02)
    assert s.nn_index[0, :2].tolist() == [a, b]  # both parts first among the nearest images, beside the sample
    assert {k: shifted[k] for k in ("kind", "parts", "mirrored", "shift", "crop")} == dict(
        kind="copy", parts=[5], mirrored=None, shift=[1, 0], crop=None)
    assert {k: mirrored[k] for k in ("kind", "parts", "mirrored", "shift")} == dict(
        kind="copy", parts=[7], mirrored="left-right", shift=[0, -1])
    assert shifted["ratio"] == pytest.approx(s.pixel_novelty[1])
    if not s.memorized[3]:
        assert s.copy_match[3] is None


def test_the_reason_in_words():
    assert copy_reason(dict(kind="copy", parts=[4211], mirrored="left-right", shift=[3, 0], crop=None)) == (
        "a copy of training image 4211, mirrored left-right and shifted 3 px right")
    assert copy_reason(dict(kind="blend", parts=[12, 907], weights=[0.6, 0.4])) == (
        "a blend of training images 12 (60 %) and 907 (40 %)")
    assert copy_reason(dict(kind="copy", parts=[5], mirrored="upside-down", shift=[-2, 1], crop=0.75,
                            crop_at=None)) == ("a copy of training image 5, cropped to 75 % of its side, enlarged, "
                                               "flipped upside down and shifted 2 px left and 1 px down")
    assert copy_reason(dict(kind="copy", parts=[5], mirrored=None, shift=[0, 0], crop=0.812, crop_at=[2, 1])) == (
        "a copy of training image 5, cropped to 81 % of its side (from x=2, y=1) and enlarged")
    assert copy_reason(dict(kind="copy", parts=[5], mirrored=None, shift=[0, 0], crop=None)) == (
        "a copy of training image 5")
    assert copy_reason(dict(kind="features", parts=[9])) == "close to training image 9 in the domain features"
    assert copy_reason(None) is None


def test_the_reason_says_where_a_crop_lies_and_how_a_copy_was_turned():
    assert copy_reason(dict(kind="copy", parts=[12], mirrored=None, shift=[0, 0], crop=0.8, crop_at=[0, 0],
                            side=16, rotated=None, turned=None)) == (
        "a copy of training image 12, cropped to 80 % of its side from its top left corner (x=0, y=0) and enlarged")
    assert copy_reason(dict(kind="copy", parts=[12], mirrored=None, shift=[0, 0], crop=0.75, crop_at=[4, 2],
                            side=16)) == (
        "a copy of training image 12, cropped to 75 % of its side from its right edge (x=4, y=2) and enlarged")
    assert copy_reason(dict(kind="copy", parts=[12], mirrored=None, shift=[0, 0], crop=None, rotated=6.0)) == (
        "a copy of training image 12, rotated 6° anticlockwise")
    assert copy_reason(dict(kind="copy", parts=[3], mirrored="left-right", shift=[0, 1], crop=None, rotated=-9.5,
                            turned=90)) == ("a copy of training image 3, rotated 9.5° clockwise, turned a quarter "
                                            "turn clockwise, mirrored left-right and shifted 1 px down")
    assert copy_reason(dict(kind="copy", parts=[3], mirrored=None, shift=[0, 0], crop=None, turned=180)) == (
        "a copy of training image 3, turned upside down (180°)")


def _rotated(img, degrees):
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(ch).rotate(degrees, Image.BILINEAR)) for ch in img])


def test_the_match_says_where_a_corner_crop_lies_and_how_far_a_copy_is_rotated():
    """32² digits: a 75 % crop at a corner, rotated copies (one mirrored after) and quarter turns, each found and
    explained; before, the crops were matched to other images and the turned copies not flagged at all."""
    from ganaug_core.metrics.copy_match import copy_matches
    from ganaug_core.metrics.pixel_copies import PIXEL_COPY_RATIO, pixel_copy_ratio
    from tests.core.test_features import digits_8x8
    from tests.core.test_metrics_pixel_copies import _crop_rescaled

    images, _ = digits_8x8(40, 5)
    real = images.repeat(4, axis=2).repeat(4, axis=3)[::2]
    synth = np.stack([_crop_rescaled(real[3], 24, 8, 0), _rotated(real[6], 6), _rotated(real[8], -10)[..., ::-1],
                      np.rot90(real[9], -1, axes=(-2, -1)), np.roll(np.rot90(real[11], 2, axes=(-2, -1)), 1, -1)])
    index, ratio, blend = pixel_copy_ratio(synth, real, return_blend=True)
    assert index.tolist() == [3, 6, 8, 9, 11] and (ratio < PIXEL_COPY_RATIO).all(), ratio
    matches = copy_matches(synth, real, index, blend, ratio, ratio < PIXEL_COPY_RATIO)
    assert [copy_reason(m) for m in matches] == [
        "a copy of training image 3, cropped to 75 % of its side from its bottom left corner (x=0, y=8) and enlarged",
        "a copy of training image 6, rotated 6° anticlockwise",
        "a copy of training image 8, rotated 10° clockwise and mirrored left-right",
        "a copy of training image 9, turned a quarter turn clockwise",
        "a copy of training image 11, turned upside down (180°) and shifted 1 px right"]
    assert matches[1]["rotated"] == 6.0 and matches[3]["turned"] == 90 and matches[0]["crop_at"] == [0, 8]


def test_a_greyed_or_channel_swapped_copy_is_said_to_have_its_colours_changed_a_tinted_one_not():
    from ganaug_core.metrics.copy_match import copy_matches
    from ganaug_core.metrics.pixel_copies import PIXEL_COPY_RATIO, pixel_copy_ratio
    from tests.core.test_metrics_pixel_copies_colour import _colour_images, _u8

    real, _ = _colour_images()  # 16² colour images whose channels are three different digits
    f = real[:3].astype(np.float32)
    synth = np.stack([
        np.roll(real[0, ::-1, :, ::-1], 1, axis=-1),  # BGR, mirrored left-right, one pixel right (wrapped)
        _u8(np.repeat(0.299 * f[1, :1] + 0.587 * f[1, 1:2] + 0.114 * f[1, 2:], 3, axis=0)),  # greyed
        _u8(f[2] * np.array([1.2, 1.0, 0.8])[:, None, None]),  # tinted: aligned as a colour copy
    ])
    index, ratio, blend = pixel_copy_ratio(synth, real, return_blend=True)
    swapped, greyed, tinted = copy_matches(synth, real, index, blend, ratio, ratio < PIXEL_COPY_RATIO)
    assert {k: swapped.get(k) for k in ("kind", "parts", "mirrored", "shift", "recoloured")} == dict(
        kind="copy", parts=[0], mirrored="left-right", shift=[1, 0], recoloured=True)
    assert greyed["parts"] == [1] and greyed["recoloured"] and greyed["shift"] == [0, 0]
    assert tinted["parts"] == [2] and "recoloured" not in tinted
    assert copy_reason({**swapped, "parts": [12]}) == (
        "a copy of training image 12, its colours changed (greyed, or its channels swapped or mixed), mirrored "
        "left-right and shifted 1 px right")
