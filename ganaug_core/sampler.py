"""A GAN as an imbalanced-learn sampler: `GANSampler(generate).fit_resample(X, y) -> (X_res, y_res)`.

It follows imbalanced-learn's convention so the GAN plugs into the same harness as RandomOverSampler and SMOTE:
`__init__` only stores parameters; `fit_resample` validates, resolves `sampling_strategy` to
{class: number of samples to generate}, and does the work in `_fit_resample`; `random_state` is turned into a
generator once; fitted attributes end in `_`. The resampled arrays are the original ones followed by the new
samples, as in imbalanced-learn.

`generate(class_index, n, seed)` is any callable returning uint8 images (n, C, H, W) — in practice a
`GeneratorPipeline`, whose `SampleOutput` is accepted as well. X may hold the images as (N, C, H, W) or
flattened (N, C·H·W), in the generator's 0–255 pixel scale; generated images take X's trailing shape and dtype.
Class c's new rows are `generate(c, n_c, seeds_[c])`: with a pipeline, the samples `ganaug generate --class c
--n n_c --seed seeds_[c]` stores, byte for byte where the run trained at X's side (below it, pass
`lambda c, n, s: upsample_images(pipe(c, n, s).images, side)`, as a batch stores them).

    pipe = GeneratorPipeline.from_run("GANAUG_HOME/runs/000001")
    X_res, y_res = GANSampler(pipe, random_state=0).fit_resample(X, y)
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Union

import numpy as np

SamplingStrategy = Union[str, float, Mapping[int, int], Callable[[np.ndarray], Mapping[int, int]]]
GenerateFn = Callable[[int, int, int], Any]

SEED_SPACE = 2**31 - 1  # per-class generation seeds are drawn from [0, SEED_SPACE)


def class_counts(y: np.ndarray) -> dict[int, int]:
    classes, counts = np.unique(y, return_counts=True)
    return {int(c): int(n) for c, n in zip(classes, counts)}


def resolve_sampling_strategy(sampling_strategy: SamplingStrategy, y: np.ndarray) -> dict[int, int]:
    """{class: number of samples to generate}, with imbalanced-learn's over-sampling semantics.

    Strings pick the classes brought up to the majority count: 'minority', 'not minority', 'not majority',
    'all', and 'auto' (= 'not majority'). A dict gives each listed class's desired count *after* resampling
    (never below its current count). A float is the desired minority/majority ratio after resampling; unlike
    imbalanced-learn (binary only) it applies to every non-majority class, which is what a GAN needs on
    multi-class data. A callable receives y and returns such a dict.
    """
    counts = class_counts(y)
    if len(counts) < 2:
        raise ValueError(f"need at least 2 classes in y to resample, got {len(counts)}")
    majority = max(counts.values())
    majority_class = max(counts, key=lambda c: (counts[c], -c))
    minority_class = min(counts, key=lambda c: (counts[c], c))
    if callable(sampling_strategy) and not isinstance(sampling_strategy, str):
        sampling_strategy = sampling_strategy(y)
    if isinstance(sampling_strategy, str):
        if sampling_strategy == "auto":
            sampling_strategy = "not majority"
        chosen = {
            "minority": [minority_class],
            "not minority": [c for c in counts if c != minority_class],
            "not majority": [c for c in counts if c != majority_class],
            "all": list(counts),
        }.get(sampling_strategy)
        if chosen is None:
            raise ValueError(
                f"unknown sampling_strategy {sampling_strategy!r}: use 'auto', 'minority', 'not minority', "
                "'not majority', 'all', a float or a dict"
            )
        return {c: majority - counts[c] for c in sorted(chosen)}
    if isinstance(sampling_strategy, (float, int)) and not isinstance(sampling_strategy, bool):
        ratio = float(sampling_strategy)
        if not 0 < ratio:
            raise ValueError(f"a float sampling_strategy must be > 0, got {ratio}")
        out = {c: int(majority * ratio - n) for c, n in counts.items() if c != majority_class}
        if any(v < 0 for v in out.values()):
            raise ValueError(f"sampling_strategy={ratio} would remove samples from a minority class; over-sampling only adds")
        return dict(sorted(out.items()))
    if isinstance(sampling_strategy, Mapping):
        out = {}
        for c, target in sampling_strategy.items():
            c, target = int(c), int(target)
            if c not in counts:
                raise ValueError(f"sampling_strategy names class {c}, which is not present in y")
            if target < counts[c]:
                raise ValueError(
                    f"sampling_strategy asks for {target} samples of class {c}, fewer than the {counts[c]} it has; "
                    "over-sampling only adds"
                )
            out[c] = target - counts[c]
        return dict(sorted(out.items()))
    raise ValueError(f"sampling_strategy must be a string, float, dict or callable, got {type(sampling_strategy).__name__}")


def check_random_state(random_state: Union[None, int, np.random.Generator]) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, an int or a numpy Generator, got {type(random_state).__name__}")


def _validate_X_y(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional, got shape {y.shape}")
    if X.ndim < 2:
        raise ValueError(f"X must be (N, features) or (N, C, H, W), got shape {X.shape}")
    if len(X) != len(y):
        raise ValueError(f"X and y have different lengths: {len(X)} vs {len(y)}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class indices (the generator is conditioned on them), got {y.dtype}")
    return X, y


class GANSampler:
    """Over-sample with a class-conditional generator, imbalanced-learn style.

    Parameters
    ----------
    generate : callable (class_index, n, seed) -> uint8 (n, C, H, W), or a `GeneratorPipeline`.
    sampling_strategy : see `resolve_sampling_strategy`.
    random_state : None, int or numpy Generator; the per-class generation seeds are drawn from it.

    Fitted attributes: `sampling_strategy_` ({class: n generated}), `seeds_` ({class: seed passed to
    generate}), `n_generated_`.
    """

    def __init__(self, generate: GenerateFn, sampling_strategy: SamplingStrategy = "auto", random_state=None):
        self.generate = generate
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state

    def fit_resample(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        X, y = _validate_X_y(X, y)
        self.sampling_strategy_ = resolve_sampling_strategy(self.sampling_strategy, y)
        return self._fit_resample(X, y)

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng = check_random_state(self.random_state)
        X_parts, y_parts = [X], [y]
        self.seeds_ = {}
        for class_index, n in self.sampling_strategy_.items():
            # One seed per class, drawn in class order, so a class's samples do not depend on other classes' counts.
            seed = int(rng.integers(0, SEED_SPACE))
            self.seeds_[class_index] = seed
            if n == 0:
                continue
            images = self._generate(class_index, n, seed, X)
            X_parts.append(images)
            y_parts.append(np.full(n, class_index, dtype=y.dtype))
        self.n_generated_ = int(sum(self.sampling_strategy_.values()))
        return np.concatenate(X_parts), np.concatenate(y_parts)

    def _generate(self, class_index: int, n: int, seed: int, X: np.ndarray) -> np.ndarray:
        out = self.generate(class_index, n, seed)
        images = np.asarray(getattr(out, "images", out))
        if len(images) != n:
            raise ValueError(f"generate({class_index}, {n}, {seed}) returned {len(images)} images, expected {n}")
        per_sample = int(np.prod(X.shape[1:]))
        if int(np.prod(images.shape[1:])) != per_sample:
            raise ValueError(
                f"generated images have shape {images.shape[1:]}, which does not match X's samples {X.shape[1:]}"
            )
        return images.reshape((n,) + X.shape[1:]).astype(X.dtype, copy=False)
