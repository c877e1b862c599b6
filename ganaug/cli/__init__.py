"""The `ganaug` command. Each group of subcommands lives in its own module; this file only assembles them.

Every command reports bad input as one line on stderr with exit status 2 (see `cli_errors`), and `--json`
prints exactly one JSON object on stdout; the exit statuses are listed in `ganaug.cli.exits`.
"""

from __future__ import annotations

import inspect

import typer

from ganaug.cli.common import OneLineUsageErrors

app = typer.Typer(
    name="ganaug",
    cls=OneLineUsageErrors,
    help="Class-conditional GAN augmentation for rare classes, with expert review and a tamper-evident gate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from ganaug.cli import data, data_seal

    data_seal.register(data.app)
    app.add_typer(data.app, name="data", help="Ingest datasets, report their imbalance, remove one or seal its real "
                                             "images in the log.")
    for module in ("gan", "review", "accounts", "audit", "evaluate", "serve"):
        try:
            mod = __import__(f"ganaug.cli.{module}", fromlist=["register"])
        except ModuleNotFoundError as e:
            if e.name != f"ganaug.cli.{module}":
                raise
            continue
        mod.register(app)


def _one_line_summaries(group: typer.Typer) -> None:
    """Give every command its docstring's first paragraph as one line for its group's list: typer's rich help kept
    the docstring's line breaks there ("... exit 1 and name the" / "first broken event, ..."), though a command's
    own --help joins them."""
    for info in group.registered_commands:
        doc = info.help or (info.callback.__doc__ if info.callback else None)
        if info.short_help is None and doc:
            info.short_help = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    for sub in group.registered_groups:
        _one_line_summaries(sub.typer_instance)


_register()
_one_line_summaries(app)


def main() -> None:
    """The `ganaug` executable. An unexpected error (a bug) prints its traceback and exits EXIT_CRASH, not Python's
    1, which `audit verify` and `audit folder` answer when they find a problem: a script tells the two apart."""
    import sys
    import traceback

    from ganaug.cli.exits import EXIT_CRASH

    try:
        app()
    except Exception:  # what cli_errors did not turn into one line: SystemExit (every planned end) is no Exception
        traceback.print_exc()
        sys.exit(EXIT_CRASH)
