"""A value from a user or a file (a class folder's name, a dataset's, a reason, a path) on one line, its control
characters as escapes (`one_line`): for the command line's tables and for what the core draws, the training grids'
row labels and `runs show --plot`'s legend. Here, below both, so that a name reads the same in each
(`ganaug.shown_text` builds the command line's tables on it)."""

from __future__ import annotations

import re
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


def utc_time(t: Any) -> str:
    """A stored time for people, to the second: '2026-12-07 04:26:12 UTC', as the app, the review's refusals and the
    export's history say it. `t` an ISO 8601 string (the decision log's `ts`, '…T04:26:12.639153+00:00') or a
    datetime; naive ones are UTC (SQLite gives them back so). Decision lines said the log's whole value, microseconds
    and '+00:00', where `audit log` said '…T04:26:12Z' of the same event: `--json` keeps the whole value."""
    import datetime as dt

    when = dt.datetime.fromisoformat(t) if isinstance(t, str) else t
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")
