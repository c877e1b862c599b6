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
# `ganaug_core.errors.FREE_SPACE` for a job's reader, on the app's pages, where no command runs: a reviewer was told
# `ganaug runs prune` and `ganaug train --resume`. The Generate page's “Start from run” list gives each run's size.
FREE_SPACE_IN_APP = "free space on that disk (“Start from run” on the Generate page gives each run's size on disk)"


class UserError(GanaugError):
    """Raised by orchestration code for bad input discovered outside ganaug_core (unknown batch, wrong role...)."""


class RunFailedOnFullDisk(UserError):
    """A run that failed on a full disk: its message says it as the command line does (what to free, the command
    that goes on); `in_app` says it for a job's reader on the app's pages (`ganaug.job_messages`)."""

    def __init__(self, message: str, in_app: str):
        super().__init__(message)
        self.in_app = in_app


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM that stopped a run where the training loop no longer defers it (its final save): the run is
    kept, cancelled, and the message says from which checkpoint it goes on. `run_id` and `step` (the step whose
    checkpoint was not written) let the demo say it in its own words."""

    def __init__(self, message: str, run_id: int, step: int):
        super().__init__(message)
        self.run_id, self.step = run_id, step


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
