"""How long a benchmark will take, said in one line before it starts.

Nearly all of a benchmark is classifier training: every arm and every sweep point trains the classifier for the
budget's steps, whatever the training set's size, so the time is the trainings × the steps × one step's time, and a
step's time grows with the side (more than the pixels at 128²: the maps outgrow the caches). The figures are
measured (BENCHMARKS.md, "The benchmark's classifier at larger sides"): the time is scaled from whole benchmarks of
the demo digits at 32² on a quiet 2-core machine by the step's cost at the dataset's side, so it counts building
the training sets, the GAN's samples and the scoring as at 32²; a busy machine took up to 10× as long (533 s
against 53 s at 32²). Not counted: gan_filtered's first run on a dataset fits its feature extractor (minutes at
128²), and its scoring grows with its candidates × the training images (4–5 min a rare class at 4,000 training
images, BENCHMARKS.md, "gan_filtered's scoring"), where the demo's took seconds.
"""

from __future__ import annotations

import math
from typing import Sequence

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


def about(seconds: float) -> str:
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    return f"about {minutes} min" if minutes < 90 else f"about {minutes // 60} h {minutes % 60:02d} min"


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'s' * (n != 1)}"


def expected_line(side: int, arms: Sequence[str], seeds: int, budget: Budget,
                  sweep_multipliers: Sequence[float]) -> str:
    """The line said before a benchmark starts: what it will train, and for about how long."""
    trainings = classifier_trainings(arms, seeds, sweep_multipliers)
    sweep = trainings // seeds - len(arms)
    what = _count(len(arms), "arm") + (f" and {_count(sweep, 'sweep point')}" if sweep else "")
    return (f"This benchmark trains {_count(trainings, 'classifier')} of {budget.steps} steps at {side}² ({what}, "
            f"{_count(seeds, 'seed')}): {about(expected_seconds(side, trainings, budget))} on a quiet 2-core "
            "machine (other jobs on its cores have made a benchmark 10× slower).")
