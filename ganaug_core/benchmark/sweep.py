"""The ratio sweep (the ablation): how many synthetic images per class help?

At multiplier m every non-majority class gets round(m × its gap to the majority count) synthetic images:
m = 0 is the real-only arm, m = 1 is exactly the gan arm (same seeds, same samples), m = 4 is four gaps' worth.
"""

from __future__ import annotations

import numpy as np

from ganaug_core.sampler import class_counts

MULTIPLIERS = (0.0, 0.5, 1.0, 2.0, 4.0)
QUICK_MULTIPLIERS = (0.0, 1.0, 2.0)
SWEEP_ARM = "gan"
# Points the main arms already measured with identical training sets; the sweep reuses them.
SHARED_POINTS = {0.0: "real", 1.0: "gan"}


def sweep_strategy(y: np.ndarray, multiplier: float) -> dict[int, int]:
    """A dict sampling strategy (desired counts after resampling) for one sweep point."""
    counts = class_counts(y)
    majority = max(counts.values())
    majority_class = max(counts, key=lambda c: (counts[c], -c))
    return {c: n + int(round(multiplier * (majority - n))) for c, n in counts.items() if c != majority_class}
