"""The `ganaug` command. Each group of subcommands lives in its own module; this file only assembles them.

Every command reports bad input as one line on stderr with exit status 2 (see `cli_errors`), and `--json`
prints exactly one JSON object on stdout.
"""

from __future__ import annotations

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
    from ganaug.cli import data

    app.add_typer(data.app, name="data", help="Ingest datasets and report their imbalance.")
    for module in ("gan", "review", "accounts", "audit", "evaluate", "serve"):
        try:
            mod = __import__(f"ganaug.cli.{module}", fromlist=["register"])
        except ModuleNotFoundError as e:
            if e.name != f"ganaug.cli.{module}":
                raise
            continue
        mod.register(app)


_register()


def main() -> None:
    app()
