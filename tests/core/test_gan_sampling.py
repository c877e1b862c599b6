"""Sampling: the same (checkpoint, class, seed) gives the same bytes; each sample is reproducible alone."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from ganaug_core.errors import GanaugError
from ganaug_core.imageio import encode_png
from ganaug_core.sampler import GANSampler
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
    # and a sample of the second chunk (a pass padded with copies of its first latent) drawn alone
    assert np.array_equal(pipe.from_seeds([1], [big.seeds[299]]).images[0], big.images[299])


def test_every_sample_drawn_alone_matches_its_batch(checkpoint):
    """The padding to one forward-pass size at work: unpadded passes of 1 sample put a pixel a grey level off."""
    pipe = GeneratorPipeline.from_checkpoint(checkpoint)
    batch = pipe(1, 40, seed=3)
    alone = np.stack([pipe.from_seeds([1], [s]).images[0] for s in batch.seeds])
    assert np.array_equal(alone, batch.images)


def test_bad_requests(checkpoint):
    pipe = GeneratorPipeline.from_checkpoint(checkpoint)
    with pytest.raises(GanaugError, match="class 3"):
        pipe(3, 2, seed=0)
    with pytest.raises(GanaugError, match="^n must be ≥ 1, got 0$"):  # the argument's name, not the CLI's --n
        pipe(0, 0, seed=0)
    with pytest.raises(GanaugError, match="class_labels and seeds differ in length: 2 vs 1"):
        pipe.from_seeds([0, 1], [5])  # the second label used to be dropped without a word
    with pytest.raises(GanaugError, match=r"seeds must be integers in 0\.\.2\*\*64 - 1, got -1"):
        pipe.from_seeds([0], [-1])


def test_bf16_sampling_stays_within_a_few_grey_levels_of_fp32(checkpoint):
    pipe = GeneratorPipeline.from_checkpoint(checkpoint)
    fp32 = GeneratorPipeline(pipe.generator, dataclasses.replace(pipe.config, bf16=False), pipe.dataset_name,
                             pipe.class_names)
    a, b = pipe(1, 64, seed=5).images.astype(int), fp32(1, 64, seed=5).images.astype(int)
    if not pipe.config.bf16:
        assert np.array_equal(a, b)
    else:
        assert np.abs(a - b).mean() < 1.0 and np.abs(a - b).max() <= 8


def test_the_thread_count_changes_no_byte(checkpoint):
    """`torch.set_num_threads` in a notebook, OMP_NUM_THREADS=1 for a worker on a busy machine: the same bytes."""
    pipe = GeneratorPipeline.from_checkpoint(checkpoint)
    classes = [0, 1, 2] * 10
    before = torch.get_num_threads()
    try:
        made = []
        for threads in (1, 2, 4):
            torch.set_num_threads(threads)
            made.append(pipe(classes, 30, seed=11).images)
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(made[0], made[1]) and np.array_equal(made[0], made[2])


def test_from_run_loads_the_newest_checkpoint_by_step(checkpoint, tmp_path):
    run_dir = checkpoint.parent.parent
    pipe = GeneratorPipeline.from_run(run_dir)
    assert pipe.checkpoint_path == checkpoint and pipe.checkpoint_sha256 == GeneratorPipeline.from_checkpoint(
        checkpoint).checkpoint_sha256
    assert np.array_equal(pipe(2, 3, seed=7).images, GeneratorPipeline.from_checkpoint(checkpoint)(2, 3, seed=7).images)
    # by the step's number, not the name's order: step 10,000,000 outgrows the 7 digits of the names
    (tmp_path / "checkpoints").mkdir()
    for name in ("checkpoint-9999999.pt", "checkpoint-10000000.pt"):
        shutil.copyfile(checkpoint, tmp_path / "checkpoints" / name)
    assert GeneratorPipeline.from_run(tmp_path).checkpoint_path.name == "checkpoint-10000000.pt"
    with pytest.raises(GanaugError, match="holds no checkpoint"):
        GeneratorPipeline.from_run(tmp_path / "checkpoints")


def test_gan_sampler_on_a_pipeline_gives_the_pipelines_samples_for_its_recorded_seeds(checkpoint):
    """fit_resample in a training script: each class's new rows are `pipe(class, n, seeds_[class])`, the samples
    `ganaug generate --class C --n N --seed seeds_[C]` stores."""
    pipe = GeneratorPipeline.from_checkpoint(checkpoint)
    data = tiny_data()
    X, y = data.images, data.labels
    sampler = GANSampler(pipe, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    start = len(X)
    assert sampler.sampling_strategy_ == {1: 23, 2: 27}
    for c, n in sampler.sampling_strategy_.items():
        assert np.array_equal(X_res[start:start + n], pipe(c, n, sampler.seeds_[c]).images)
        assert (y_res[start:start + n] == c).all()
        start += n


def test_the_package_names_its_public_api_without_loading_torch_for_db():
    """`from ganaug_core import GeneratorPipeline, GANSampler` works; `import ganaug_core` alone (as `db` does, for
    its paths) still loads no torch."""
    import ganaug_core
    from ganaug_core import GANSampler as exported_sampler, GeneratorPipeline as exported_pipeline

    assert (exported_pipeline, exported_sampler) == (GeneratorPipeline, GANSampler)
    assert set(ganaug_core.__all__) == set(ganaug_core._EXPORTS)
    assert all(getattr(ganaug_core, name) is not None for name in ganaug_core.__all__)
    code = "import sys, ganaug_core; assert 'torch' not in sys.modules, 'torch loaded'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
