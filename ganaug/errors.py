"""The orchestration layer's bad-input error, below the CLI that prints it, and how a full disk is said.

`ganaug.runs`, `ganaug.batches`, `ganaug.disk` and `ganaug.reproduce` raise it; the worker and the pages import them
too, so it lives here rather than in `ganaug.cli.common` (importing that module assembled the whole command line
first).
"""

from __future__ import annotations

import errno

from ganaug_core.errors import GanaugError
from ganaug_core.paths import home_path

# A full disk, a quota used up, a file past `ulimit -f`: each is space to free, and each named no place to free it.
FULL_DISK = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
FREE_SPACE = "free space (`ganaug runs du`, `ganaug runs prune --all`)"


class UserError(GanaugError):
    """Raised by orchestration code for bad input discovered outside ganaug_core (unknown batch, wrong role...)."""


def full_disk(e: BaseException) -> bool:
    return isinstance(e, OSError) and e.errno in FULL_DISK


def full_disk_where(e: OSError) -> str:
    """'No space left on device: FILE', or where none is named (a PNG or .npz written through a file object fails
    with no file name) '... (writing in GANAUG_HOME HOME)'."""
    said = e.strerror or str(e) or type(e).__name__
    return f"{said}: {e.filename}" if e.filename else f"{said} (writing in GANAUG_HOME {home_path()})"


def full_disk_said(e: OSError) -> str:
    """`full_disk_where`, saying first that the disk is full: a failed run's error, read later by the team, and
    the page's, read by whoever launched the job."""
    if e.errno != errno.ENOSPC:
        return full_disk_where(e)
    where = f": {e.filename}" if e.filename else f", writing in GANAUG_HOME {home_path()}"
    return f"the disk is full ({e.strerror or 'No space left on device'}{where})"
