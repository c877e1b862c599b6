"""What every subcommand shares: one-line errors with exit status 2, JSON output, progress bars."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

import typer

from ganaug_core.errors import GanaugError

EXIT_BAD_INPUT = 2


class UserError(GanaugError):
    """Raised by orchestration code for bad input discovered outside ganaug_core (unknown batch, wrong role...)."""


def _user_errors() -> tuple[type[BaseException], ...]:
    from db.datasets import UnknownDataset

    errors: list[type[BaseException]] = [GanaugError, UnknownDataset]
    try:
        from db.errors import DecisionError  # the review workflow's own bad-input errors

        errors.append(DecisionError)
    except ImportError:
        pass
    return tuple(errors)


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def cli_errors(fn: Callable) -> Callable:
    """Turn user errors into `error: <one line>` on stderr and exit 2 — never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _user_errors() as e:
            message = str(e.args[0]) if e.args else str(e)
            fail(message.splitlines()[0] if message else type(e).__name__)

    return wrapper


def emit(obj: Any, as_json: bool, text: str = "") -> None:
    """Print `obj` as one JSON object (with --json) or `text` for people."""
    if as_json:
        sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    elif text:
        typer.echo(text)
