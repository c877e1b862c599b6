"""How a value from a user or a file (a class folder's name, a dataset's, a reason, a path) is shown in text: on one
line, its control characters as escapes (`one_line`), and a dataset's report with its names shown so
(`shown_report`). The command line prints them and the job worker says them in a job's result, so they live here,
below both: the worker need not load the command line to say an ingest's notes. `one_line` itself is the core's
(`ganaug_core.shown_text`): the figures the core draws show names as the command line does."""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter

from ganaug_core.shown_text import one_line


def distinct_lines(texts: list[str]) -> dict[str, str]:
    """Each of `texts` as `one_line` shows it, but those that would read alike quoted as Python literals: a class
    'a\\nb' (a line break) and a class 'a\\\\nb' (a backslash) both showed as a\\nb, and a table keyed by the shown
    name gave them one row. Ordinary names print as ever."""
    shown = {t: one_line(t) for t in texts}
    seen = Counter(shown.values())
    shown = {t: one_line(repr(t)) if seen[s] > 1 else s for t, s in shown.items()}
    if len(set(shown.values())) < len(shown):  # a name spelled like another's quoted form: quote every unusual one
        shown = {t: t if one_line(t) == t and "\\" not in t and t[:1] not in ("'", '"') else one_line(repr(t))
                 for t in texts}
    return shown


def shown_report(report):
    """The report with its dataset's and classes' names as one line each (`one_line`), for its text: a class folder
    named 'a\\nb' split its row of the table in two, and one holding ESC drove the terminal. Two names that would read
    alike ('a\\nb' and 'a\\\\nb') are quoted (`distinct_lines`): keyed by the shown name, they shared a row."""
    name = distinct_lines(report.class_names)
    return dataclasses.replace(
        report, dataset=one_line(report.dataset), class_names=[name[c] for c in report.class_names],
        counts={split: {name[c]: n for c, n in per.items()} for split, per in report.counts.items()},
        minority_classes=[name[c] for c in report.minority_classes])


def class_label(index: int, names, cut: bool = False) -> str:
    """A class for people: its index, and its name where the name says more ('3 (melanoma)'; digits stay '3'); with
    `cut`, a name past 40 columns cut with '…' as `data report` cuts it, for a line that must fit 80 columns. The name
    is shown as `data report` shows it among `names` (`distinct_lines`): the export's table showed classes 'a\\nb'
    and 'a\\\\nb' both as a\\nb."""
    from ganaug_core.imbalance import cut_name

    index = int(index)
    name = names[index] if 0 <= index < len(names) else None
    if name is None or str(name) == str(index):
        return str(index)
    shown = _distinct_names(tuple(str(n) for n in names))[index]
    return f"{index} ({cut_name(shown) if cut else shown})"


@functools.lru_cache(maxsize=8)
def _distinct_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """`distinct_lines` of a dataset's class names, in their order: a table labels each of its rows with them."""
    shown = distinct_lines(list(names))
    return tuple(shown[n] for n in names)
