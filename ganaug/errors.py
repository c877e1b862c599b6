"""The orchestration layer's bad-input error, below the CLI that prints it.

`ganaug.runs`, `ganaug.batches`, `ganaug.disk` and `ganaug.reproduce` raise it; the worker and the pages import them
too, so it lives here rather than in `ganaug.cli.common` (importing that module assembled the whole command line
first).
"""

from __future__ import annotations

from ganaug_core.errors import GanaugError


class UserError(GanaugError):
    """Raised by orchestration code for bad input discovered outside ganaug_core (unknown batch, wrong role...)."""
