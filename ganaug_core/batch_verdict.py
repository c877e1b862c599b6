"""A batch's verdict in plain words: what matters in its scores, worst first, each finding with the number it rests
on and what to do. `ganaug evaluate batch` printed class confidence 0.069 and class consistency 0.000 among a
dozen other numbers, and a factory engineer could not tell that the classifier recognised none of the 64 "crack"
samples: the generator had not learned the class yet.

Every threshold is one the product already uses, named where it is defined:
- recognised: BENCHMARKS.md's GAN-quality mark, a generator passes where the classifier recognises ≥ 90 % of every
  class; below half, most samples are not the class, and reviewing them one by one costs more than training on.
- memorized: any. Approval refuses a batch with unrejected memorized samples (db/gate.py), and the benchmark's
  gan_filtered arm drops them.
- diversity: the run's own mode-collapse monitor (ganaug_core/training/diversity.py) and its threshold; a reading
  from a run too young to tell (`runstats.too_young_to_tell`) says "train further", as the Review page says it.
- realism: 1, the score's own yardstick (ganaug_core/scoring.py): at 1 or more a sample lies among the real images
  of its class; the Review page says each sample's realism in words by it (pages/review_sample.py).

The Review page shows the same findings above a scored batch's grid (pages/review_verdict.py): `in_app` names the
page's way to act (its sort, its "Reject the K memorized sample(s)…" button, the Generate page's "Start from run")
where the CLI's words name a command.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

from ganaug_core.runstats import diversity_said, too_young_to_tell

RECOGNISED_SHARE = 0.9  # BENCHMARKS.md, "GAN quality": ≥ 90 % of every class recognised
MOSTLY_NOT = 0.5  # fewer than half recognised: the batch as a whole does not show the class yet
AMONG_REAL = 1.0  # realism at or above it: among the real images of the class (the score's definition)


@dataclass
class Finding:
    finding: str  # not_recognised, memorized, little_diversity, far_from_real, or fine
    value: Optional[float]  # the number it rests on
    said: str  # the finding, its number in words
    todo: str  # what to do about it

    def to_dict(self) -> dict:
        return asdict(self)


def batch_verdict(batch: int, run: Optional[int], label: str, samples: int, memorized: int,
                  consistency: Optional[float], mean_realism: Optional[float],
                  reading: Optional[dict] = None, class_index: Optional[int] = None,
                  threshold: Optional[float] = None, two_classes: bool = False, in_app: bool = False,
                  rejected_memorized: int = 0) -> list[Finding]:
    """The findings that matter, worst first; one `fine` finding where none does. `label`: the class as shown
    ("9", "0 (crack)"); `consistency`: the share the classifier calls that class; `reading`: the run's last
    mode-collapse reading (`runstats.last_diversity`) with the run's `threshold`; `two_classes`: the classifier
    picks one of two, and calls noise the class as readily (`ganaug.cli.evaluate.two_class_note`); `in_app`: what
    to do in the review app's words; `memorized` there counts the samples not rejected yet, `rejected_memorized`
    the others (the app's reviewer may have rejected some: "none memorized" would not be true of them)."""
    if in_app:
        train = f"“Start from run” {run} on the Generate page" if run is not None else "“Start from run” on Generate"
    else:
        train = f"`ganaug train --resume {run} --minutes M`" if run is not None else "`ganaug train --resume RUN`"
    found = []
    if consistency is not None and consistency < RECOGNISED_SHARE:
        found.append(_recognition(batch, label, samples, consistency, train, in_app))
    if memorized:
        reject = (f"“Reject the {memorized} memorized sample(s)…” below the grid" if in_app
                  else f"`ganaug review reject-memorized {batch}`")
        found.append(Finding("memorized", memorized, f"{memorized} of {_samples(samples)} cop"
                             f"{'ies' if memorized == 1 else 'y'} a training image (flagged as memorized)",
                             f"approval refuses the batch until they are rejected ({reject})"))
    if reading and class_index in reading.get("collapsed", []):
        found.append(_collapse(run, label, reading, class_index, threshold, train))
    if mean_realism is not None and mean_realism < AMONG_REAL:
        found.append(Finding("far_from_real", mean_realism, f"far from the real images (mean realism "
                             f"{mean_realism:.3f}, below {AMONG_REAL:g}, is outside the real images of class {label})",
                             f"train longer ({train}) before reviewing"))
    return found or [_fine(batch, label, samples, consistency, mean_realism, reading, class_index, two_classes,
                           in_app, rejected_memorized)]


def _recognition(batch: int, label: str, samples: int, consistency: float, train: str, in_app: bool) -> Finding:
    n = round(consistency * samples)
    if n == 0:  # `generate --n 1` makes a batch of one
        said = (f"the classifier does not recognise this 1 sample as class {label}" if samples == 1
                else f"the classifier recognises none of these {samples} samples as class {label}")
    else:
        said = f"the classifier recognises only {n} of {_samples(samples)} as class {label}"
    said += f" (class consistency {consistency:.3f})"
    if consistency < MOSTLY_NOT:
        todo = f"they do not look like the class yet; train longer ({train}) before reviewing"
    else:
        doubted = ("“Sort by” class confidence" if in_app
                   else f"`ganaug review samples {batch} --sort class_confidence`")
        todo = (f"a good generator reaches {RECOGNISED_SHARE:g}; look at the doubted ones first ({doubted}) and reject "
                f"those that are not class {label}")
    return Finding("not_recognised", consistency, said, todo)


def _collapse(run: Optional[int], label: str, reading: dict, class_index: int, threshold: Optional[float],
              train: str) -> Finding:
    ratio = reading.get("diversity", {}).get(str(class_index))
    said = diversity_said(reading, class_index)
    if threshold and ratio is not None:  # "0.50 of real, below 0.5" read as a contradiction: 0.4996 is just below
        said += f", {'just ' * (f'{ratio:.2f}' == f'{threshold:.2f}')}below the monitor's {threshold:g}"
    if too_young_to_tell(reading.get("step")):  # every class of a generator this young looks alike
        return Finding("little_diversity", ratio, f"little diversity: run {run} trained only {reading['step']} steps, "
                       f"and its samples of class {label} still vary little ({said}), as every class does that early",
                       f"train longer ({train})")
    return Finding("little_diversity", ratio, f"little diversity: run {run}'s monitor flagged class {label}, whose "
                   f"samples' spread is {said} (possible mode collapse)", "look for repeats among the samples and, "
                   f"where they repeat, train the run further ({train})")


def _fine(batch: int, label: str, samples: int, consistency: Optional[float], mean_realism: Optional[float],
          reading: Optional[dict], class_index: Optional[int], two_classes: bool, in_app: bool = False,
          rejected_memorized: int = 0) -> Finding:
    parts = []
    if consistency is not None:
        parts.append(f"{round(consistency * samples)} of {samples} recognised as class {label} ({consistency:.3f})")
    parts.append(f"{rejected_memorized} memorized, all rejected" if rejected_memorized else "none memorized")
    if mean_realism is not None:
        parts.append(f"mean realism {mean_realism:.3f} (among the real images)")
    if reading and str(class_index) in reading.get("diversity", {}):
        parts.append(f"diversity {diversity_said(reading, class_index)}")
    said = f"nothing stands out ({', '.join(parts)})"
    if two_classes:  # recognised by a classifier of two classes says little: noise was called the rare class too
        said += ", but with 2 classes being recognised says little of how they look"
    return Finding("fine", consistency, said, "look at the samples below before approving" if in_app
                   else f"look at the samples before approving (`ganaug review samples {batch}`)")


def _samples(n: int) -> str:
    return f"{n} sample{'s' * (n != 1)}"
