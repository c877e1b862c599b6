"""The pixel copy check on colour images: a copy whose colour channels were brightened or contrast-scaled unequally
(tinted), greyed or put in another order is caught, a distinct colour image is not, and a grey image is aligned
exactly as before."""

import numpy as np

from ganaug_core.metrics.pixel_align import _block_average, _prepare
from ganaug_core.metrics.pixel_colours import _beyond_chance
from ganaug_core.metrics.pixel_copies import PIXEL_COPY_RATIO, pixel_copy_ratio, prepare_real
from tests.core.test_features import digits_8x8


def _colour_images():
    """16×16 colour images whose channels are three different digits on a base colour: their channels share little,
    as a photo's do not, so a tint is not undone by aligning all channels at once."""
    digits, _ = digits_8x8(30, 10)
    d = digits[:, 0].repeat(2, axis=1).repeat(2, axis=2).astype(np.float32) / 255.0
    n = len(d) // 3
    base = np.random.default_rng(0).uniform(60, 120, (n, 3, 1, 1))
    images = base + 110 * np.stack([d[:n], d[n : 2 * n], d[2 * n : 3 * n]], axis=1)
    images = np.clip(np.round(images), 0, 255).astype(np.uint8)
    return images[::2], images[1::2]  # real, distinct new images


def _u8(x):
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def test_tinted_copies_score_low_distinct_colour_images_do_not():
    real, new = _colour_images()
    f = real[:4].astype(np.float32)
    synth = np.stack([
        _u8(f[0] * np.array([1.2, 1.0, 0.8])[:, None, None]),  # warmer: red up, blue down by 20 %
        _u8(f[1] * np.array([0.8, 1.0, 1.2])[:, None, None]),  # cooler
        _u8(f[2] + np.array([20, 0, -20])[:, None, None]),  # a colour cast: each channel brightened its own way
        _u8(f[3] * np.array([1.15, 1.0, 0.85])[:, None, None])[..., ::-1],  # tinted and mirrored
    ])
    index, ratio = pixel_copy_ratio(synth, real)
    assert index.tolist() == [0, 1, 2, 3]
    assert (ratio < PIXEL_COPY_RATIO).all(), ratio  # before: 0.59–0.78, brightness and contrast over all channels
    _, new_ratio = pixel_copy_ratio(new, real, bank=prepare_real(real))
    assert (new_ratio >= PIXEL_COPY_RATIO).all(), new_ratio.min()


def test_greyed_and_channel_swapped_copies_score_low_distinct_colour_images_do_not():
    # Each channel was compared with the same channel only: where the channels carry different pictures (here three
    # digits), a greyed copy or one with its channels in another order scored 0.5–1.0, as a distinct image does.
    real, new = _colour_images()
    f = real[:8].astype(np.float32)
    luminance = np.repeat(0.299 * f[:, :1] + 0.587 * f[:, 1:2] + 0.114 * f[:, 2:], 3, axis=1)
    synth = np.concatenate([
        _u8(luminance[:2]),  # greyed as a photo editor greys (ITU-R 601)
        _u8(np.repeat(f[2:3].mean(axis=1, keepdims=True), 3, axis=1)),  # greyed by the channels' mean
        real[3:4, ::-1], real[4:5, [1, 2, 0]], real[5:6, [0, 2, 1]],  # BGR, GBR, RBG
        real[6:7, ::-1, :, ::-1],  # BGR and mirrored
        _u8(luminance[7:8])[..., ::-1, :],  # greyed and flipped upside down
    ])
    index, ratio = pixel_copy_ratio(synth, real)
    assert index.tolist() == list(range(8))
    assert (ratio < PIXEL_COPY_RATIO).all(), ratio
    _, new_ratio = pixel_copy_ratio(new, real, bank=prepare_real(real))
    assert (new_ratio >= PIXEL_COPY_RATIO).all(), new_ratio.min()


def test_a_grey_image_is_prepared_bit_for_bit_as_before():
    """One channel: the per-channel alignment is the whole image's, the thresholds' calibration (on grey digits)
    holds unchanged."""
    digits, _ = digits_8x8(20, 10)
    rng = np.random.default_rng(1)
    for images in (digits, digits.repeat(2, axis=2).repeat(2, axis=3),
                   rng.integers(0, 256, (50, 1, 64, 64), dtype=np.uint8), np.full((2, 1, 16, 16), 9, np.uint8)):
        x = _block_average(images.astype(np.float32) / 255.0, 32)
        x = x - x.mean(axis=(1, 2, 3), keepdims=True)  # the whole image's brightness and contrast, as before
        norm = np.sqrt((x * x).sum(axis=(1, 2, 3), keepdims=True))
        before = np.where(norm > 1e-6, x / np.where(norm > 1e-6, norm, 1.0), 0.0).astype(np.float32)
        assert np.array_equal(_prepare(images), before)


def test_each_channel_has_its_share_a_flat_one_none_a_faint_one_less():
    x = np.random.default_rng(2).integers(0, 256, (3, 3, 16, 16), dtype=np.uint8)
    x[1, 2] = 200  # flat: its mean's round-off (at 200 of 255 levels) is no picture
    x[2, 1] = 100 + (x[2, 1] > 127)  # faint: two levels, its noise would weigh as much as the picture
    p = _prepare(x).astype(np.float64)
    share = (p * p).sum(axis=(2, 3))
    assert np.allclose(p.mean(axis=(2, 3)), 0.0, atol=1e-6) and np.allclose(share.sum(axis=1), 1.0)
    assert np.allclose(share[0], 1 / 3) and np.allclose(share[1], [0.5, 0.5, 0.0]) and np.all(p[1, 2] == 0.0)
    assert share[2, 1] < 0.1 * share[2, 0]
    assert np.all(_prepare(np.full((1, 1, 16, 16), 200, np.uint8)) == 0.0)  # it was ±0.018 at unit norm


def _block_noise(n, side, seed):
    """Colour noise in 4×4-pixel blocks, each channel its own: few values per channel, so three free weights fit the
    grey of one image with another's channels closely by chance."""
    x = np.random.default_rng(seed).normal(size=(n, 3, side // 4, side // 4)).repeat(4, axis=2).repeat(4, axis=3)
    return _u8(128 + 60 * x)


def test_distinct_small_colour_images_are_not_flagged_by_the_pass_that_ignores_colour():
    # The grey fit's distance was taken wherever lower than the in-colour one: 68 of 100 such 16² images flagged
    # (median ratio 0.87 → 0.31), every one at 8², where a mix of 2×2-block channels fits any 2×2-block grey.
    real = _block_noise(60, 16, 3)
    _, ratio = pixel_copy_ratio(_block_noise(20, 16, 4), real)
    assert (ratio >= PIXEL_COPY_RATIO).all() and np.median(ratio) > 0.6, np.sort(ratio)[:5]
    copy = real[:2, ::-1]  # channels swapped: still a copy there
    index, ratio = pixel_copy_ratio(copy, real)
    assert index.tolist() == [0, 1] and (ratio < PIXEL_COPY_RATIO).all(), ratio


def test_a_grey_fit_counts_only_well_below_the_same_fit_to_other_real_images():
    d = np.array([[0.0, 0.0, 0.4], [0.01, 0.5, 0.6], [0.35, 0.6, 0.7], [0.3, 0.4, 0.3]])
    cand = np.array([[5, 6, 7], [5, 6, 7], [5, 6, 7], [5, 6, 5]])  # the last row: one real image in two views
    distance, index, at = _beyond_chance(d, cand)
    assert distance[0] == np.inf and distance[1] == 0.01 and distance[3] == np.inf  # 0 is no better than 0
    assert distance[2] == np.inf  # 0.35 is 58 % of 0.6: within chance
    assert index.tolist() == [5, 5, 5, 5] and at.tolist() == [0, 0, 0, 0]
