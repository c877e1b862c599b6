"""GANSampler follows imbalanced-learn's sampler convention; the shared checks run on every sampler we benchmark."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.utils import check_sampling_strategy

from ganaug_core.sampler import GANSampler, class_counts, resolve_sampling_strategy

SHAPE = (1, 4, 4)


def fake_generate(class_index: int, n: int, seed: int) -> np.ndarray:
    """A stand-in generator: pixels depend only on (class, seed, position), like a real pipeline."""
    rng = np.random.default_rng([class_index, seed])
    base = rng.integers(0, 256, size=(n,) + SHAPE, dtype=np.uint8)
    base[:, 0, 0, 0] = class_index  # lets a test see which class an image was generated for
    return base


def toy_data(counts=(20, 12, 5, 3)):
    rng = np.random.default_rng(0)
    y = np.concatenate([np.full(n, c, dtype=np.int64) for c, n in enumerate(counts)])
    X = rng.integers(0, 256, size=(len(y), int(np.prod(SHAPE))), dtype=np.uint8)
    return X, y


def make_sampler(kind: str, strategy="auto", seed=0):
    if kind == "gan":
        return GANSampler(fake_generate, sampling_strategy=strategy, random_state=seed)
    if kind == "ros":
        return RandomOverSampler(sampling_strategy=strategy, random_state=seed)
    return SMOTE(sampling_strategy=strategy, random_state=seed, k_neighbors=2)


SAMPLERS = ["gan", "ros", "smote"]
STRATEGIES = ["auto", "minority", "not minority", "not majority", "all", {2: 10, 3: 7}]


# --- shared checks: every sampler in the benchmark must pass these ---------------------------------------------


@pytest.mark.parametrize("kind", SAMPLERS)
@pytest.mark.parametrize("strategy", STRATEGIES, ids=str)
def test_counts_after_resampling_match_the_strategy(kind, strategy):
    X, y = toy_data()
    X_res, y_res = make_sampler(kind, strategy).fit_resample(X, y)
    expected = class_counts(y)
    for c, n_new in check_sampling_strategy(strategy, y, "over-sampling").items():
        expected[c] += n_new
    assert class_counts(y_res) == expected
    assert X_res.shape == (len(y_res),) + X.shape[1:]


@pytest.mark.parametrize("kind", SAMPLERS)
def test_original_samples_come_first_unchanged(kind):
    X, y = toy_data()
    X_res, y_res = make_sampler(kind).fit_resample(X, y)
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)


@pytest.mark.parametrize("kind", SAMPLERS)
def test_same_random_state_gives_same_bytes_and_another_differs(kind):
    X, y = toy_data()
    a = make_sampler(kind, seed=3).fit_resample(X, y)
    b = make_sampler(kind, seed=3).fit_resample(X, y)
    c = make_sampler(kind, seed=4).fit_resample(X, y)
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    assert a[0].tobytes() != c[0].tobytes()


@pytest.mark.parametrize("kind", SAMPLERS)
def test_fit_resample_does_not_modify_its_inputs(kind):
    X, y = toy_data()
    X0, y0 = X.copy(), y.copy()
    make_sampler(kind).fit_resample(X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("kind", SAMPLERS)
def test_strategy_asking_for_fewer_samples_is_refused(kind):
    X, y = toy_data()
    with pytest.raises(ValueError):
        make_sampler(kind, {0: 5}).fit_resample(X, y)


@pytest.mark.parametrize("kind", SAMPLERS)
def test_init_only_stores_parameters_and_fitting_adds_underscored_attributes(kind):
    sampler = make_sampler(kind)
    assert not [k for k in vars(sampler) if k.endswith("_")]
    X, y = toy_data()
    sampler.fit_resample(X, y)
    assert isinstance(sampler.sampling_strategy_, dict)
    assert sampler.sampling_strategy == "auto"  # the parameter itself is never rewritten


# --- GANSampler specifics ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["auto", "minority", "not minority", "not majority", "all", {2: 10, 3: 7}], ids=str)
def test_resolution_matches_imbalanced_learn(strategy):
    _, y = toy_data()
    assert resolve_sampling_strategy(strategy, y) == dict(check_sampling_strategy(strategy, y, "over-sampling"))


def test_float_ratio_matches_imbalanced_learn_on_binary_and_applies_to_every_class_on_multiclass():
    y2 = np.array([0] * 10 + [1] * 3)
    assert resolve_sampling_strategy(0.6, y2) == dict(check_sampling_strategy(0.6, y2, "over-sampling"))
    _, y = toy_data()
    assert resolve_sampling_strategy(0.6, y) == {1: 0, 2: 7, 3: 9}
    with pytest.raises(ValueError, match="remove samples"):
        resolve_sampling_strategy(0.1, y)


def test_generated_images_are_conditioned_on_their_class_and_keep_the_4d_layout():
    _, y = toy_data()
    X = np.zeros((len(y),) + SHAPE, dtype=np.uint8)
    sampler = GANSampler(fake_generate, sampling_strategy={3: 9}, random_state=1)
    X_res, y_res = sampler.fit_resample(X, y)
    assert X_res.shape == (len(y) + 6,) + SHAPE
    assert (X_res[len(y):, 0, 0, 0] == 3).all() and (y_res[len(y):] == 3).all()
    # The recorded seed reproduces the generated images alone — (generator, class, seed) is the provenance.
    np.testing.assert_array_equal(X_res[len(y):], fake_generate(3, 6, sampler.seeds_[3]))
    assert sampler.n_generated_ == 6


def test_a_pipeline_like_output_object_is_accepted():
    class Output:
        def __init__(self, images):
            self.images = images

    X, y = toy_data()
    X_res, _ = GANSampler(lambda c, n, s: Output(fake_generate(c, n, s)), random_state=0).fit_resample(X, y)
    assert len(X_res) == 4 * 20


def test_a_generator_returning_the_wrong_count_or_shape_is_reported():
    X, y = toy_data()
    with pytest.raises(ValueError, match="returned 1 images"):
        GANSampler(lambda c, n, s: fake_generate(c, 1, s)).fit_resample(X, y)
    with pytest.raises(ValueError, match="does not match"):
        GANSampler(lambda c, n, s: np.zeros((n, 1, 3, 3), np.uint8)).fit_resample(X, y)


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.zeros((4, 16)), np.zeros((4, 1), int), "1-dimensional"),
        (np.zeros((4, 16)), np.zeros(3, int), "different lengths"),
        (np.zeros((4, 16)), np.zeros(4, int), "at least 2 classes"),
        (np.zeros((4, 16)), np.array([0.0, 1.0, 0.0, 1.0]), "integer class"),
        (np.zeros((4, 16)), np.array([0, 1, 0, 1]), None),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_the_problem(X, y, message):
    sampler = GANSampler(fake_generate, sampling_strategy="auto")
    if message is None:
        sampler.fit_resample(X, y)  # a balanced set: nothing to generate, no error
        assert sampler.n_generated_ == 0
        return
    with pytest.raises(ValueError, match=message):
        sampler.fit_resample(X, y)


def test_unknown_strategy_and_unknown_class_are_refused():
    X, y = toy_data()
    with pytest.raises(ValueError, match="unknown sampling_strategy"):
        GANSampler(fake_generate, sampling_strategy="most").fit_resample(X, y)
    with pytest.raises(ValueError, match="class 7"):
        GANSampler(fake_generate, sampling_strategy={7: 30}).fit_resample(X, y)
