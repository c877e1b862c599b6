"""The test split trains nothing and decides nothing.

Two datasets hold the same real training images and different test splits (other images, other counts); what learns
from real data or decides on a sample must come out the same on both: the generator and its mode-collapse reading
(bit for bit), the domain feature extractor (whose scores set the memorization flags that block approvals; same
sha256), the benchmark arms' training-set sizes and the gan_filtered filter's counts. Each test also shows that its
comparison would see the leak: a dataset whose training split holds the test images too gives another generator
and extractor; a test split holding a generator sample would get the filter's candidates called copies. Tiny .npz
datasets (MedMNIST layout, 8×8 digits), real SQLite, CPU, seconds.
"""

from __future__ import annotations

import numpy as np
import torch

from ganaug_core.imageio import sha256_file

TINY = dict(steps=4, batch_size=8, width=4, z_dim=8, grid_every=1000, ckpt_every=1000, stats_every=2,
            diversity_every=2)
TRAIN_PER_CLASS = (30, 30, 5)  # class 2 is the rare one


def _digits_npz(path, test_per_class: int, test_offset: int, test_also_trains: bool = False,
                extra_test: np.ndarray | None = None) -> None:
    """Classes 0, 1, 2 of scikit-learn's digits: the same training images every time; a test split of
    `test_per_class` images per class starting `test_offset` images past the training ones, then `extra_test`
    (8×8 images of class 2); with `test_also_trains` the test images train too."""
    from sklearn.datasets import load_digits

    d = load_digits()
    pixels = (d.images * (255 / 16)).round().astype(np.uint8)
    parts = {"train": ([], []), "test": ([], [])}
    for c, n in enumerate(TRAIN_PER_CLASS):
        idx = np.flatnonzero(d.target == c)
        for split, chosen in (("train", idx[:n]), ("test", idx[n + test_offset: n + test_offset + test_per_class])):
            parts[split][0].append(pixels[chosen])
            parts[split][1].append(np.full(len(chosen), c))
    if extra_test is not None:
        parts["test"][0].append(extra_test)
        parts["test"][1].append(np.full(len(extra_test), 2))
    arrays = {f"{s}_{k}": np.concatenate(v) for s, (imgs, labels) in parts.items() for k, v in
              (("images", imgs), ("labels", labels))}
    if test_also_trains:
        for k in ("images", "labels"):
            arrays[f"train_{k}"] = np.concatenate([arrays[f"train_{k}"], arrays[f"test_{k}"]])
    np.savez(path, **arrays)


def _ingest_three(tmp_path) -> None:
    """'a' and 'b': same training images, different test splits; 'c': a, with its test images training too."""
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    for name, kw in {"a": dict(test_per_class=8, test_offset=0), "b": dict(test_per_class=5, test_offset=20),
                     "c": dict(test_per_class=8, test_offset=0, test_also_trains=True)}.items():
        _digits_npz(tmp_path / f"{name}.npz", **kw)
        ingest_dataset(str(tmp_path / f"{name}.npz"), name, IngestOptions(resolution=8, workers=1))


def _same_tensors(x: dict, y: dict) -> bool:
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def test_the_test_split_trains_no_generator(home, tmp_path):
    from ganaug.runs import default_config, final_diversity, latest_checkpoint, train_run
    from ganaug_core.training.checkpoint import load_checkpoint

    _ingest_three(tmp_path)
    learned = {}
    for name in "abc":
        run_id = train_run(name, default_config(name, **TINY))
        payload = load_checkpoint(latest_checkpoint(run_id))
        learned[name] = payload["G_ema"], payload["D"], final_diversity(run_id)
    (g_a, d_a, div_a), (g_b, d_b, div_b), (g_c, _, _) = learned["a"], learned["b"], learned["c"]
    assert _same_tensors(g_a, g_b) and _same_tensors(d_a, d_b)
    assert div_a == div_b and div_a[0]  # the mode-collapse reading (and its warnings) ignores the test split too
    assert not _same_tensors(g_a, g_c)  # had the test images trained it, the generator would differ


def test_the_test_split_trains_no_feature_extractor(home, tmp_path):
    from ganaug.domain_models import ensure_feature_extractor, extractor_info

    _ingest_three(tmp_path)
    digests = {}
    for name in "abc":
        _, path = ensure_feature_extractor(name, steps=20)
        digests[name] = sha256_file(path)
    assert extractor_info("a")["train_images"] == extractor_info("b")["train_images"] == sum(TRAIN_PER_CLASS)
    assert digests["a"] == digests["b"] != digests["c"]  # had the test images trained it, the extractor would differ


def test_the_test_split_shapes_no_benchmark_training_set_nor_the_filter(home, tmp_path, tiny_quick_budget):
    """Only the final scores may differ: each arm's training-set size and the gan_filtered filter's counts
    (the extractor's confidence and the memorization flags) are the same. b's test split also holds a sample of the
    generator: a filter that compared the candidates with the test split would call many of them copies."""
    from ganaug.benchmarking import run_benchmark
    from ganaug.datasets import ingest_dataset
    from ganaug.domain_models import ensure_feature_extractor
    from ganaug.runs import default_config, latest_checkpoint, train_run
    from ganaug_core.datasets import IngestOptions
    from ganaug_core.sampling import GeneratorPipeline

    _digits_npz(tmp_path / "a.npz", test_per_class=8, test_offset=0)
    ingest_dataset(str(tmp_path / "a.npz"), "a", IngestOptions(resolution=8, workers=1))
    pipeline = GeneratorPipeline.from_checkpoint(latest_checkpoint(train_run("a", default_config("a", **TINY))))
    generated = pipeline(2, 1, 999).images[:, 0]  # the rare class: the one the gan arms generate
    _digits_npz(tmp_path / "b.npz", test_per_class=5, test_offset=20, extra_test=generated)
    ingest_dataset(str(tmp_path / "b.npz"), "b", IngestOptions(resolution=8, workers=1))
    train_run("b", default_config("b", **TINY))  # the same generator as a's (the test above)
    reports = {}
    for name in "ab":
        ensure_feature_extractor(name, steps=20)
        reports[name] = run_benchmark(name, "real,gan,gan_filtered", seeds=1, quick=True)
    a, b = reports["a"], reports["b"]
    assert a["meta"]["train_counts"] == b["meta"]["train_counts"] == list(TRAIN_PER_CLASS)
    assert a["meta"]["test_counts"] == [8, 8, 8] and b["meta"]["test_counts"] == [5, 5, 6]
    for arm in ("real", "gan", "gan_filtered"):
        assert {k: a["arms"][arm][k] for k in ("n_train", "n_synthetic", "info")} == \
               {k: b["arms"][arm][k] for k in ("n_train", "n_synthetic", "info")}, arm
    assert a["arms"]["real"]["n_train"] == sum(TRAIN_PER_CLASS)
    assert a["arms"]["gan_filtered"]["info"]["filter"]  # the filter ran and counted its candidates
