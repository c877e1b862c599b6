"""A run's training curves from its `stats.jsonl`: the losses of D and G, the augmentation probability p and each
class's diversity against its real images (the collapse monitor), for the Generate page's plots and `ganaug runs
show`. No torch, no Streamlit: the app and the command line read the same thing.

The file is read as it lies, also while the run still trains: a last line the trainer is still appending does not
parse and is skipped. A long run is thinned before it is parsed: 100,000 steps logged every step are 100,000 lines
(≈ 20 MB), which no chart can show point by point and which took seconds to parse; every k-th line is kept (the
last one always), and every line holding a diversity reading, which come 10× rarer, up to the same limit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ganaug_core.runstats import STATS_FILE

MAX_POINTS = 1500  # points per curve at most: about one per pixel of a chart on a wide screen
DEFAULT_THRESHOLD = 0.5  # TrainConfig.diversity_threshold's default, for a run folder without config.json
DIVERSITY_KEY = b'"diversity"'
LOSS_KEYS = ("loss_d", "loss_g", "p")
# Okabe and Ito's colour-blind-safe palette, its orange, sky blue and yellow darkened to 3:1 against white (as the
# Embeddings map's classes, pages/point_map.py says why), the olive that was yellow last. The app's charts and `runs
# show --plot` draw with the same colours.
CLASS_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#C68445", "#2D9CD2", "#000000", "#605700"]
# On the app's dark theme (its page #171614, seen through the chart) the black and the olive vanished (1.1, 2.5:1):
# there Okabe and Ito's own orange, sky blue and yellow, white for the black, 3.5:1 or more (the map's dark colours).
DARK_CLASS_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#FFFFFF", "#F0E442"]
LOSS_COLOURS = {"loss_d": "#0072B2", "loss_g": "#D55E00", "p": "#009E73"}
THRESHOLD_COLOUR = "#7F7F7F"


@dataclass
class Curves:
    """What a run's stats file holds, thinned; `state` says whether there is anything to draw."""

    state: str  # "missing" (no stats file), "empty" (no line that parses) or "ok"
    steps: list[int] = field(default_factory=list)  # the steps of the plain stats lines kept
    loss_d: list[Optional[float]] = field(default_factory=list)  # None where a line lacks the key (an older run)
    loss_g: list[Optional[float]] = field(default_factory=list)
    p: list[Optional[float]] = field(default_factory=list)
    diversity_steps: list[int] = field(default_factory=list)  # the steps of the diversity readings kept
    diversity: dict[int, list[Optional[float]]] = field(default_factory=dict)  # class → ratio per reading kept
    reading: dict = field(default_factory=dict)  # the last diversity reading (runstats.last_diversity's shape)
    latest: dict = field(default_factory=dict)  # the last line that parsed with a step: the latest stats
    threshold: float = DEFAULT_THRESHOLD  # the run's --diversity-threshold (0: never flags)
    lines: int = 0  # lines in the file, a torn last one included
    thinned: bool = False  # whether lines were left out to keep MAX_POINTS per curve

    def flagged(self) -> list[int]:
        """The classes the last reading flagged as collapsed (below the threshold)."""
        return [int(c) for c in self.reading.get("collapsed", [])]


def _number(value) -> Optional[float]:
    """A finite number, else None (a key missing in an older run's line, a NaN loss, a stray string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _parsed(line: bytes) -> Optional[dict]:
    try:
        entry = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):  # a torn last line, bytes that are not text, or
        return None  # arrays nested thousands deep, past the decoder's depth: a traceback on the Generate page
    return entry if isinstance(entry, dict) else None


def run_threshold(run_dir: Path) -> float:
    """The run's --diversity-threshold from its config.json; the default where the file or the key is missing."""
    try:
        value = json.loads((Path(run_dir) / "config.json").read_text()).get("diversity_threshold")
    except (OSError, ValueError, AttributeError, RecursionError):
        return DEFAULT_THRESHOLD
    return DEFAULT_THRESHOLD if _number(value) is None else float(value)


def read_curves(run_dir: Path, max_points: int = MAX_POINTS) -> Curves:
    """The curves of the run in `run_dir` (see the module's docstring)."""
    stats_file = Path(run_dir) / STATS_FILE
    try:
        data = stats_file.read_bytes()
    except OSError:  # gone, or never written (a run that has not logged its first line)
        return Curves("missing", threshold=run_threshold(run_dir))
    lines = [line for line in data.split(b"\n") if line.strip()]
    curves = Curves("empty", threshold=run_threshold(run_dir), lines=len(lines))
    stride = max(1, math.ceil(len(lines) / max(1, max_points)))
    curves.thinned = stride > 1
    readings: list[dict] = []
    last_index = len(lines) - 1
    for i, line in enumerate(lines):
        reading = DIVERSITY_KEY in line
        if not (reading or i % stride == 0 or i >= last_index - 1):  # the last two: the last may be torn
            continue
        entry = _parsed(line)
        if entry is None:
            continue
        step = entry.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            continue
        curves.latest = entry
        if i % stride == 0 or i >= last_index - 1:
            curves.steps.append(step)
            for key in LOSS_KEYS:
                getattr(curves, key).append(_number(entry.get(key)))
        if reading and isinstance(entry.get("diversity"), dict):
            readings.append(entry)
    if curves.latest:
        curves.state = "ok"
    _keep_readings(curves, readings, max_points)
    return curves


def _keep_readings(curves: Curves, readings: list[dict], max_points: int) -> None:
    """The diversity readings, every k-th up to `max_points` and the last always, as a curve per class."""
    if not readings:
        return
    last = readings[-1]
    curves.reading = {"step": last.get("step"), "diversity": last["diversity"],
                      "collapsed": [c for c in last.get("collapsed") or [] if isinstance(c, int)],
                      "vs_other_classes": last.get("vs_other_classes") or []}
    stride = max(1, math.ceil(len(readings) / max(1, max_points)))
    kept = readings[::stride] + ([last] if (len(readings) - 1) % stride else [])
    curves.thinned = curves.thinned or stride > 1
    classes = sorted({int(c) for r in kept for c in r["diversity"] if str(c).isdigit()})
    curves.diversity_steps = [r["step"] for r in kept]
    curves.diversity = {c: [_number(r["diversity"].get(str(c))) for r in kept] for c in classes}


def latest_diversity(curves: Curves) -> dict[int, float]:
    """Each class's ratio in the last reading."""
    return {int(c): v for c, v in curves.reading.get("diversity", {}).items()
            if str(c).isdigit() and _number(v) is not None}


def classes_to_draw(curves: Curves, rare: list[int], most: int = 8) -> list[int]:
    """The classes a diversity chart draws by default, at most `most`: the flagged ones, then the rare ones, then the
    lowest of the rest in the last reading. A chart of 100 classes' lines is unreadable; these are the ones a user
    who trains for rare classes looks for."""
    latest = latest_diversity(curves)
    measured = set(curves.diversity)
    chosen: list[int] = []
    lowest = sorted(measured, key=lambda c: (latest.get(c, math.inf), c))
    for c in [*sorted(set(curves.flagged()), key=lambda c: (latest.get(c, math.inf), c)), *rare, *lowest]:
        if c in measured and c not in chosen:
            chosen.append(c)
    return chosen[:most]
