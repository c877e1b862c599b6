"""A 2-D map of a dataset: UMAP fitted once on the real training features; new batches are placed on it.

The real layout never moves: synthetic samples are placed, not refitted. Placing uses UMAP's own first step
for new points (`init_transform`): a weighted mean of the coordinates of the k nearest real points, weighted by
UMAP's fuzzy-neighbourhood memberships (`smooth_knn_dist`). We stop there instead of running UMAP's extra
optimisation epochs, so placing needs neither numba nor the fitted UMAP object: the saved file holds only arrays
(real features, their coordinates, k), read with allow_pickle=False. Fitting does need numba: call it from the CLI
or a job, never inside a web request. Numba compiles UMAP's functions on their first call in a process (20–60 s,
as busy as the machine is); `fit_embedding` keeps what it compiled on disk, so that only an installation's first
fit pays for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganaug_core.imageio import sha256_file
from ganaug_core.metrics.neighbours import nearest
from ganaug_core.paths import written_beside
from ganaug_core.progress import Progress, ProgressCallback, no_progress

N_NEIGHBORS = 15
MIN_DIST = 0.1


@dataclass
class Embedding:
    features: np.ndarray  # float32 (N, D): the real training features the map was fitted on
    coords: np.ndarray  # float32 (N, 2): their UMAP coordinates
    n_neighbors: int

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Coordinates (M, 2) for new feature vectors, on the fixed real layout."""
        if len(features) == 0:
            return np.zeros((0, 2), dtype=np.float32)
        k = min(self.n_neighbors, len(self.features))
        idx, dist = nearest(features, self.features, k)
        w = _memberships(dist)
        return ((w[:, :, None] * self.coords[idx]).sum(axis=1) / w.sum(axis=1, keepdims=True)).astype(np.float32)

    def save(self, path: Path) -> str:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with written_beside(path, ".tmp.npz") as tmp:  # np.savez adds .npz to a name without it
            np.savez(tmp, features=self.features, coords=self.coords, n_neighbors=np.int64(self.n_neighbors))
        return sha256_file(path)

    @classmethod
    def load(cls, path: Path) -> "Embedding":
        with np.load(Path(path), allow_pickle=False) as f:
            return cls(f["features"], f["coords"], int(f["n_neighbors"]))


def _memberships(dist: np.ndarray, iterations: int = 64) -> np.ndarray:
    """UMAP's smooth_knn_dist: per row, sigma such that sum exp(-(d - rho) / sigma) = log2(k)."""
    dist = dist.astype(np.float64)
    k = dist.shape[1]
    target = np.log2(k) if k > 1 else 1.0
    rho = dist[:, :1]
    excess = np.maximum(dist - rho, 0.0)
    lo, hi = np.zeros(len(dist)), np.full(len(dist), np.inf)
    sigma = np.ones(len(dist))
    for _ in range(iterations):  # bisection, vectorised over rows
        total = np.exp(-excess / sigma[:, None]).sum(axis=1)
        too_big = total > target
        hi = np.where(too_big, sigma, hi)
        lo = np.where(too_big, lo, sigma)
        sigma = np.where(np.isinf(hi), sigma * 2.0, (lo + hi) / 2.0)
    return np.exp(-excess / np.maximum(sigma, 1e-12)[:, None])


# What a fit compiles (nearly all of a first fit's time in a process), as (module, name). Named one by one rather than
# every numba function of umap: numba keys a kept function by its Python function alone, not by its options, and
# umap builds two of the layout step from one function (parallel and not), which must not share what is kept; ours
# is the serial one (UMAP runs a seeded fit serially).
UMAP_COMPILED = (
    ("umap.utils", "fast_knn_indices"),
    ("umap.umap_", "smooth_knn_dist"),
    ("umap.umap_", "compute_membership_strengths"),
    ("umap.layouts", "_nb_optimize_layout_euclidean_single_epoch"),
    ("umap.distances", "euclidean"),
)

# pynndescent's NN-descent (UMAP's neighbour search from IN_CHILD_FROM points on, so always in a new child process)
# leaves uncached what takes the metric as an argument and what runs in parallel: 40-80 s compiled again per fit.
# Those taking the metric (nn_descent, nn_descent_internal, process_candidates, init_rp_tree, init_random,
# generate_leaf_updates) cannot be kept: numba types a function argument by its address in memory, so another
# process never finds them on disk, and each would write one more copy (pynndescent's PR #226). The parallel ones
# below take none; pynndescent left them uncached after numba loaded a parallel function compiled for another thread
# count into a crash (numba #7518, fixed in 0.56; pynndescent 0.7 keeps its own `deheap_sort_parallel` since). Kept,
# they halve a first fit's compiling: 10,000 points in a new process took 17-20 s of CPU against 31-35 s, the same
# map (BENCHMARKS.md, "Evaluation").
PYNNDESCENT_COMPILED = (
    ("pynndescent.kernels", "generate_graph_update_array_batched"),
    ("pynndescent.utils", "build_candidates_owner"),
    ("pynndescent.utils", "apply_sorted_graph_update_array"),
    ("pynndescent.utils", "sort_updates_by_block"),
    ("pynndescent.utils", "deheap_sort"),
)
PARALLEL_CACHE_FROM = (0, 56)  # the numba that loads a kept parallel function for any thread count


def version_at_least(version: str, least: tuple[int, ...]) -> bool:
    """Whether `version` ('0.68.1', '0.61.0rc2', '0+unknown' from a source build) is `least` or later; a version
    whose numbers cannot be read counts as older (it raised ValueError, and no map could be fitted)."""
    numbers = re.match(r"(\d+)\.(\d+)", version)
    return numbers is not None and tuple(int(n) for n in numbers.groups()) >= least


def keep_umap_compiled() -> int:
    """Have numba keep UMAP's compiled functions on disk, as pynndescent's own already are (`cache=True`), and those of
    pynndescent's parallel ones that can be (PYNNDESCENT_COMPILED).

    umap-learn leaves them uncached: every process that fitted a map compiled them again (each `evaluate` of a new
    dataset, each worker start, each test process); loaded, they take about a second. Numba keys what it keeps by
    the function's source file, the argument types, numba's version and the CPU, and writes each file under a
    temporary name before renaming it, so processes that share it neither load stale code nor half a file. Where
    no folder is writable for it (umap's own, else the user's cache folder, or NUMBA_CACHE_DIR), a function stays
    uncached: slower, never wrong. Returns how many it turned on (0 on a second call).
    """
    import importlib

    import numba
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    turned_on = 0
    parallel_kept = version_at_least(numba.__version__, PARALLEL_CACHE_FROM)
    for module, name in UMAP_COMPILED + (PYNNDESCENT_COMPILED if parallel_kept else ()):
        try:
            function = getattr(importlib.import_module(module), name, None)  # another version may lack one
        except ImportError:  # a pynndescent before its `kernels` module
            continue
        if isinstance(function, Dispatcher) and isinstance(function._cache, NullCache):
            try:
                function.enable_caching()
            except RuntimeError:  # "no locator available": nowhere writable to keep it
                continue
            turned_on += 1
    return turned_on


# From this many points a fit runs in a child process that a stop can end (`embedding_child`). UMAP switches from
# exact neighbours to NN-descent here, whose numba loop nothing interrupts: 42 s at 10,000 points, minutes at 48,000.
# Below, a fit took ≈ 1–6 s in the process, less than a child takes to start (3–9 s on a busy 2-core machine).
IN_CHILD_FROM = 4096


def fit_embedding(
    features: np.ndarray, seed: int = 0, n_epochs: int = 200, progress: ProgressCallback = no_progress
) -> Embedding:
    """Fit UMAP on real training features (seeded: the same features give the same map).

    A fit of IN_CHILD_FROM points or more runs in a child process and reports `progress` every fraction of a second
    while it waits: a progress that raises (a job asked to stop, `stopping_at_reports`) or Ctrl-C ends the child
    there, and the fit leaves nothing."""
    features = np.asarray(features, dtype=np.float32)
    n = len(features)
    if n < 4:
        raise ValueError(f"an embedding needs at least 4 real training images, got {n}")
    progress(Progress("embedding", 0, 1))
    if n >= IN_CHILD_FROM:
        from ganaug_core.embedding_child import fit_in_child

        coords = fit_in_child(features, seed, n_epochs, lambda: progress(Progress("embedding", 0, 1)))
    else:
        coords = umap_coords(features, seed, n_epochs)
    progress(Progress("embedding", 1, 1))
    return Embedding(features, coords.astype(np.float32), min(N_NEIGHBORS, n - 1))


def umap_coords(features: np.ndarray, seed: int, n_epochs: int) -> np.ndarray:
    """UMAP's 2-D coordinates of float32 `features` (at least 4), fitted in this process."""
    import warnings

    import umap  # imported here: loading it takes seconds and pulls in numba

    keep_umap_compiled()
    n = len(features)
    k = min(N_NEIGHBORS, n - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state": single-threaded is what we want
        reducer = umap.UMAP(
            n_neighbors=k, min_dist=MIN_DIST, n_components=2, random_state=seed, n_epochs=n_epochs,
            init="spectral" if n > k + 2 else "random",
        )
        return reducer.fit_transform(features)
