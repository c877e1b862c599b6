"""A training run's folder read without the engine (no torch), so the app can read it as cheaply as the CLI: its
`stats.jsonl`, and its checkpoints by step."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator, Optional

CHECKPOINT = re.compile(r"checkpoint-(\d+)\.pt")  # in the run folder's checkpoints/, as the trainer names them
STATS_FILE = "stats.jsonl"  # in the run folder: one JSON object per line, appended as the run trains
# A finished run with fewer steps than this is told it likely trained too little (`ganaug train`, `ganaug demo`). The
# demo digits' generator passed (every class recognised) from 864 steps up and failed at 165 (BENCHMARKS.md, "GAN
# quality"): about 1,000 steps are needed there, and a dataset of larger or more varied images needs no fewer.
FEW_STEPS = 500


def checkpoints(run_dir: Path) -> dict[int, Path]:
    """The run's checkpoint files by step (by the step's number, not the name's order: past 7 digits they differ)."""
    folder = Path(run_dir) / "checkpoints"
    found = {}
    for path in folder.iterdir() if folder.is_dir() else ():
        if (step := checkpoint_step(path)) is not None:
            found[step] = path
    return found


def checkpoint_step(path: str | Path) -> Optional[int]:
    """The step a checkpoint file was saved at, from its name as the trainer writes it; None for another name."""
    m = CHECKPOINT.fullmatch(Path(path).name)
    return int(m.group(1)) if m else None


def _entries(run_dir: Path) -> Iterator[dict]:
    """The stats file's lines, oldest first; none when it is missing. A line that does not parse (the one a running
    trainer is still appending) is skipped."""
    stats_file = Path(run_dir) / STATS_FILE
    if not stats_file.is_file():
        return
    for line in stats_file.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except (json.JSONDecodeError, RecursionError):  # RecursionError: arrays nested past the decoder's depth
            continue
        if isinstance(entry, dict):  # a line of a bare number or list has no reading to give
            yield entry


def last_diversity(run_dir: Path) -> dict:
    """The mode-collapse monitor's last reading in a run folder's stats file: {"diversity": {class index (str):
    generated / real ratio}, "collapsed": [flagged class indices], "vs_other_classes": [class indices with one real
    image, measured against the other classes' real spread], "step": the step it was taken at}; {} when there is no
    reading yet."""
    last: dict = {}
    for entry in _entries(run_dir):
        if "diversity" in entry:
            last = {"diversity": entry["diversity"], "collapsed": entry.get("collapsed", []),
                    "vs_other_classes": entry.get("vs_other_classes", []), "step": entry.get("step")}
    return last


def too_young_to_tell(step: Optional[int]) -> bool:
    """Whether a reading taken at `step` comes from a generator too young for a collapse warning: every sample of a
    class is alike early in training, before it has learned the classes; then it is a note, with "train further"."""
    return isinstance(step, int) and step < FEW_STEPS


def stats_said(stats: dict) -> list[str]:
    """A stats line's losses, augmentation p and images/s in words ('loss D 1.930, G 0.670', 'augmentation p 0.04',
    '376 images/s'), those it holds: a training job's line on the Generate page and `ganaug runs show`."""
    parts = []
    if stats.get("loss_d") is not None and stats.get("loss_g") is not None:
        parts.append(f"loss D {stats['loss_d']:.3f}, G {stats['loss_g']:.3f}")
    if stats.get("p") is not None:
        parts.append(f"augmentation p {stats['p']:.2f}")
    if stats.get("images_per_s"):
        parts.append(f"{stats['images_per_s']:,.0f} images/s")
    return parts


def diversity_said(reading: dict, class_index: int) -> str:
    """A class's diversity in `reading` (`last_diversity`) in words: '0.62 of real' (its samples' spread against its
    real images'); for a class of one real image, which has no spread, what it is measured against instead; and
    'not measured' where it was not (no class had two real images)."""
    ratio = reading.get("diversity", {}).get(str(class_index))
    if ratio is None:
        return "not measured: no class has two real images to measure a spread"
    if class_index in reading.get("vs_other_classes", []):
        return f"{ratio:.2f} of the other classes' real spread: its one real image has none"
    return f"{ratio:.2f} of real"


def pace(run_dir: Path) -> Optional[tuple[int, float, bool]]:
    """(steps, seconds they took, whether measured between two lines) from a run's stats lines: its wall-clock pace,
    checkpoints and grids included. Between its first and last line where it has two, so that the start-up (data,
    networks, the first grids) does not count as training; else from 0 to its only line, which for a run of a few
    steps is mostly start-up. A last line that carries the end of training's diversity reading is left out where two
    lines remain without it: the reading and the last grids cost ≈ 12 s once, which a 30-step run at 128² had counted
    as half its pace (0.4 steps/s where it trained 0.83), and where only one line remains without it, the span from 0 to
    that line counts if it holds more steps. None when there is no line past step 0."""
    entries = [e for e in _entries(run_dir)
               if isinstance(e.get("step"), (int, float)) and isinstance(e.get("elapsed_s"), (int, float))]
    if len(entries) >= 3 and "diversity" in entries[-1]:
        entries = entries[:-1]
    lines = [(int(e["step"]), float(e["elapsed_s"])) for e in entries]
    if not lines or lines[-1][0] <= 0 or lines[-1][1] <= 0:
        return None
    (step0, t0), (step1, t1) = lines[0], lines[-1]
    # With two lines and the reading on the last, the span between them can be a step or two and the reading most of
    # its time (a 64² run on a busy machine: lines at 25 and 26, 1 step in 15 s where it trained 0.22 steps/s): the
    # longer of the two spans, from 0 to the first line or between the lines, is the truer pace.
    if len(lines) == 2 and "diversity" in entries[-1] and step0 > max(0, step1 - step0) and t0 > 0:
        return step0, t0, False
    if step1 > step0 and t1 > t0:
        return step1 - step0, t1 - t0, True
    return step1, t1, False
