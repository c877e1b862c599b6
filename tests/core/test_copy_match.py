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
