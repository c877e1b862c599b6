"""The embedding: real layout fitted once; new points are placed on it without refitting."""

import sys

import numpy as np
import pytest

from ganaug_core.embedding import Embedding, _memberships, fit_embedding


def test_placing_is_a_membership_weighted_mean_of_real_coordinates(tmp_path):
    feats = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]], dtype=np.float32)
    coords = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [50.0, 50.0]], dtype=np.float32)
    emb = Embedding(feats, coords, n_neighbors=1)
    assert np.array_equal(emb.transform(feats), coords)  # k = 1: each real point lands on itself
    emb3 = Embedding(feats, coords, n_neighbors=3)
    p = emb3.transform(np.array([[0.2, 0.2]], dtype=np.float32))[0]
    assert 0 < p[0] < 10 and 0 < p[1] < 10  # inside the triangle of its three neighbours
    assert emb3.transform(np.zeros((0, 2), np.float32)).shape == (0, 2)

    sha = emb3.save(tmp_path / "e.npz")
    assert len(sha) == 64
    back = Embedding.load(tmp_path / "e.npz")
    assert np.array_equal(back.coords, coords) and back.n_neighbors == 3


def test_memberships_match_umap_normalisation():
    d = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
    w = _memberships(d)
    assert w[:, 0].tolist() == pytest.approx([1.0, 1.0])  # the nearest neighbour always has membership 1
    assert w[0].sum() == pytest.approx(np.log2(4), rel=1e-4)  # UMAP's target: Σ memberships = log2(k)


def test_refuses_pickled_arrays(tmp_path):
    np.savez(tmp_path / "bad.npz", features=np.array([object()]), coords=np.zeros((1, 2)), n_neighbors=1)
    with pytest.raises(ValueError):
        Embedding.load(tmp_path / "bad.npz")


@pytest.mark.slow  # the first UMAP fit of an install compiles with numba (~20–30 s); later processes load it
def test_fit_is_seeded_and_keeps_training_points_in_place():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.data[:300].astype(np.float32)
    emb = fit_embedding(x, seed=0, n_epochs=50)
    assert emb.coords.shape == (300, 2) and np.isfinite(emb.coords).all()
    assert np.array_equal(fit_embedding(x, seed=0, n_epochs=50).coords, emb.coords)
    # A training point placed again lands closer to its own coordinates than a typical pair of points are.
    placed = emb.transform(x[:50])
    moved = np.linalg.norm(placed - emb.coords[:50], axis=1)
    spread = np.linalg.norm(emb.coords[:, None] - emb.coords[None], axis=2)
    assert np.median(moved) < 0.25 * np.median(spread)
    # Same digit → nearby on the map: each point's nearest map neighbour mostly shares its class.
    np.fill_diagonal(spread, np.inf)
    assert (d.target[:300][spread.argmin(1)] == d.target[:300]).mean() > 0.8


def test_umap_functions_are_kept_compiled_for_the_next_process():
    # umap-learn leaves its numba functions uncached: every process that fitted a map compiled them again (20–60 s).
    import importlib

    import umap.distances
    import umap.layouts
    from numba.core.caching import FunctionCache, NullCache

    from ganaug_core.embedding import PYNNDESCENT_COMPILED, UMAP_COMPILED, keep_umap_compiled

    keep_umap_compiled()
    assert keep_umap_compiled() == 0  # a second call finds nothing left to turn on
    hot = [getattr(importlib.import_module(module), name) for module, name in UMAP_COMPILED + PYNNDESCENT_COMPILED]
    assert not [f.py_func.__name__ for f in hot if isinstance(f._cache, NullCache)]
    # NN-descent's parallel steps were compiled again by every large fit (40-80 s of it). Those that take the metric
    # stay uncached: numba types it by its address, so another process would never find them and each wrote a copy.
    import pynndescent.pynndescent_ as nnd

    assert all(isinstance(f._cache, NullCache) for f in (nnd.nn_descent, nnd.process_candidates, nnd.init_rp_tree))
    # The parallel layout step is built from the same Python function, and numba would key both alike: it stays
    # uncached, so that neither loads the other's code.
    assert isinstance(umap.layouts._nb_optimize_layout_euclidean_single_epoch_parallel._cache, NullCache)
    euclidean = umap.distances.euclidean  # small enough to compile here (~0.3 s)
    x = np.ones(3, dtype=np.float32)
    assert euclidean(x, 2 * x) == pytest.approx(3 ** 0.5)
    # What another process would do: a fresh cache of the same function finds the compiled code on disk.
    assert FunctionCache(euclidean.py_func).load_overload(euclidean.signatures[0], euclidean.targetctx) is not None


def test_a_child_that_reads_its_features_late_gets_them_all(monkeypatch):
    # The child reads its features once it has imported numpy; what it had not read in the parent's first wait was
    # never sent (a retried `communicate` drops its input), and both waited for good: a fit of 10,000 points hung.
    import subprocess

    from ganaug_core import embedding_child

    real_popen = subprocess.Popen
    late_reader = ("import io, sys, time; time.sleep(0.5); import numpy as np; "
                   "np.save(sys.stdout.buffer, np.load(io.BytesIO(sys.stdin.buffer.read()))[:, :2])")

    def popen(args, **kwargs):  # the child of a real fit, whose UMAP would take seconds, reads and answers alike
        return real_popen([sys.executable, "-c", late_reader], **kwargs)

    monkeypatch.setattr(embedding_child.subprocess, "Popen", popen)
    waits = []

    def waiting() -> None:
        waits.append(1)
        if len(waits) > 120:  # 30 s; the answer takes about a second
            raise TimeoutError("the child never got all of its features")

    features = np.random.default_rng(0).normal(size=(20_000, 64)).astype(np.float32)  # 5 MB: many pipefuls
    coords = embedding_child.fit_in_child(features, 0, 200, waiting)
    assert np.array_equal(coords, features[:, :2])


def test_a_numba_version_of_any_shape_is_read_not_raised_on():
    # int("0+unknown") (a numba built from source) raised ValueError in keep_umap_compiled: no map could be fitted.
    from ganaug_core.embedding import version_at_least

    assert version_at_least("0.68.1", (0, 56)) and version_at_least("0.61.0rc2", (0, 56))
    assert not version_at_least("0.55.2", (0, 56))
    assert not version_at_least("0+unknown", (0, 56)) and not version_at_least("", (0, 56))
