"""How many seeds a benchmark runs, and what too few of them can tell. Torch-free: the app's form reads it."""

from __future__ import annotations

from typing import Optional

DEFAULT_SEEDS = 5
QUICK_MAX_SEEDS = 2  # a quick benchmark is a smoke test: its seeds are capped at this
# Below this many seeds a 95 % t interval is too wide for all but large differences (over 2 seeds it spans ±12.7
# standard errors, and often the whole 0–1 range), so a tie says little.
FEW_SEEDS = 3


def few_seeds_caution(seeds: int, quick: bool) -> Optional[str]:
    """A caution when there are too few seeds for the intervals to decide anything; None otherwise."""
    if seeds >= FEW_SEEDS:
        return None
    how = f"run without --quick ({DEFAULT_SEEDS} seeds)" if quick else f"run with --seeds {DEFAULT_SEEDS}"
    if seeds == 1:
        return f"one seed gives no interval, so no difference between arms can be called real; {how} for a verdict"
    # Not "too wide to tell the arms apart": a large, steady difference does clear them (the answer may say "No"
    # over 2 seeds), and the caution must not contradict the answer printed above it.
    return (f"only {seeds} seeds: their 95 % intervals are wide, so only a large difference shows and a smaller one "
            f"is not ruled out (a smoke test); {how} before relying on the answer")
