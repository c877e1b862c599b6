"""Images identical after conversion (a photo copied twice into a class, or filed under two classes) stay on one side
of the train/test split, so the locked test split never scores a classifier on an image it trained on."""

from __future__ import annotations

import shutil

import numpy as np
from PIL import Image
from sqlalchemy import select

from db.engine import session_scope
from db.models import Dataset, RealImage
from ganaug.datasets import ingest_dataset
from ganaug_core.dataset_sources import identical_groups, stratified_test_mask
from ganaug_core.datasets import IngestOptions


def noise_folder(root, per_class=10, seed=1):
    """Two classes of distinct 8×8 noise PNGs; then three copies of a/0.png in a and a/1.png filed under b too."""
    rng = np.random.default_rng(seed)
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(root / c / f"{i}.png")
    for k in range(3):
        shutil.copy(root / "a" / "0.png", root / "a" / f"0_copy{k}.png")
    shutil.copy(root / "a" / "1.png", root / "b" / "from_a.png")
    return root


def test_a_set_of_identical_images_goes_to_one_side_and_every_class_keeps_a_training_image():
    labels = np.array([0] * 10 + [1] * 10 + [2] * 2)
    same = np.arange(len(labels))
    same[[1, 2, 3]] = 0  # four copies in class 0
    same[10] = 4  # class 1's first image is class 0's fifth
    same[21] = 20  # class 2 is one image twice
    for seed in range(20):
        mask = stratified_test_mask(labels, 0.3, seed, same)
        for g in np.unique(same):
            assert len(set(mask[same == g])) == 1, (seed, g)
        assert not mask[20:].any()  # its only image, twice: kept for training, not both sides
        for c in (0, 1):
            assert 0 < mask[labels == c].sum() < 10
        assert (mask == stratified_test_mask(labels, 0.3, seed, same)).all()  # seeded
    # Without a set of two, the split is the one made an image at a time (datasets ingested before keep theirs).
    assert (stratified_test_mask(labels, 0.3, 5, np.arange(len(labels))) == stratified_test_mask(labels, 0.3, 5)).all()


def test_identical_groups_are_found_by_pixels():
    pixels = np.zeros((4, 1, 8, 8), np.uint8)
    pixels[1, 0, 0, 0], pixels[2, 0, 7, 7] = 1, 1
    pixels[3] = pixels[1]
    assert identical_groups(pixels).tolist() == [0, 1, 2, 1]


def _split(name):
    with session_scope() as s:
        dataset = s.scalar(select(Dataset).where(Dataset.name == name))
        return sorted(s.execute(select(RealImage.source_path, RealImage.split, RealImage.sha256)
                                .where(RealImage.dataset_id == dataset.id)).all())


def test_a_folder_with_copies_keeps_each_set_on_one_side_and_splits_alike_again(home, tmp_path):
    src = noise_folder(tmp_path / "src")
    options = IngestOptions(resolution=8, workers=1)
    _, result = ingest_dataset(str(src), "lab", options)
    rows = _split("lab")
    # Split an image at a time, the copies of a/0.png and a/1.png lay on both sides in every seed tried.
    for digest in {d for _, _, d in rows}:
        assert len({split for _, split, d in rows if d == digest}) == 1
    dup = result.duplicates()
    assert (dup["images"], dup["sets"], dup["across_classes"], dup["across_splits"]) == (6, 2, 2, 0)
    assert {p.rsplit("/", 2)[-2] for p, split, _ in rows if split == "test"} == {"a", "b"}  # both classes tested
    ingest_dataset(str(src), "again", options)
    assert _split("again") == rows  # the same folder: the same split, the same sha256s
