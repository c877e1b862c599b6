"""A run's start brings the training split to its resolution a block at a time: it copied the whole split at the
dataset's side first (590 MB for the 48,000 training images of a 60,000-image 64² dataset) beside the dataset's
arrays (737 MB), only to shrink it to 147 MB at 32²; the start peaked at 2.0 GB."""

from __future__ import annotations

import tracemalloc
import weakref
from types import SimpleNamespace

import numpy as np

from ganaug_core.datasets import DatasetArrays
from ganaug_core.rescale import resize_images, resized_split
from ganaug_core.training.config import TrainConfig

N, SIDE = 4096, 32  # 12 MiB of pixels: large enough to dwarf what else the start allocates


def _arrays() -> DatasetArrays:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N, 3, SIDE, SIDE), dtype=np.uint8)
    labels = np.arange(N) % 2
    splits = np.where(np.arange(N) % 4 == 3, "test", "train").astype("<U5")
    return DatasetArrays(images, labels, splits, ["a", "b"])


def test_the_split_resized_in_blocks_is_the_same_bytes_without_a_full_size_copy():
    arrays = _arrays()
    train = arrays.splits == "train"
    split_bytes = arrays.images[0].nbytes * int(train.sum())
    tracemalloc.start()  # numpy reports its arrays to tracemalloc; torch's float blocks are not counted
    try:
        out = resized_split(arrays.images, train, 8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.array_equal(out, resize_images(arrays.images[train], 8))
    assert peak < split_bytes / 2  # a block (a third of the split here) and the small result; the copy was all of it
    assert np.array_equal(resized_split(arrays.images, train, SIDE), arrays.images[train])  # same side: the split


def test_a_run_start_holds_only_the_training_images_at_its_resolution(monkeypatch):
    from ganaug import datasets, runs

    held = []

    def dataset_arrays(name):  # the dataset's arrays, held by nobody but the start
        arrays = _arrays()
        held.append(weakref.ref(arrays.images))
        row = SimpleNamespace(resolution=SIDE, channels=3, class_names=["a", "b"], arrays_sha256="sha")
        return row, arrays

    monkeypatch.setattr(datasets, "dataset_arrays", dataset_arrays)
    expected = _arrays()
    train = expected.splits == "train"
    split_bytes = expected.images[0].nbytes * int(train.sum())
    tracemalloc.start()
    try:
        _, config, data, _ = runs._prepare("parts", TrainConfig(resolution=8, channels=3, num_classes=2), None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The same pixels as the whole split resized at once (so the same run from the same seed trains the same
    # weights), and the labels beside them.
    assert np.array_equal(data.images, resize_images(expected.images[train], 8))
    assert np.array_equal(data.labels, expected.labels[train])
    assert held[0]() is None  # the full arrays are gone before the networks are built
    assert peak < expected.images.nbytes + split_bytes / 2  # the arrays and a block; the split copy was all of it
