"""Near-copies (a JPEG saved again, a resized copy, a thumbnail) stay on one side of the train/test split as identical
images do: split one by one, a test image's re-save trained the classifier and the generator it was scored against."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ganaug_core.dataset_sources import identical_groups, split_names, stratified_test_mask
from ganaug_core.datasets import IngestOptions, ingest, load_arrays
from ganaug_core.near_copies import (NEAR_CORRELATION, NEAR_RMS, QUANTUM, finer_pairs, near_copy_sets, near_pairs,
                                     signatures)


def smooth_folder(root, per_class=10, seed=3):
    """Two classes of distinct 16×16 pictures (random 4×4 colours, enlarged smoothly: photos' coarse shapes)."""
    rng = np.random.default_rng(seed)
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            small = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8))
            small.resize((16, 16), Image.BICUBIC).save(root / c / f"{i}.png")
    return root


def with_near_copies(root):
    """a/0.png saved again as a JPEG of quality 75, a/3.png as a 12×12 copy, and an 8×8 thumbnail of b/2.png in a."""
    Image.open(root / "a" / "0.png").save(root / "a" / "0_q75.jpg", quality=75)
    Image.open(root / "a" / "3.png").resize((12, 12), Image.LANCZOS).save(root / "a" / "3_small.png")
    Image.open(root / "b" / "2.png").resize((8, 8), Image.LANCZOS).save(root / "a" / "thumb_of_b2.png")
    return root


def _ingest(src, out, seed=0):
    return ingest(str(src), out, IngestOptions(resolution=16, workers=1, seed=seed))


def _sides(result):
    return {"/".join(im.source_path.split("/")[-2:]): im.split for im in result.images}


def test_a_jpeg_resave_a_resized_copy_and_a_thumbnail_land_on_the_side_of_their_original_for_every_seed(tmp_path):
    src = with_near_copies(smooth_folder(tmp_path / "src"))
    for seed in range(12):
        result = _ingest(src, tmp_path / f"out{seed}", seed)
        side = _sides(result)
        assert side["a/0_q75.jpg"] == side["a/0.png"], seed
        assert side["a/3_small.png"] == side["a/3.png"], seed
        assert side["a/thumb_of_b2.png"] == side["b/2.png"], seed
        assert {s for s in side.values()} == {"train", "test"}
    near = result.near_copies()
    assert (near["images"], near["sets"], near["across_classes"], near["across_splits"]) == (6, 3, 2, 0)
    assert result.duplicates()["images"] == 0  # none is identical: they are named apart


def test_distinct_images_are_not_merged():
    # The demo's 1,797 handwritten digits: different 3s (and two 1s 7.1 grey levels apart, the closest pair) are
    # different images.
    from sklearn.datasets import load_digits

    raw = (load_digits().images * (255.0 / 16.0)).round().astype(np.uint8)[:, None]
    assert (near_copy_sets(raw, identical_groups(raw)) == identical_groups(raw)).all()
    # Smooth random pictures, and flat ones of one grey (each is only identical to its copies).
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (300, 1, 4, 4)).astype(np.uint8)
    pixels = np.repeat(np.repeat(small, 4, axis=2), 4, axis=3)
    flat = np.full((3, 1, 16, 16), 120, np.uint8)
    flat[1] += 1  # a grey level apart: within NEAR_RMS, but there is no shape to compare
    pixels = np.concatenate([pixels, flat])
    assert near_copy_sets(pixels, identical_groups(pixels)).tolist() == list(range(302)) + [300]  # 302 is 300's copy


def test_the_search_finds_what_a_direct_comparison_finds_across_blocks():
    """The blocked search (a float32 first pass, in the order of the images' levels) against every pair compared in
    float64 on the signatures' grey levels: pairs just within and just beyond NEAR_RMS and NEAR_CORRELATION, in
    blocks of 7."""
    rng = np.random.default_rng(1)
    base = rng.integers(30, 226, (40, 1, 4, 4)).astype(np.float64)
    noise = rng.normal(0, 1, (40, 1, 4, 4)) * rng.uniform(0, 2 * NEAR_RMS, (40, 1, 1, 1))
    pixels = np.clip(np.concatenate([base, base + noise, base + 2 * noise]), 0, 255).round().astype(np.uint8)
    sig = signatures(pixels)
    x = sig.q / QUANTUM
    rms = np.sqrt(((x[:, None] - x[None]) ** 2).mean(-1))
    shape = x - x.mean(1, keepdims=True)
    corr = shape @ shape.T / np.outer(np.linalg.norm(shape, axis=1), np.linalg.norm(shape, axis=1))
    want = {(i, j) for i, j in zip(*np.nonzero((rms <= NEAR_RMS) & (corr >= NEAR_CORRELATION))) if i < j}
    assert 10 < len(want) < 120 and any(NEAR_RMS < r < 2 * NEAR_RMS for r in rms[:40, 40:80].diagonal())
    assert set(near_pairs(sig, block=7)) == want == set(near_pairs(sig))


def test_a_folder_without_near_copies_splits_as_before_and_again_alike(tmp_path):
    src = smooth_folder(tmp_path / "src")
    for seed in (0, 1, 2):
        result = _ingest(src, tmp_path / f"out{seed}", seed)
        arrays = load_arrays(tmp_path / f"out{seed}", result.class_names)
        before = split_names(stratified_test_mask(arrays.labels, 0.2, seed, identical_groups(arrays.images)))
        assert [im.split for im in result.images] == before.tolist()  # the split made before near-copies were sought
        assert all(im.near_set is None for im in result.images)
        again = _ingest(src, tmp_path / f"again{seed}", seed)
        assert ([(im.split, im.sha256) for im in again.images] == [(im.split, im.sha256) for im in result.images]
                and again.arrays_sha256 == result.arrays_sha256)


def test_an_npz_with_its_own_split_is_kept_and_its_near_copies_on_both_sides_are_counted(tmp_path):
    rng = np.random.default_rng(2)
    small = rng.integers(0, 256, (12, 4, 4)).astype(np.uint8)
    images = np.repeat(np.repeat(small, 4, axis=1), 4, axis=2)
    test = images[:4].astype(np.int16) + rng.integers(-2, 3, (4, 16, 16))  # the first four, saved again with noise
    np.savez(tmp_path / "m.npz", train_images=images, train_labels=np.arange(12) % 2,
             test_images=np.clip(test, 0, 255).astype(np.uint8), test_labels=np.arange(4) % 2)
    result = ingest(str(tmp_path / "m.npz"), tmp_path / "out", IngestOptions(resolution=16, workers=1))
    assert [im.split for im in result.images] == ["train"] * 12 + ["test"] * 4  # the file's own split
    near = result.near_copies()
    assert (near["images"], near["sets"], near["across_splits"]) == (8, 4, 8)


def test_images_alike_but_for_their_detail_are_not_merged_unless_one_is_a_thumbnail():
    """One part in a fixture, photographed twice: the same coarse picture, different detail. Compared again at the
    resolution (half the smaller stored side, 32 at most) they differ; a thumbnail is compared at its own scale."""
    rng = np.random.default_rng(4)
    template = np.kron(rng.integers(40, 216, (4, 4)), np.ones((8, 8)))
    detail = rng.normal(0, 20, (2, 32, 32))
    detail -= detail.reshape(2, 8, 4, 8, 4).mean(axis=(2, 4)).repeat(4, axis=1).repeat(4, axis=2)  # 0 in each 4×4
    pixels = np.clip(template + detail, 0, 255).round().astype(np.uint8)[:, None]
    same = identical_groups(pixels)
    assert near_copy_sets(pixels, same, np.array([200, 200])).tolist() == [0, 1]
    assert near_copy_sets(pixels, same, np.array([200, 16])).tolist() == [0, 0]  # the second, a 16-px thumbnail


def test_a_pair_on_the_threshold_is_decided_alike_whatever_the_float32_product_says():
    """The same pixels give the same sets on every machine: a float32 product's rounding follows the BLAS and the
    CPU, so it only picks candidates, and a pair exactly NEAR_RMS apart is tested on the integer signatures. Here
    the product is made to err by far more than float32 ever does, both ways: the pairs stay the same."""
    ramp = np.tile(np.arange(0, 192, 3, dtype=np.uint8).reshape(1, 1, 8, 8), (2, 1, 1, 1))
    pixels = ramp.copy()
    pixels[1] += int(NEAR_RMS)  # every cell NEAR_RMS grey levels brighter: exactly on the threshold, shapes equal
    sig = signatures(pixels)
    d = sig.q[0] - sig.q[1]
    assert d @ d == len(d) * (NEAR_RMS * QUANTUM) ** 2  # exactly on the threshold
    want = set(near_pairs(sig))
    assert want == {(0, 1)}
    for err in (1 - 1e-6, 1 + 1e-6):
        sig.cells = sig.cells * np.float32(err)
        assert set(near_pairs(sig)) == want


def test_distinct_photos_of_one_textured_surface_are_not_merged_but_their_copies_are():
    """A factory's photos of one metal surface under one lamp: the same gradient and stripes, each photo its own grain.
    Averaged over 8 × 8 cells the grain is gone and every photo is the lamp's same faint gradient, so all 24 (their
    pixels correlate ≈ 0.5) were one set, kept on one side of the split. Their detail differs; a JPEG re-save's and a
    brighter copy's agree with their original's."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:32, 0:32]
    surface = 128 + 14 * ((x + y) / 32 - 1) + 3 * np.sin(2 * np.pi * x / 6)
    photos = np.clip(surface + rng.normal(0, 6, (24, 32, 32)), 0, 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(photos[0]).save(buf, format="JPEG", quality=75)
    resaved = np.asarray(Image.open(buf))
    brighter = np.clip(photos[1].astype(np.int16) + 3, 0, 255).astype(np.uint8)
    pixels = np.concatenate([photos, resaved[None], brighter[None]])[:, None]
    proposed = sorted(near_pairs(signatures(pixels)))
    assert len(proposed) > 250  # the 8 × 8 pass proposes nearly every pair
    assert near_copy_sets(pixels, identical_groups(pixels)).tolist() == list(range(24)) + [0, 1]
    sides = np.full(len(pixels), 32)  # pairs are tested in chunks: a chunk's bounds change nothing
    assert list(finer_pairs(pixels, proposed, sides, chunk=7)) == list(finer_pairs(pixels, proposed, sides)) == [
        (0, 24), (1, 25)]


def test_pruning_on_shapes_keeps_the_pairs_a_brute_force_search_finds():
    """Photos of one surface share their level and lie within NEAR_RMS of each other, so only the correlation of their
    shapes tells them apart; the search prunes on a float32 product of the shapes before the exact tests. Here the
    correlations straddle NEAR_CORRELATION, some pairs within a hundredth of it: the pairs are a brute force's."""
    rng = np.random.default_rng(11)
    pattern = 6 * rng.standard_normal((1, 1, 8, 8))
    grain = rng.standard_normal((48, 1, 8, 8)) * rng.uniform(0.5, 3, (48, 1, 1, 1))
    pixels = np.clip(128 + pattern + grain, 0, 255).round().astype(np.uint8)
    sig = signatures(pixels)
    x = sig.q / QUANTUM
    rms = np.sqrt(((x[:, None] - x[None]) ** 2).mean(-1))
    shape = x - x.mean(1, keepdims=True)
    corr = shape @ shape.T / np.outer(np.linalg.norm(shape, axis=1), np.linalg.norm(shape, axis=1))
    upper = np.triu(np.ones_like(rms, dtype=bool), 1)
    want = {(i, j) for i, j in zip(*np.nonzero(upper & (rms <= NEAR_RMS) & (corr >= NEAR_CORRELATION)))}
    assert (rms[upper] <= NEAR_RMS).all() and 50 < len(want) < upper.sum() - 50  # the shapes decide, both ways
    assert (np.abs(corr[upper] - NEAR_CORRELATION) < 0.01).sum() >= 5
    assert set(near_pairs(sig, block=5)) == want == set(near_pairs(sig))
