"""Plain output that fits an 80-column terminal, as `data report` fits it (`ganaug_core.imbalance`): a long name cut
with '…', prose wrapped at word boundaries under an indent.

The width is fixed, not the terminal's: plain output is the same bytes in a terminal of any width, in a pipe and in
a log file, so a line a script greps for does not depend on where the command ran, and a test needs no terminal.
`--json` keeps every name whole for scripts that need them. typer's `--help` alone follows the terminal's width
(rich reads COLUMNS): it is read in a terminal, never parsed.
"""

from __future__ import annotations

import re
import textwrap

from ganaug_core.imbalance import LINE_COLUMNS, text_columns


def cut(text: str, at_most: int) -> str:
    """`text` in at most `at_most` terminal columns: longer, its end is cut and '…' says so."""
    if text_columns(text) <= at_most:
        return text
    while text and text_columns(text) > at_most - 1:
        text = text[:-1]
    return text + "…"


def pad(text: str, width: int) -> str:
    """`text` cut to `width` columns and padded to it: a table cell that keeps its row's columns in line."""
    text = cut(text, width)
    return text + " " * (width - text_columns(text))


def wrapped(text: str, indent: str = "  ", first: str = "", whole: tuple[str, ...] = ()) -> str:
    """A paragraph in lines of at most LINE_COLUMNS characters, broken between words, each line after the first under
    `indent` (the first under `first`). A word longer than a line (a path, a hash) is kept whole on a line of its own:
    cut, it could not be copied. `whole`: parts of `text` never broken at their spaces (a path under a home such as
    '/home/ana/My Data' was split over two lines, and copied half)."""
    glue = "\0"  # in no path, and not a space to textwrap
    for part in whole:
        text = text.replace(part, part.replace(" ", glue))
    return "\n".join(textwrap.wrap(text, LINE_COLUMNS, initial_indent=first, subsequent_indent=indent,
                                   break_long_words=False, break_on_hyphens=False)).replace(glue, " ") \
        or first.rstrip()


def wrapped_items(items: list[str], indent: str = "  ", first: str = "", sep: str = ", ") -> str:
    """`items` joined by `sep` and wrapped as `wrapped` wraps, but only between items: a size ('8.0 kB') or a name
    with a space in it is never broken across two lines."""
    return wrapped(sep.join(items), indent, first, whole=tuple(items))


def wrapped_note(text: str, whole: tuple[str, ...] = ()) -> str:
    """`text` wrapped as `wrapped` wraps it, each `command` and "title" in it whole, and each of `whole` (a path): a
    command broken over two lines could not be copied, a README section's title not searched for."""
    return wrapped(text, whole=whole + tuple(re.findall(r'`[^`]*`|"[^"]*"', text)))
