"""The arms of the benchmark: how each one builds its training set from the real training split.

- real: the real training images only.
- oversample: random over-sampling of every non-majority class up to the majority count (imbalanced-learn).
- smote: SMOTE on the flattened pixels (imbalanced-learn), same target counts.
- classic: random over-sampling plus on-the-fly rotation/scale/translation/brightness/contrast — what a user
  would configure; the over-sampling is included so the baseline also sees a balanced class mix.
- gan: the generator fills every class's gap to the majority count (`GANSampler`, strategy 'auto').
- gan_classic: the gan set, trained with the same on-the-fly augmentation as classic.
- gan_mix: each class's gap filled half with oversampled real copies (as classic's) and half with GAN samples drawn
  with a wider latent spread (z × 2, `spread.py`), all with classic's on-the-fly augmentation. Not in the default
  list: name it in --arms (BENCHMARKS.md, "Downstream benchmark", 2026-12-06, has its measurements).
- gan_filtered: like gan, but candidates the automatic scores call memorized or low-confidence are dropped
  (more candidates are generated so the counts stay the same).
- gan_approved: the real images plus the synthetic samples reviewers approved (the gated training set).

Every arm's random choices come from the benchmark seed; the classifier then trains with the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from ganaug_core.benchmark.augment import ClassicAugmentation
from ganaug_core.errors import GanaugError
from ganaug_core.imbalance import some_names
from ganaug_core.progress import Progress, ProgressCallback, no_progress
from ganaug_core.sampler import GANSampler, GenerateFn, SamplingStrategy, class_counts

ARMS = ("real", "oversample", "smote", "classic", "gan", "gan_classic", "gan_mix", "gan_filtered", "gan_approved")
# The arms a benchmark runs when none are named; the others run only when named in --arms.
DEFAULT_ARMS = tuple(a for a in ARMS if a != "gan_mix")
BASELINE_ARMS = ("oversample", "smote", "classic")
GAN_ARMS = ("gan", "gan_classic", "gan_mix", "gan_filtered", "gan_approved")
# What each arm trains on, in a reader's words: the report, the CLI's --help and the app say it the same way.
ARM_DESCRIPTIONS = {
    "real": "the real training images only",
    "oversample": "real images, rare ones repeated up to the largest class's count",
    "smote": "real images plus SMOTE interpolations between same-class images",
    "classic": "oversample plus random rotation, scale, shift, brightness and contrast",
    "gan": "real images plus GAN samples filling each class's gap",
    "gan_classic": "the gan set, with classic's random transformations",
    "gan_mix": "each class's gap half rare images repeated, half wider-spread GAN samples, with classic's "
               "random transformations",
    "gan_filtered": "like gan, dropping samples the automatic scores flag (memorized, doubtful class)",
    "gan_approved": "real images plus the GAN samples reviewers approved (the gated set)",
}

# (images uint8 (n, C, H, W), class_index) -> (class confidence (n,), memorized (n,) bool)
ScoreFn = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]


@dataclass
class ArmInputs:
    """What the arms beyond the cheap baselines need; an arm whose input is missing is skipped with a reason."""

    generate: Optional[GenerateFn] = None  # (class_index, n, seed) -> uint8 images, for the gan arms
    generate_wide: Optional[GenerateFn] = None  # the same generator with latents × mix_latent_scale, for gan_mix
    scorer: Optional[ScoreFn] = None  # automatic per-sample scores, for gan_filtered
    approved: Optional[tuple[np.ndarray, np.ndarray]] = None  # reviewer-approved synthetic images, labels
    augmentation: ClassicAugmentation = field(default_factory=ClassicAugmentation)
    min_confidence: float = 0.5  # gan_filtered drops candidates the real-trained classifier doubts more than this
    filter_pool: int = 3  # gan_filtered generates this many candidates per sample it needs
    mix_real_share: float = 0.5  # gan_mix fills this share of each class's gap with real copies, the rest with GAN
    mix_latent_scale: float = 2.0  # gan_mix's latent spread (the caller builds generate_wide with it)


@dataclass
class TrainingSet:
    images: np.ndarray
    labels: np.ndarray
    augmentation: Optional[ClassicAugmentation]  # applied on the fly by the classifier's training loop
    n_synthetic: int
    info: dict = field(default_factory=dict)


def smote_cannot_run(train_counts: Sequence[int], class_names: Sequence[str]) -> Optional[str]:
    """Why SMOTE cannot run on these training counts, or None: it interpolates between an image and a neighbour of
    its class, so a class of one training image (2 images in all, one held out for test) has none. Said before any
    classifier trains: imbalanced-learn refused it only when SMOTE's turn came."""
    short = [str(class_names[c]) for c, n in enumerate(train_counts) if n == 1]
    if not short:
        return None
    many = len(short) > 1
    return (f"SMOTE interpolates between two training images of one class, and class{'es' * many} "
            f"{some_names(short)} {'have' if many else 'has'} only one")


def missing_input(arm: str, inputs: ArmInputs, train_counts: Sequence[int] = (),
                  class_names: Sequence[str] = ()) -> Optional[str]:
    """Why `arm` cannot run with these inputs and training counts per class, or None when it can."""
    if arm not in ARMS:
        raise GanaugError(f"unknown arm {arm!r}: choose from {', '.join(ARMS)}")
    if arm == "smote":
        return smote_cannot_run(train_counts, class_names)
    if arm in ("gan", "gan_classic", "gan_filtered") and inputs.generate is None:
        return "no trained generator"
    if arm == "gan_mix" and inputs.generate_wide is None:
        return "no trained generator"
    if arm == "gan_filtered" and inputs.scorer is None:
        return "no automatic scores available"
    if arm == "gan_approved" and (inputs.approved is None or len(inputs.approved[1]) == 0):
        return "no reviewer-approved synthetic samples for this dataset"
    return None


def filtered(generate: GenerateFn, scorer: ScoreFn, min_confidence: float, pool: int, stats: dict,
             progress: ProgressCallback = no_progress) -> GenerateFn:
    """A generate function that drops memorized and low-confidence candidates.

    It draws `pool × n` candidates and keeps the first n that pass, in generation order (ranking by confidence
    would keep only the easiest, least diverse samples). If too few pass, the rest is filled with the most
    confident non-memorized candidates, then anything left; `stats` counts how often that happened.
    The candidates are scored FILTER_CHUNK at a time, each chunk reported to `progress` (stage "score"), and only
    until n have passed: the samples kept are the same (before, all of them in one silent call: minutes on a large
    set with the benchmark's bar frozen, and 3× the scoring needed where most pass, as the demo's ≈ 100 % do;
    BENCHMARKS.md, "gan_filtered's scoring").
    """

    def generate_filtered(class_index: int, n: int, seed: int) -> np.ndarray:
        out = generate(class_index, n * pool, seed)
        candidates = np.asarray(getattr(out, "images", out))
        confidence, memorized = _scored(scorer, candidates, class_index, n, min_confidence, progress)
        candidates = candidates[: len(confidence)]  # those scored: the first n that pass are among them
        passing = np.flatnonzero(~memorized & (confidence >= min_confidence))
        rest = np.setdiff1d(np.arange(len(candidates)), passing)
        rest = rest[np.lexsort((-confidence[rest], memorized[rest]))]  # not memorized first, then most confident
        chosen = np.concatenate([passing[:n], rest[: max(0, n - len(passing))]])
        s = stats.setdefault(int(class_index), {"candidates": 0, "passed": 0, "memorized": 0, "filled": 0})
        s["candidates"] += len(candidates)
        s["passed"] += len(passing)
        s["memorized"] += int(memorized.sum())
        s["filled"] += max(0, n - len(passing))
        return candidates[chosen]

    return generate_filtered


# Candidates scored at a time by gan_filtered: one of the scorer's own blocks (256 images through the feature
# extractor and the copy check), so each candidate's scores are those of one call over the whole pool (measured
# equal), a report comes every block (≈ 50 s against 4,000 real 16² images on a busy 2-core machine), and the
# scoring stops within a block of the candidates it keeps.
FILTER_CHUNK = 256


def _scored(scorer: ScoreFn, candidates: np.ndarray, class_index: int, n: int, min_confidence: float,
            progress: ProgressCallback) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, memorized) of the first candidates, scored a chunk at a time with a report after each, until
    n of them pass (or all are scored)."""
    said = {"phase": f"gan_filtered, class {class_index}'s candidates"}
    confidence, memorized, passed = [], [], 0
    progress(Progress("score", 0, len(candidates), said))
    for start in range(0, len(candidates), FILTER_CHUNK):
        c, m = scorer(candidates[start : start + FILTER_CHUNK], class_index)
        confidence.append(np.asarray(c, dtype=np.float64))
        memorized.append(np.asarray(m, dtype=bool))
        passed += int((~memorized[-1] & (confidence[-1] >= min_confidence)).sum())
        # Enough passed: the rest is not needed, and the bar ends full, saying how many were scored (its jump from
        # 256/711 to 711/711 said nothing of it).
        scored = min(start + FILTER_CHUNK, len(candidates))
        enough = passed >= n and scored < len(candidates)
        progress(Progress("score", len(candidates) if enough else scored, len(candidates),
                          {**said, "scored": f"{scored} (enough passed)"} if enough else said))
        if passed >= n:
            break
    return np.concatenate(confidence), np.concatenate(memorized)


def _random_oversample(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from imblearn.over_sampling import RandomOverSampler

    X_res, y_res = RandomOverSampler(random_state=seed).fit_resample(X.reshape(len(X), -1), y)
    return X_res.reshape((-1,) + X.shape[1:]), y_res


def _smote(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from imblearn.over_sampling import SMOTE

    smallest = int(np.unique(y, return_counts=True)[1].min())
    if smallest < 2:  # refused before any arm trains (`smote_cannot_run`); kept for a direct caller
        raise GanaugError("SMOTE needs at least 2 training images in every class")
    sampler = SMOTE(random_state=seed, k_neighbors=min(5, smallest - 1))
    X_res, y_res = sampler.fit_resample(X.reshape(len(X), -1).astype(np.float64), y)
    images = np.clip(np.rint(X_res), 0, 255).astype(np.uint8).reshape((-1,) + X.shape[1:])
    images[: len(X)] = X  # the originals, bit for bit
    return images, y_res


def _mix(X: np.ndarray, y: np.ndarray, seed: int, inputs: ArmInputs) -> TrainingSet:
    """gan_mix: each class up to the majority count, `mix_real_share` of its gap as random copies of its real
    images (imbalanced-learn's RandomOverSampler, as oversample and classic), the rest as wide-spread GAN samples."""
    from imblearn.over_sampling import RandomOverSampler

    counts = class_counts(y)
    top = max(counts.values())
    n_real = {c: int(round(inputs.mix_real_share * (top - n))) for c, n in counts.items()}
    gan_targets = {c: top - n_real[c] for c, n in counts.items() if n < top}
    if not gan_targets:  # already balanced: nothing to add
        return TrainingSet(X, y, inputs.augmentation, 0, {"generated": {}, "duplicated": 0})
    sampler = GANSampler(inputs.generate_wide, sampling_strategy=gan_targets, random_state=seed)
    Xg, yg = sampler.fit_resample(X, y)
    copies = RandomOverSampler(sampling_strategy={c: n + n_real[c] for c, n in counts.items()}, random_state=seed)
    Xc, yc = copies.fit_resample(X.reshape(len(X), -1), y)
    Xc, yc = Xc[len(X):].reshape((-1,) + X.shape[1:]), yc[len(X):]  # imblearn keeps the originals first
    info = {"generated": {int(c): int(n) for c, n in sampler.sampling_strategy_.items()}, "duplicated": len(yc),
            "real_share": inputs.mix_real_share, "latent_scale": inputs.mix_latent_scale}
    return TrainingSet(np.concatenate([Xg, Xc]), np.concatenate([yg, yc]), inputs.augmentation,
                       sampler.n_generated_, info)


def build_training_set(
    arm: str, X: np.ndarray, y: np.ndarray, seed: int, inputs: ArmInputs, strategy: SamplingStrategy = "auto",
    progress: ProgressCallback = no_progress,
) -> TrainingSet:
    """The training set of `arm` at benchmark seed `seed`; `strategy` sets the gan arms' synthetic counts;
    `progress`: gan_filtered's scoring of its candidates (the other arms build theirs in seconds)."""
    reason = missing_input(arm, inputs)
    if reason:
        raise GanaugError(f"arm {arm!r} cannot run: {reason}")
    aug = inputs.augmentation
    if arm == "real":
        return TrainingSet(X, y, None, 0)
    if arm in ("oversample", "classic"):
        Xr, yr = _random_oversample(X, y, seed)
        return TrainingSet(Xr, yr, aug if arm == "classic" else None, 0, {"duplicated": len(yr) - len(y)})
    if arm == "smote":
        Xr, yr = _smote(X, y, seed)
        return TrainingSet(Xr, yr, None, len(yr) - len(y))
    if arm == "gan_mix":
        return _mix(X, y, seed, inputs)
    if arm == "gan_approved":
        images, labels = inputs.approved
        return TrainingSet(np.concatenate([X, images]), np.concatenate([y, labels.astype(y.dtype)]), None, len(labels))
    stats: dict = {}
    generate = inputs.generate
    if arm == "gan_filtered":
        generate = filtered(generate, inputs.scorer, inputs.min_confidence, inputs.filter_pool, stats, progress)
    sampler = GANSampler(generate, sampling_strategy=strategy, random_state=seed)
    Xr, yr = sampler.fit_resample(X, y)
    info = {"generated": {int(c): int(n) for c, n in sampler.sampling_strategy_.items()}}
    if stats:
        info["filter"] = stats
    return TrainingSet(Xr, yr, aug if arm == "gan_classic" else None, sampler.n_generated_, info)
