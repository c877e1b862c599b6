"""Sampling: the same (checkpoint, class, seed) gives the same bytes; each sample is reproducible alone."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ganaug_core.errors import GanaugError
from ganaug_core.imageio import encode_png
from ganaug_core.sampling import GeneratorPipeline, sample_seed
from ganaug_core.training import TrainConfig, Trainer
from tests.core.test_gan_training import TINY, tiny_data


@pytest.fixture(scope="module", params=[False, True], ids=["fp32", "bf16"])
def checkpoint(request, tmp_path_factory):
    """A tiny trained run; the bf16 one trains and samples under bf16 autocast, as the product does on CPUs with
    native bf16."""
    folder = tmp_path_factory.mktemp("run")
    return Trainer(TrainConfig(**TINY, bf16=request.param).validate(), tiny_data(), folder).run().checkpoint


def test_pipeline_metadata(checkpoint):
    pipe = GeneratorPipeline.from_checkpoint(checkpoint)
    assert (pipe.num_classes, pipe.resolution, pipe.channels, pipe.dataset_name) == (3, 8, 1, "tiny")


def test_same_checkpoint_class_seed_same_bytes(checkpoint):
    a = GeneratorPipeline.from_checkpoint(checkpoint)(2, 5, seed=7)
    b = GeneratorPipeline.from_checkpoint(checkpoint)(2, 5, seed=7)
    assert a.images.dtype == np.uint8 and a.images.shape == (5, 1, 8, 8)
    assert [encode_png(x) for x in a.images] == [encode_png(x) for x in b.images]
    assert a.seeds == b.seeds == [sample_seed(7, i) for i in range(5)]
    assert a.class_labels == [2] * 5
    assert len(set(a.seeds)) == 5
    c = GeneratorPipeline.from_checkpoint(checkpoint)(2, 5, seed=8)
    assert not np.array_equal(a.images, c.images)


def test_one_sample_reproducible_alone(checkpoint):
    pipe = GeneratorPipeline.from_checkpoint(checkpoint)
    batch = pipe([0, 1, 2, 0, 1, 2, 0], 7, seed=3)
    alone = pipe.from_seeds([2], [batch.seeds[5]])
    assert np.array_equal(alone.images[0], batch.images[5])
    # a batch larger than one forward chunk gives the same pixels for its first samples
    big = pipe(1, 300, seed=3)
    assert np.array_equal(big.images[:4], pipe(1, 4, seed=3).images)


def test_bad_requests(checkpoint):
    pipe = GeneratorPipeline.from_checkpoint(checkpoint)
    with pytest.raises(GanaugError, match="class 3"):
        pipe(3, 2, seed=0)
    with pytest.raises(GanaugError, match="--n"):
        pipe(0, 0, seed=0)


def test_bf16_sampling_stays_within_a_few_grey_levels_of_fp32(checkpoint):
    pipe = GeneratorPipeline.from_checkpoint(checkpoint)
    fp32 = GeneratorPipeline(pipe.generator, dataclasses.replace(pipe.config, bf16=False), pipe.dataset_name,
                             pipe.class_names)
    a, b = pipe(1, 64, seed=5).images.astype(int), fp32(1, 64, seed=5).images.astype(int)
    if not pipe.config.bf16:
        assert np.array_equal(a, b)
    else:
        assert np.abs(a - b).mean() < 1.0 and np.abs(a - b).max() <= 8
