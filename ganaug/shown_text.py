"""How a value from a user or a file (a class folder's name, a dataset's, a reason, a path) is shown in text: on one
line, its control characters as escapes (`one_line`), and a dataset's report with its names shown so
(`shown_report`). The command line prints them and the job worker says them in a job's result, so they live here,
below both: the worker need not load the command line to say an ingest's notes."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from typing import Any

# C0 and C1 control characters but line feed and tab: a name (a class folder, a dataset, a reason typed elsewhere)
# holding ESC would otherwise drive the terminal it is printed on (colours, a rewritten line, a window title).
# Also what rearranges or hides text without showing itself: bidi embeddings, overrides and isolates (U+202A–U+202E,
# U+2066–U+2069: a name 'x\u202egpj.exe' read as 'xexe.jpg', and the columns after it moved), zero-width spaces and
# the BOM (U+200B, U+2060, U+FEFF: 'digits' and 'dig\u200bits' read alike). The zero-width joiners (U+200C, U+200D)
# are left as they are: Persian, Indic scripts and emoji are spelled with them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


# What else ends a line, or a table's cell: a class folder named 'a\nb' or a reason typed with a newline started a
# line of its own, which read as another row of the table or another event of the log.
_BREAKS = re.compile(r"[\t\n\u2028\u2029]")


def _escaped(match: re.Match) -> str:
    return repr(match.group())[1:-1]


def printable(text: str) -> str:
    """`text` with its control characters shown as escapes (`\\x1b`), for a terminal that would act on them, and
    its bidi controls and zero-width spaces too (`\\u202e`), which would make it read as other text."""
    return _CONTROL.sub(_escaped, text)


def one_line(text: Any) -> str:
    """A value from a user or a file (a name, a reason, a path) as one cell of a table or one item of a line: its
    control characters, tabs, line breaks, bidi controls and zero-width spaces shown as escapes (`a\\nb`, `\\x1b`,
    `\\u202e`)."""
    return printable(_BREAKS.sub(_escaped, str(text)))


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
    `cut`, a name past 40 columns cut with '…' as `data report` cuts it, for a line that must fit 80 columns."""
    from ganaug_core.imbalance import cut_name

    index = int(index)
    name = names[index] if 0 <= index < len(names) else None
    if name is None or str(name) == str(index):
        return str(index)
    return f"{index} ({cut_name(one_line(name)) if cut else one_line(name)})"
