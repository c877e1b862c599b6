"""How long a benchmark will take, said in one line before it starts.

Most of a benchmark is classifier training: every arm and every sweep point trains the classifier for the budget's
steps, whatever the training set's size, so that time is the trainings × the steps × one step's time, and a step's
time grows with the side (more than the pixels at 128²: the maps outgrow the caches). The figures are measured
(BENCHMARKS.md, "The benchmark's classifier at larger sides"): the time is scaled from whole benchmarks of the demo
digits at 32² on a quiet 2-core machine by the step's cost at the dataset's side, so it counts building the training
sets and the GAN's samples as at 32²; a busy machine took up to 10× as long (533 s against 53 s at 32²).

gan_filtered's scoring is counted apart (`scoring_seconds`), from what it does, never by scoring: every seed scores,
for every class below the largest, up to `pool` × its gap candidates (all of them where few pass, one block of 256
where most do: the line says "up to"), each against every training image (the pixel copy check's search and blend
fit read them all), and once per benchmark it takes the training images' features, prepares them for the copy check
and measures each one's nearest other (training images²), fitting the dataset's feature extractor first where it has
none (400 steps). A factory's parts at 32² colour (ok 300, scratch 60, crack 8) spent 4.7 of 6.5 minutes there
while the line said "under a minute". The costs are in quick classifier steps at 32², each measured side by side
with such steps in one process (the 2 cores shared with other sessions, whose load cancels in the ratio:
2026-12-07, late; BENCHMARKS.md, "The benchmark's time estimate and gan_filtered's scoring"), then turned into
seconds by that step's 14.3 ms. Checked against two whole `--quick` benchmarks of the demo digits, each scaled by how
much slower its own classifiers ran than estimated, the estimate came to 0.89 of the measured time at 16² and 0.96 at
32² (0.45 and 0.36 before the scoring was counted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from ganaug_core.benchmark.classifier import QUICK_BUDGET, Budget
from ganaug_core.benchmark.sweep import SHARED_POINTS, SWEEP_ARM

# Seconds a classifier step takes at 32², all the rest of the benchmark shared out among the steps: `--quick` took
# 53 s for 16 trainings of 150 steps, the full benchmark 428 s for 50 of 400 (demo digits, quiet Zen 4, 2026-12-06).
SECONDS_PER_STEP_AT_32 = 0.022

# A step's cost at a side against its cost at 32², measured side by side in one process (1 thread, the 2 cores
# shared with other sessions, 2026-12-07). Between two sides the cost is interpolated on a log scale; above the
# largest it grows as the pixels (a guess: not measured).
STEP_COST = {
    "quick": {16: 0.38, 32: 1.0, 64: 4.5, 128: 40.0},  # batch 32, width 12: 5.4, 14.3, 64, 579 ms a step
    "full": {16: 0.28, 32: 1.0, 64: 3.3, 128: 21.0},  # batch 64, width 16: 36, 129, 423, 2,751 ms a step
}


def classifier_trainings(arms: Sequence[str], seeds: int, sweep_multipliers: Sequence[float]) -> int:
    """How many classifiers a benchmark trains: one per arm and seed, plus the sweep's points the arms do not
    already measure (as `run_benchmark_arms` counts its progress)."""
    sweep = [m for m in sweep_multipliers if SHARED_POINTS.get(m) not in arms] if SWEEP_ARM in arms else []
    return seeds * (len(arms) + len(sweep))


def step_cost(side: int, budget: Budget) -> float:
    """A classifier step's cost at `side` against one at 32²."""
    kind = "quick" if budget.batch_size * budget.width ** 2 <= QUICK_BUDGET.batch_size * QUICK_BUDGET.width ** 2 \
        else "full"
    table = STEP_COST[kind]
    sides = sorted(table)
    if side <= sides[0]:
        return table[sides[0]]
    if side >= sides[-1]:
        return table[sides[-1]] * (side / sides[-1]) ** 2
    lo = max(s for s in sides if s <= side)
    hi = min(s for s in sides if s >= side)
    if lo == hi:
        return table[lo]
    t = math.log(side / lo) / math.log(hi / lo)
    return math.exp((1 - t) * math.log(table[lo]) + t * math.log(table[hi]))


def expected_seconds(side: int, trainings: int, budget: Budget) -> float:
    return trainings * budget.steps * SECONDS_PER_STEP_AT_32 * step_cost(side, budget)


# A quick classifier step at 32² (batch 32, width 12), the unit the scoring's costs are measured in: 14.3 ms
# (BENCHMARKS.md, "The benchmark's classifier at larger sides").
CLASSIFIER_STEP_S = 0.0143

# Scoring one candidate, in those steps: a part of its own (features, rotations, crops, the alignment of its nearest
# few) and a part per 1,000 training images it is searched against, by the side the copy check compares at (images
# above 32² are block-averaged to 32²: 32²'s figures, not measured above). Grey images; colour ones cost COLOUR_COST
# times as much. 256 candidates against 250 and 2,000 training images, twice (the two runs' figures differed up to
# 2×, the load moving within a scoring: their means): 16² 0.22 + 0.13 and 0.12 + 0.26, 32² 1.04 + 1.22 and
# 1.39 + 0.11, 32² colour 2.68 + 1.32 and 3.50 + 1.19.
CANDIDATE_COST = {16: (0.17, 0.19), 32: (1.2, 0.66)}
# Once per benchmark, per training image (its features and its copy-check preparation), in steps: 16² 0.003 and
# 0.0045, 32² 0.023 and 0.052, 32² colour 0.058 and 0.051; and per pair of them (each one's nearest other) 0.8–2.4
# steps per 10⁶ pairs.
PREPARE_COST = {16: 0.004, 32: 0.037}
PAIR_COST = 2e-6
# The feature extractor's 400 steps where the dataset has none yet, one of them in classifier steps (batch 64, 100
# steps on 863 images; it looks at 64² at most: above 32² scaled as the pixels, not measured): 16² 1.63, 32² 5.65,
# 32² colour 6.42.
EXTRACTOR_STEPS = 400
EXTRACTOR_STEP_COST = {16: 1.6, 32: 5.7}
# Colour against grey at 32²: a candidate's own part and its part per training image, the preparation, the fit.
COLOUR_COST = {"own": 2.6, "per_thousand": 1.9, "prepare": 1.5, "fit": 1.15}


@dataclass
class ScoringLoad:
    """What gan_filtered's scoring depends on, read from the dataset without scoring anything."""

    channels: int
    train_counts: Sequence[int]  # training images per class
    extractor_fitted: bool  # the dataset has its feature extractor already (fitted once, then kept)
    pool: int = 3  # candidates drawn per sample the arm keeps (ArmInputs.filter_pool)

    def candidates(self) -> int:
        """Candidates a seed scores at most: `pool` × each class's gap to the largest class (GANSampler 'auto')."""
        top = max(self.train_counts, default=0)
        return self.pool * sum(top - n for n in self.train_counts)


def _by_side(table: dict, side: int):
    """`table`'s value at `side`, the smallest side's below it, the largest's above it, and interpolated on a log
    scale between two."""
    sides = sorted(table)
    side = min(max(side, sides[0]), sides[-1])
    lo, hi = max(s for s in sides if s <= side), min(s for s in sides if s >= side)
    if lo == hi:
        return table[lo]
    t = math.log(side / lo) / math.log(hi / lo)

    def mix(a: float, b: float) -> float:
        return math.exp((1 - t) * math.log(a) + t * math.log(b))

    return (tuple(mix(a, b) for a, b in zip(table[lo], table[hi])) if isinstance(table[lo], tuple)
            else mix(table[lo], table[hi]))


def scoring_seconds(side: int, seeds: int, load: ScoringLoad) -> float:
    """gan_filtered's scoring at most, on a quiet machine (the module's docstring says how it is measured)."""
    colour = {k: (v if load.channels > 1 else 1.0) for k, v in COLOUR_COST.items()}
    own, per_thousand = _by_side(CANDIDATE_COST, side)
    n = sum(load.train_counts)
    steps = seeds * load.candidates() * (own * colour["own"] + per_thousand * colour["per_thousand"] * n / 1000)
    steps += n * _by_side(PREPARE_COST, side) * colour["prepare"] + n * n * PAIR_COST
    if not load.extractor_fitted:
        fit = _by_side(EXTRACTOR_STEP_COST, side) * colour["fit"] * max(1.0, (min(side, 64) / 32) ** 2)
        steps += EXTRACTOR_STEPS * fit
    return steps * CLASSIFIER_STEP_S


def about(seconds: float) -> str:
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    return f"about {minutes} min" if minutes < 90 else f"about {minutes // 60} h {minutes % 60:02d} min"


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}{'s' * (n != 1)}"


def expected_line(side: int, arms: Sequence[str], seeds: int, budget: Budget,
                  sweep_multipliers: Sequence[float], scoring: Optional[ScoringLoad] = None) -> str:
    """The line said before a benchmark starts: what it will train and score, and for about how long. `scoring`:
    the dataset's, where gan_filtered runs (None: its scoring is not counted)."""
    trainings = classifier_trainings(arms, seeds, sweep_multipliers)
    sweep = trainings // seeds - len(arms)
    what = _count(len(arms), "arm") + (f" and {_count(sweep, 'sweep point')}" if sweep else "")
    seconds = expected_seconds(side, trainings, budget)
    scores = ""
    if scoring is not None and "gan_filtered" in arms and scoring.candidates():
        scored = scoring_seconds(side, seeds, scoring)
        seconds += scored
        fit = "" if scoring.extractor_fitted else ", after fitting the dataset's feature extractor"
        scores = (f" and scores up to {_count(seeds * scoring.candidates(), 'gan_filtered candidate')} against "
                  f"{_count(sum(scoring.train_counts), 'training image')}{fit}")
    # The scoring's share, where it has one of a minute or more: "under a minute …, under a minute of it" said nothing.
    share = f", up to {about(scored)} of it scoring" if scores and scored >= 60 else ""
    return (f"This benchmark trains {_count(trainings, 'classifier')} of {budget.steps} steps at {side}² ({what}, "
            f"{_count(seeds, 'seed')}){scores}: {about(seconds)} on a quiet 2-core machine{share} (other jobs on its "
            "cores have made a benchmark 10× slower).")
