"""Precision / recall / density / coverage on point sets small enough to check by hand."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from ganaug_core.metrics import prdc as prdc_module
from ganaug_core.metrics.prdc import coverage, prdc


def test_constructed_one_dimensional_example():
    real = np.array([[0.0], [1.0], [2.0], [3.0]])  # k = 1: every real ball has radius 1
    synth = np.array([[0.5], [10.0]])  # synthetic balls: radius 9.5 each
    r = prdc(real, synth, k=1)
    assert r["precision"] == pytest.approx(0.5)  # 0.5 lies in a real ball, 10 does not
    assert r["density"] == pytest.approx(1.0)  # 0.5 lies in two balls (reals 0 and 1): (2 + 0) / 2 / 1
    assert r["coverage"] == pytest.approx(0.5)  # reals 0 and 1 have a synthetic point closer than 1
    assert r["recall"] == pytest.approx(1.0)  # every real point lies within 9.5 of 0.5
    assert r["k"] == 1


def test_identical_sets_are_perfect_and_collapse_is_seen():
    x = np.random.default_rng(0).normal(size=(60, 5))
    same = prdc(x, x.copy(), k=5)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    collapsed = prdc(x, np.repeat(x[:1], 30, axis=0) + 1e-3 * np.arange(30)[:, None], k=5)
    assert collapsed["precision"] == 1.0  # every sample is realistic...
    assert collapsed["coverage"] < 0.2  # ...but they cover one corner of the real data
    assert collapsed["recall"] < 0.2


def test_k_shrinks_on_tiny_sets_and_none_below_two():
    real = np.array([[0.0], [1.0], [3.0]])
    assert prdc(real, np.array([[0.0], [1.0], [3.0]]), k=5)["k"] == 2
    assert prdc(real[:1], real) is None


def test_coverage_alone_is_prdcs_in_slices_and_a_point_on_the_radius_is_outside(monkeypatch):
    """The Embeddings page's coverage on the map is this function: it counted a sample exactly on a ball's radius as
    inside (`<=`) where the batch's PRDC score counts it outside."""
    real = np.array([[0.0], [1.0], [2.0], [3.0]])  # k = 1: every ball has radius 1
    assert coverage(real, np.array([[2.0]]), k=1) == pytest.approx(0.25)  # inside 2's ball; on 1's and 3's radius
    assert coverage(real, np.array([[4.0]]), k=1) == pytest.approx(0.0)  # on 3's radius alone: covers none
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(80, 2)), rng.normal(size=(300, 2))
    monkeypatch.setattr(prdc_module, "_SYNTH_CHUNK", 7)  # many slices give what one gives
    assert coverage(x, y) == pytest.approx(prdc(x, y)["coverage"])
    assert coverage(x[:1], y) is None and coverage(x, y[:0]) is None


def naeem_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict:
    """Naeem et al.'s published computation (clovaai/generative-evaluation-prdc), written out: the radius is the
    (k + 1)-th smallest distance counting the point itself, membership strict (<)."""
    real_radii = np.sort(cdist(real, real), axis=1)[:, k]
    fake_radii = np.sort(cdist(fake, fake), axis=1)[:, k]
    d = cdist(real, fake)
    return {"precision": (d < real_radii[:, None]).any(axis=0).mean(),
            "recall": (d < fake_radii[None, :]).any(axis=1).mean(),
            "density": (d < real_radii[:, None]).sum(axis=0).mean() / k,
            "coverage": (d.min(axis=1) < real_radii).mean()}


def _clusters(rng, n_per, centres):
    return np.concatenate([c + rng.normal(size=(n_per, 2)) for c in centres])


CENTRES = [np.array([0.0, 0.0]), np.array([20.0, 0.0]), np.array([0.0, 20.0])]


@pytest.mark.parametrize("case", ["shifted", "subset", "mode_dropped", "duplicated"])
def test_matches_the_published_computation(case):
    rng = np.random.default_rng(7)
    real = _clusters(rng, 20, CENTRES)
    fake = {"shifted": lambda: 1.2 * _clusters(rng, 25, CENTRES) + 0.5,
            "subset": lambda: real[:30].copy(),  # the first cluster and half the second
            "mode_dropped": lambda: _clusters(rng, 30, CENTRES[:2]),  # the third cluster is never generated
            "duplicated": lambda: np.repeat(real[:10], 3, axis=0)}[case]()
    got, expected = prdc(real, fake, k=5), naeem_prdc(real, fake, 5)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-6), name
    if case == "subset":  # every sample is a real image: all realistic, the third cluster not reached
        assert got["precision"] == 1.0 and got["recall"] < 1.0 and got["coverage"] < 1.0
    if case == "mode_dropped":  # none of the third cluster's real images is covered or recalled
        assert got["coverage"] <= 2 / 3 and got["recall"] <= 2 / 3 and got["precision"] > 0.8
