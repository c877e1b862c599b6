"""A run's start reads the training split from arrays.npz a block at a time: it loaded the whole images array (737 MB
for a 60,000-image 64² dataset) and copied the split out of it (590 MB at 64²; resized a block at a time at 32²), so
a 64² start peaked at 1.57 GB and a 32² one at 1.25 GB."""

from __future__ import annotations

import tracemalloc
from types import SimpleNamespace

import numpy as np

from ganaug_core.datasets import load_split
from ganaug_core.rescale import resize_images
from ganaug_core.training.config import TrainConfig

N, SIDE = 16384, 16  # 12 MiB of pixels, 16 blocks of 1,024: large enough to dwarf what else the start allocates


def _write_arrays(folder) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N, 3, SIDE, SIDE), dtype=np.uint8)
    labels = np.arange(N) % 2
    splits = np.where(np.arange(N) % 4 == 3, "test", "train").astype("<U5")
    np.savez(folder / "arrays.npz", images=images, labels=labels, splits=splits)  # as ingestion writes it
    return images, labels, splits


def _peak(fn):
    tracemalloc.start()  # numpy reports its arrays to tracemalloc; torch's float blocks are not counted
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_split_read_in_blocks_is_the_same_bytes_without_the_whole_images_array(tmp_path):
    images, labels, splits = _write_arrays(tmp_path)
    train = splits == "train"
    split_bytes = images[0].nbytes * int(train.sum())
    for side in (SIDE, 8):
        (got, got_labels), peak = _peak(lambda: load_split(tmp_path, "train", side))
        assert np.array_equal(got, resize_images(images[train], side))
        assert np.array_equal(got_labels, labels[train])
        # The result and a block (a sixteenth of the images) read and picked from; the whole array and the split
        # copied out of it were 1¾ × the images.
        assert peak < got.nbytes + images.nbytes / 3, (side, peak)
    assert split_bytes > images.nbytes / 2
    (test, test_labels), _ = _peak(lambda: load_split(tmp_path, "test", SIDE))
    assert np.array_equal(test, images[splits == "test"]) and np.array_equal(test_labels, labels[splits == "test"])


def test_a_run_start_at_the_datasets_side_holds_the_training_split_alone(tmp_path, monkeypatch):
    from ganaug import datasets, runs

    images, labels, splits = _write_arrays(tmp_path)
    row = SimpleNamespace(resolution=SIDE, channels=3, class_names=["a", "b"], arrays_sha256="sha")
    monkeypatch.setattr(datasets, "verified_dataset", lambda name: (row, tmp_path))
    train = splits == "train"
    for side in (SIDE, 8):
        (_, config, data, _), peak = _peak(
            lambda: runs._prepare("parts", TrainConfig(resolution=side, channels=3, num_classes=2), None))
        # The same pixels as the whole split resized at once (so the same run from the same seed trains the same
        # weights), and the labels beside them.
        assert np.array_equal(data.images, resize_images(images[train], side))
        assert np.array_equal(data.labels, labels[train])
        assert peak < data.images.nbytes + images.nbytes / 3, (side, peak)  # the split and a block
