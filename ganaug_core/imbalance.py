"""The imbalance report: per-class counts per split, the imbalance ratio and the minority classes."""

from __future__ import annotations

import textwrap
import unicodedata
from dataclasses import asdict, dataclass

DEFAULT_MINORITY_FRACTION = 0.2
NAME_COLUMNS = 40  # of the report table's class column
LINE_COLUMNS = 80  # a table row fits a terminal this wide: the class column and the counts shorten the bar
BAR_COLUMNS = 30, 10  # the largest class's bar where there is room, and at the least
NAMED_AT_MOST = 10  # a list of classes in a line of text names this many; a 100-class dataset made a text wall


def minority_classes(counts: list[int], fraction: float = DEFAULT_MINORITY_FRACTION) -> list[int]:
    """The classes with fewer real training images than `fraction` of the largest class's, none at all left out
    (nothing can be learned of them): the rare classes a generator is for, as `data report` names them."""
    largest = max(counts, default=0)
    return [c for c, n in enumerate(counts) if 0 < n < fraction * largest]


def some_names(names: list[str], at_most: int = NAMED_AT_MOST) -> str:
    """'a, b, c' or, past `at_most` names, 'a, b, … and 76 more'."""
    if len(names) <= at_most:
        return ", ".join(names)
    return ", ".join(names[:at_most]) + f" and {len(names) - at_most} more"


def text_columns(text: str) -> int:
    """Terminal columns: a CJK character takes two, a combining accent none."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cut_name(name: str) -> str:
    """A name as the table shows it: past NAME_COLUMNS columns cut with '…' (a 255-character folder name pushed the
    counts off every line's screen)."""
    if text_columns(name) <= NAME_COLUMNS:
        return name
    while text_columns(name) > NAME_COLUMNS - 1:
        name = name[:-1]
    return name + "…"


def _pad(text: str, width: int) -> str:
    return text + " " * (width - text_columns(text))


@dataclass
class ImbalanceReport:
    dataset: str
    class_names: list[str]
    counts: dict[str, dict[str, int]]  # split → class name → count
    imbalance_ratio: float  # largest / smallest training class
    minority_fraction: float
    minority_classes: list[str]  # training count below minority_fraction × the largest class

    def to_dict(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        splits = list(self.counts)
        width = max(text_columns(cut_name(n)) for n in self.class_names + ["class"])
        lines = [f"dataset {self.dataset}", _pad("class", width) + "  " + "  ".join(f"{s:>6}" for s in splits)]
        biggest = max(self.counts.get("train", {}).values() or [1])
        # A 40-column name, two counts and a 30-column bar made the common classes' rows 88 columns long: each
        # wrapped onto a second line of an 80-column terminal. A minority's bar is a fifth of the largest's at most,
        # so its "← minority" still fits beside it.
        room = LINE_COLUMNS - width - 2 - (8 * len(splits) - 2) - 2
        full = max(BAR_COLUMNS[1], min(BAR_COLUMNS[0], room))
        for name in self.class_names:
            row = "  ".join(f"{self.counts[s].get(name, 0):>6}" for s in splits)
            n_train = self.counts.get("train", {}).get(name, 0)
            bar = "█" * max(1 if n_train else 0, round(full * n_train / biggest))
            flag = "  ← minority" if name in self.minority_classes else ""
            lines.append(f"{_pad(cut_name(name), width)}  {row}  {bar}{flag}")
        lines.append(f"imbalance ratio (train, largest/smallest): {self.imbalance_ratio:.1f}")
        minority = self.minority_classes
        named = (f"{len(minority)} of {len(self.class_names)}, marked above" if len(minority) > NAMED_AT_MOST
                 else ", ".join(minority) or "none")
        # Wrapped at LINE_COLUMNS: three long names made this line 163 columns.
        lines += textwrap.wrap(f"minority class{'' if len(minority) == 1 else 'es'} (< {self.minority_fraction:g} × "
                               f"largest): {named}", LINE_COLUMNS, subsequent_indent="  ", break_long_words=False,
                               break_on_hyphens=False)
        return "\n".join(lines)


def imbalance_report(
    dataset: str,
    class_names: list[str],
    counts: dict[str, dict[int, int]],
    minority_fraction: float = DEFAULT_MINORITY_FRACTION,
) -> ImbalanceReport:
    """`counts` maps split → class index → number of images."""
    named = {s: {class_names[c]: n for c, n in sorted(per.items())} for s, per in counts.items()}
    train = [counts.get("train", {}).get(c, 0) for c in range(len(class_names))]
    largest, smallest = max(train), min(train)
    ratio = float("inf") if smallest == 0 else largest / smallest
    minority = [class_names[c] for c, n in enumerate(train) if n < minority_fraction * largest]
    return ImbalanceReport(dataset, list(class_names), named, ratio, minority_fraction, minority)
