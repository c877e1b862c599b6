"""Arms build the training sets they promise; the classifier and the shifts are deterministic per seed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ganaug_core.benchmark.arms import ARMS, DEFAULT_ARMS, ArmInputs, build_training_set, filtered, missing_input
from ganaug_core.benchmark.classifier import Budget, predict_proba, train_classifier
from ganaug_core.benchmark.shifts import SHIFTS, shifted_test_sets
from ganaug_core.benchmark.sweep import sweep_strategy
from ganaug_core.errors import GanaugError
from ganaug_core.sampler import class_counts

TINY = Budget(steps=6, batch_size=8, width=4)


def toy(counts=(12, 10, 3), side=8, seed=0):
    """Class c is a bright horizontal bar at row 2c plus noise — learnable in a few steps."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(n, c, dtype=np.int64) for c, n in enumerate(counts)])
    X = rng.integers(0, 40, size=(len(y), 1, side, side)).astype(np.uint8)
    for i, c in enumerate(y):
        X[i, 0, 2 * c + 1] = 220
    return X, y


def generate(class_index, n, seed):
    X, y = toy(counts=(0,) * class_index + (n,), seed=seed)
    return X


def scorer(images, class_index):
    """Confidence: brightness of the class's bar; "memorized": a content flag (first pixel divisible by 5)."""
    conf = images[:, 0, 2 * class_index + 1].mean(axis=1) / 255.0
    return conf, images[:, 0, 0, 0] % 5 == 0


def generate_wide(class_index, n, seed):
    """Like generate, but marked: pixel (0, 0) is 255, which no real toy image has (its noise is below 40)."""
    X = generate(class_index, n, seed)
    X[:, 0, 0, 0] = 255
    return X


INPUTS = ArmInputs(generate=generate, scorer=scorer, approved=(toy((0, 0, 4), seed=9)[0], np.full(4, 2)),
                   generate_wide=generate_wide)


@pytest.mark.parametrize("arm", ARMS)
def test_every_arm_keeps_the_real_images_and_balances_as_promised(arm):
    X, y = toy()
    ts = build_training_set(arm, X, y, seed=0, inputs=INPUTS)
    np.testing.assert_array_equal(ts.images[: len(X)], X)  # the real images come first, untouched
    assert ts.images.dtype == np.uint8 and ts.images.shape[1:] == X.shape[1:]
    counts = class_counts(ts.labels)
    if arm == "real":
        assert counts == {0: 12, 1: 10, 2: 3} and ts.n_synthetic == 0
    elif arm == "gan_approved":
        assert counts == {0: 12, 1: 10, 2: 7} and ts.n_synthetic == 4
    else:
        assert counts == {0: 12, 1: 12, 2: 12}
    assert (ts.augmentation is not None) == (arm in ("classic", "gan_classic", "gan_mix"))
    # gan_mix: gaps 2 and 9, half of each (1 and round(4.5) = 4) real copies, the other 1 + 5 from the generator.
    assert ts.n_synthetic == {"oversample": 0, "classic": 0, "real": 0, "gan_approved": 4, "gan_mix": 6}.get(arm, 11)


def test_arms_are_deterministic_per_seed():
    X, y = toy()
    for arm in ("oversample", "smote", "gan", "gan_mix", "gan_filtered"):
        a = build_training_set(arm, X, y, 3, INPUTS).images
        b = build_training_set(arm, X, y, 3, INPUTS).images
        c = build_training_set(arm, X, y, 4, INPUTS).images
        assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes(), arm


def test_gan_mix_fills_each_gap_half_with_real_copies_half_with_the_wide_generator():
    X, y = toy(counts=(12, 10, 2))  # gaps 2 and 10
    ts = build_training_set("gan_mix", X, y, 0, INPUTS)
    added, labels = ts.images[len(X):], ts.labels[len(X):]
    wide = added[:, 0, 0, 0] == 255  # generate_wide's mark: the GAN samples come from the wide generator only
    assert ts.n_synthetic == wide.sum() == 1 + 5
    assert class_counts(labels[wide]) == {1: 1, 2: 5} and class_counts(labels[~wide]) == {1: 1, 2: 5}
    real = {x.tobytes(): c for x, c in zip(X, y)}
    assert all(real.get(x.tobytes()) == c for x, c in zip(added[~wide], labels[~wide]))  # copies of their class
    assert ts.info["duplicated"] == 6 and ts.info["generated"] == {1: 1, 2: 5}
    assert ts.augmentation == INPUTS.augmentation
    # The share moves the split; at 1 nothing is generated (and the generator is not asked for 0 images).
    only_real = build_training_set("gan_mix", X, y, 0, dataclasses.replace(INPUTS, mix_real_share=1.0))
    assert only_real.n_synthetic == 0 and class_counts(only_real.labels) == {0: 12, 1: 12, 2: 12}
    only_gan = build_training_set("gan_mix", X, y, 0, dataclasses.replace(INPUTS, mix_real_share=0.0))
    assert only_gan.n_synthetic == 12 and (only_gan.images[len(X):, 0, 0, 0] == 255).all()


def test_filter_drops_memorized_and_low_confidence_candidates_first():
    stats: dict = {}
    out = filtered(generate, scorer, min_confidence=0.5, pool=3, stats=stats)(2, 4, seed=1)
    candidates = generate(2, 12, 1)
    conf, mem = scorer(candidates, 2)
    assert mem.any()  # the example must contain something to drop
    expected = candidates[~mem & (conf >= 0.5)][:4]  # the first passing ones, in generation order
    np.testing.assert_array_equal(out, expected)
    assert stats[2] == {"candidates": 12, "passed": int((~mem).sum()), "memorized": int(mem.sum()), "filled": 0}
    # When too few pass, the rest is filled with non-memorized candidates first.
    strict = filtered(generate, scorer, min_confidence=2.0, pool=2, stats=stats)
    out = strict(2, 3, seed=1)
    assert len(out) == 3 and not scorer(out, 2)[1].any()


def test_the_filter_scores_chunk_by_chunk_with_progress_and_stops_once_enough_pass(monkeypatch):
    """gan_filtered scored all its candidates (3 × what it keeps) in one silent call: minutes on a large set, the
    benchmark's bar frozen at its last arm, though most pass. Chunked, it stops once enough have passed, and keeps
    the same samples."""
    import ganaug_core.benchmark.arms as arms

    whole = filtered(generate, scorer, min_confidence=0.5, pool=3, stats={})(2, 4, seed=1)
    monkeypatch.setattr(arms, "FILTER_CHUNK", 3)
    seen, calls, stats = [], [], {}

    def counting(images, class_index):
        calls.append(len(images))
        return scorer(images, class_index)

    chunked = filtered(generate, counting, min_confidence=0.5, pool=3, stats=stats, progress=seen.append)(2, 4, 1)
    np.testing.assert_array_equal(chunked, whole)
    assert calls == [3, 3]  # 6 of the 12 candidates: 6 passed, where 4 were needed
    assert [(p.stage, p.done, p.total) for p in seen] == [("score", 0, 12), ("score", 3, 12), ("score", 12, 12)]
    assert seen[0].stats == {"phase": "gan_filtered, class 2's candidates"}
    assert seen[-1].stats["scored"] == "6 (enough passed)"  # why the bar jumped to its total
    assert stats[2] == {"candidates": 6, "passed": 6, "memorized": 0, "filled": 0}  # of those scored
    # Where too few pass, every candidate is scored, as before.
    seen.clear()
    filtered(generate, scorer, min_confidence=2.0, pool=3, stats={}, progress=seen.append)(2, 3, 1)
    assert [p.done for p in seen] == [0, 3, 6, 9]
    # The benchmark's harness hands its own callback down (the other arms report nothing while they build).
    X, y = toy()
    seen.clear()
    build_training_set("gan_filtered", X, y, 0, INPUTS, progress=seen.append)
    assert {p.stage for p in seen} == {"score"} and seen[-1].done == seen[-1].total
    seen.clear()
    build_training_set("gan", X, y, 0, INPUTS, progress=seen.append)
    assert seen == []


def test_missing_inputs_skip_an_arm_with_a_reason_and_unknown_arms_are_refused():
    assert missing_input("gan", ArmInputs()) == "no trained generator"
    assert missing_input("gan_mix", ArmInputs(generate=generate)) == "no trained generator"
    assert missing_input("gan_filtered", ArmInputs(generate=generate)) == "no automatic scores available"
    assert "approved" in missing_input("gan_approved", ArmInputs())
    assert missing_input("smote", ArmInputs()) is None
    with pytest.raises(GanaugError, match="unknown arm 'gans'"):
        missing_input("gans", ArmInputs())
    with pytest.raises(GanaugError, match="cannot run"):
        build_training_set("gan", *toy(), 0, ArmInputs())


def test_gan_mix_runs_only_when_named():
    from ganaug.benchmarking import parse_arms

    assert "gan_mix" in ARMS and "gan_mix" not in DEFAULT_ARMS
    assert parse_arms(None) == (list(DEFAULT_ARMS), False)
    assert parse_arms("gan_mix,classic") == (["classic", "gan_mix"], True)


def test_smote_refuses_a_class_with_a_single_image():
    X, y = toy(counts=(5, 1))
    with pytest.raises(GanaugError, match="at least 2"):
        build_training_set("smote", X, y, 0, INPUTS)


def test_sweep_strategy_scales_each_gap():
    _, y = toy()
    assert sweep_strategy(y, 0.0) == {1: 10, 2: 3}
    assert sweep_strategy(y, 1.0) == {1: 12, 2: 12}
    assert sweep_strategy(y, 2.0) == {1: 14, 2: 21}
    assert sweep_strategy(y, 0.5) == {1: 11, 2: 7}  # gaps 2 and 9: 1 and round(4.5) = 4 more


def test_classifier_is_deterministic_per_seed_and_learns_a_trivial_task():
    X, y = toy()
    p1 = predict_proba(train_classifier(X, y, 3, seed=5, budget=Budget(steps=40, batch_size=8, width=4)), X)
    p2 = predict_proba(train_classifier(X, y, 3, seed=5, budget=Budget(steps=40, batch_size=8, width=4)), X)
    p3 = predict_proba(train_classifier(X, y, 3, seed=6, budget=Budget(steps=40, batch_size=8, width=4)), X)
    np.testing.assert_array_equal(p1, p2)
    assert not np.array_equal(p1, p3)
    assert (p1.argmax(1) == y).mean() > 0.8
    np.testing.assert_allclose(p1.sum(1), 1.0, rtol=1e-5)


def test_augmented_training_is_deterministic_too():
    from ganaug_core.benchmark.augment import ClassicAugmentation

    X, y = toy()
    a = predict_proba(train_classifier(X, y, 3, 1, TINY, ClassicAugmentation()), X)
    b = predict_proba(train_classifier(X, y, 3, 1, TINY, ClassicAugmentation()), X)
    c = predict_proba(train_classifier(X, y, 3, 1, TINY, None), X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_shifts_are_deterministic_change_the_images_and_keep_shape_and_dtype():
    X, _ = toy()
    first, second = shifted_test_sets(X), shifted_test_sets(X)
    assert set(first) == set(SHIFTS) == {"noise", "blur", "contrast", "rotation"}
    for name, images in first.items():
        assert images.shape == X.shape and images.dtype == np.uint8, name
        assert images.tobytes() == second[name].tobytes(), name
        assert not np.array_equal(images, X), name
    # Lower contrast keeps each image's mean and shrinks its spread.
    assert first["contrast"].astype(float).std() < X.astype(float).std()
