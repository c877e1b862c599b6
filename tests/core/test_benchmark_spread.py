"""gan_mix's wider latent spread: the same weights and seeds, each latent multiplied by the scale."""

from __future__ import annotations

import numpy as np
import torch

from ganaug_core.benchmark.spread import widened
from ganaug_core.sampling import GeneratorPipeline, latents, sample_seeds
from ganaug_core.training import TrainConfig
from ganaug_core.training.networks import Generator
from tests.core.test_gan_training import TINY


def pipeline() -> GeneratorPipeline:
    cfg = TrainConfig(**TINY, bf16=False).validate()
    torch.manual_seed(0)
    return GeneratorPipeline(Generator(cfg), cfg, "tiny", ["a", "b", "c"])


def test_scale_one_gives_the_same_bytes_and_the_original_pipeline_is_untouched():
    pipe = pipeline()
    before = pipe(1, 6, seed=3).images
    np.testing.assert_array_equal(widened(pipe, 1.0)(1, 6, seed=3).images, before)
    widened(pipe, 2.0)(1, 6, seed=3)
    np.testing.assert_array_equal(pipe(1, 6, seed=3).images, before)


def test_each_latent_is_multiplied_by_the_scale():
    pipe = pipeline()
    wide = widened(pipe, 2.0)
    out = wide(2, 5, seed=4)
    with torch.no_grad():
        expected = pipe.generator(latents(sample_seeds(4, 5), pipe.config.z_dim) * 2.0, torch.full((5,), 2))
    expected = (expected.float() * 127.5 + 128.0).clamp(0, 255).to(torch.uint8).numpy()
    np.testing.assert_array_equal(out.images, expected)
    assert out.seeds == sample_seeds(4, 5)  # each sample keeps its own seed
    assert not np.array_equal(out.images, pipe(2, 5, seed=4).images)
    np.testing.assert_array_equal(wide(2, 5, seed=4).images, out.images)  # deterministic
