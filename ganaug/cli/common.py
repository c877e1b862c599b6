"""What every subcommand shares: one-line errors with exit status 2, JSON output, progress bars (how a command ends:
`ganaug.cli.exits`)."""

from __future__ import annotations

import functools
import json
import math
import os
import re
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

import typer
from typer.core import TyperGroup

from ganaug.cli.exits import EXIT_BAD_INPUT, interrupted_exit, output_closed, reader_gone
from ganaug.errors import UserError
from ganaug_core.errors import GanaugError
# Below the command line: the job worker and the core's figures say names as the commands print them.
from ganaug_core.shown_text import printable

MAX_ID = 2**63 - 1  # the largest integer SQLite and PostgreSQL's BIGINT store

# `--json`, a plain flag. An empty metavar: typer's help would otherwise show it as taking a `<bool>`.
JSON = typer.Option(False, "--json", metavar="", help="Print one JSON object")


def _user_errors() -> tuple[type[BaseException], ...]:
    from db.datasets import UnknownDataset

    errors: list[type[BaseException]] = [GanaugError, UnknownDataset]
    try:
        from db.errors import DecisionError  # the review workflow's own bad-input errors

        errors.append(DecisionError)
    except ImportError:
        pass
    return tuple(errors)


def _database_value_errors() -> tuple[type[BaseException], ...]:
    from sqlalchemy.exc import DataError

    return (DataError,)


def _database_busy(e: BaseException) -> bool:
    """SQLite's "database is locked": another process held the write lock past the busy timeout (db.engine)."""
    from sqlalchemy.exc import OperationalError

    return isinstance(e, OperationalError) and "database is locked" in str(e.orig)


USER = typer.Option(None, "--user", help="Who decides (default: $GANAUG_USER); password from $GANAUG_PASSWORD or a prompt")


def login(user: Optional[str], password_env: str = "GANAUG_PASSWORD"):
    from db.engine import session_scope
    from db.users import authenticate

    name = user or os.environ.get("GANAUG_USER")
    if not name:
        raise UserError("who is deciding? pass --user NAME or set GANAUG_USER")
    password = os.environ.get(password_env) or None  # set but empty (`GANAUG_PASSWORD= cmd`): as if unset
    if password is None:
        password = read_password(f"password for {name}",
                                 f"no password for {name!r}: set {password_env}, pipe it on stdin, {AT_A_PROMPT}")
    with session_scope() as session:
        return authenticate(session, name, password)


def check_limit(limit: int) -> None:
    """A listing's --limit: bad input below 1."""
    if limit < 1:
        raise UserError(f"--limit must be at least 1, got {limit}")


def left_out(shown: int, total: int, noun: str, narrower: str = "") -> str:
    """The last line of a listing cut at its limit: how many it shows of how many, and how to see the others (a
    year's home holds thousands of events and jobs, and a listing that stops at 50 must say so). Wrapped at 80
    columns: `audit log`'s was 102."""
    from ganaug.cli.line_width import wrapped

    return wrapped(f"{shown} of {total:,} {noun} shown: --limit {total} shows them all{narrower}")


def echo(text: str, err: bool = False) -> None:
    """typer.echo for text meant for people: control characters are shown as escapes (`\\x1b`), not sent raw."""
    typer.echo(printable(text), err=err)


def fail(message: str) -> None:
    echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def lower_first(text: str) -> str:
    """`text` with its first word lower-case, as every line of ours begins ('error: --limit must be at least 1'), where
    another's words begin with a capital: click's 'Missing option', the system's 'Permission denied'. A word in
    capitals ('OSError', 'CUDA') stays as it is."""
    return text[:1].lower() + text[1:] if text[:1].isupper() and text[1:2].islower() else text


def _oserror_said(e: OSError) -> str:
    """An OSError in one line; a full disk, quota or `ulimit -f` with where it stopped the command and what to free
    ('No space left on device' alone named no place to free)."""
    from ganaug.errors import full_disk, full_disk_where
    from ganaug_core.errors import FREE_SPACE

    if full_disk(e):
        return f"{full_disk_where(e)}; what the command was writing was removed: {FREE_SPACE} and run it again"
    return lower_first(e.strerror or str(e) or type(e).__name__) + (f": {e.filename}" if e.filename else "")


def cli_errors(fn: Callable) -> Callable:
    """Turn user errors into `error: <one line>` on stderr and exit 2 — never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _user_errors() as e:
            message = str(e.args[0]) if e.args else str(e)
            fail(message.splitlines()[0] if message else type(e).__name__)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM (`terminate_as_interrupt`); the cleanup ran on the way here
            raise interrupted_exit() from None
        except OSError as e:  # a folder that cannot be written, a full disk, a GANAUG_HOME that is not a folder
            if isinstance(e, BrokenPipeError) and output_closed():
                raise reader_gone() from None
            fail(_oserror_said(e))
        except OverflowError:  # an id or seed past what SQLite stores: its driver's OverflowError comes unwrapped
            fail(f"a number given is out of range: the database stores integers up to {MAX_ID:,}")
        except _database_value_errors() as e:  # the same on PostgreSQL: the driver's error, wrapped by SQLAlchemy
            fail(f"a value given is out of range for the database: {str(e.orig).splitlines()[0]}")
        except Exception as e:
            from db.engine import SQLITE_BUSY_TIMEOUT_MS, database_failure

            if _database_busy(e):
                fail(f"the database is locked: another process kept it locked for over "
                     f"{SQLITE_BUSY_TIMEOUT_MS / 1000:g} s (a long write, or a tool holding it open); try again")
            message = database_failure(e)  # a server gone mid-command, a role without rights on a table
            if message is None:
                raise
            fail(message)

    return wrapper


# Newer typers run on their own copy of click (typer._click), older ones on click itself: take the exceptions from
# the module of the public typer.BadParameter, whichever it is.
_click_exceptions = sys.modules[typer.BadParameter.__module__]
_UsageError: type[Exception] = _click_exceptions.UsageError
_NoArgsIsHelpError: type[Exception] = getattr(_click_exceptions, "NoArgsIsHelpError", type("_Never", (Exception,), {}))


@contextmanager
def _usage_errors_on_one_line() -> Iterator[None]:
    try:
        yield
    except _NoArgsIsHelpError:
        raise  # `ganaug` or `ganaug users` alone: the help, as before
    except BrokenPipeError:
        if not output_closed():
            raise
        raise reader_gone() from None
    except SystemExit as e:  # `ganaug --help | head -1`: rich's console meets the broken pipe and exits 1 itself
        if not isinstance(e.__context__, BrokenPipeError):
            raise
        raise reader_gone() from None
    except _UsageError as e:
        # In our words: "Missing option '--class'." and "No such command 'lsit'. Did you mean 'list'?" began with a
        # capital and ended with a full stop, beside every other line's "error: --limit must be at least 1, got 0";
        # so did what follows a colon ("Invalid value for 'batch': Input should be …", "(Possible options: …").
        message = " ".join(e.format_message().split()).replace(". Did you mean", ": did you mean")
        message = re.sub(r"(?<=: )[A-Z](?=[a-z])|(?<=\()Possible options", lambda m: m[0][0].lower() + m[0][1:],
                         lower_first(message)).removesuffix(".")
        hint = f" (try '{e.ctx.command_path} --help')" if e.ctx is not None else ""
        echo(f"error: {message}{hint}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


class Commands(TyperGroup):
    """A group of commands whose "No such command" says what a user most likely meant where that is obvious: a word
    people type for one of its commands (`data show`: `ganaug data report`, `ganaug.cli.guesses`), else typer's
    close matches (`data lsit`: 'list'). Every group of `ganaug` is one (`typer.Typer(cls=Commands)`)."""

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except _UsageError as e:
            guess = _guess(ctx, args[0]) if args else None
            if guess is not None:
                e.message = f"No such command {args[0]!r}. Did you mean '{guess}'?"
            raise


def _guess(ctx: typer.Context, word: str) -> Optional[str]:
    """'ganaug data report' for `word` 'show' typed in the group `ctx` runs (`ganaug data`)."""
    from ganaug.cli.guesses import guessed_command

    groups = []
    while ctx.parent is not None:
        groups.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    guess = guessed_command(" ".join(groups), word)
    return None if guess is None else f"{ctx.info_name or 'ganaug'} {guess}"


class OneLineUsageErrors(Commands):
    """The root command: a usage error (unknown option, missing option, bad value) is one line on stderr and exit
    status 2, like every other bad input, instead of click's boxed usage, hint and error. Arguments are parsed in
    `make_context` (the root's own) and `invoke` (every subcommand's), so both are covered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_help_flags(self)

    def make_context(self, info_name: Optional[str], args: list[str], *rest: Any, **kwargs: Any) -> typer.Context:
        _arguments_are_text(args)
        with _usage_errors_on_one_line():
            return super().make_context(info_name, args, *rest, **kwargs)

    def invoke(self, ctx: typer.Context) -> Any:
        from ganaug_core import paths

        paths.tell_open_home_to(_note_open_home)  # once in this command, where it uses a home others may read
        try:
            with _usage_errors_on_one_line():
                return super().invoke(ctx)
        finally:
            paths.tell_open_home_to(None)


def _note_open_home(note: str) -> None:
    from ganaug.cli.line_width import wrapped_note
    from ganaug_core.paths import home_path

    echo(wrapped_note(note, whole=(str(home_path()),)), err=True)


def _arguments_are_text(args: list[str]) -> None:
    """Bytes that are not UTF-8 on the command line (a file name from another system, `$'\\xff'`) reach Python as
    lone surrogates; the first name, query or message that encodes one failed with a UnicodeEncodeError traceback."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            fail(f"the argument {ascii(arg)} is not valid UTF-8 text (a name from another system's encoding?)")


def _plain_help_flags(command: Any) -> None:
    """Show `--help` as the plain flag it is, like every flag here (`metavar=""`): typer labels it `<bool>`. Each
    command builds its help option once and keeps it, so the label set here is the one help shows."""
    option = command.get_help_option(typer.Context(command))
    if option is not None:
        option.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _plain_help_flags(sub)


# How `read_password`'s refusals end: true where no terminal runs the command, and where one does and Ctrl-D left its
# prompt ("or run in a terminal" told a user at a terminal to run in one).
AT_A_PROMPT = "or type it at the prompt of a terminal"


def read_password(prompt: str, missing: str, confirm: bool = False) -> str:
    """A password typed at the terminal (hidden; Ctrl-C or Ctrl-D aborts), else the first line of stdin: a pipe or
    a file, read without a prompt, a confirmation or getpass's warning. An empty stdin is bad input, and `missing`
    says what to pass instead."""
    stdin = sys.stdin
    if stdin is not None and stdin.isatty():
        try:
            # Its second prompt in our words: click's own is 'Repeat for confirmation'.
            return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm and f"repeat the {prompt}",
                                err=True)
        except typer.Abort as e:
            # Ctrl-C or Ctrl-D at the prompt: click said 'Aborted!' with exit status 1, which reads as a failed check.
            # Ctrl-C is an interrupt (130); Ctrl-D, like an empty stdin, gives no password (bad input).
            if isinstance(e.__context__, KeyboardInterrupt):
                raise KeyboardInterrupt from None
            raise UserError(missing) from None
    line = stdin.readline() if stdin is not None else ""
    if not line:
        raise UserError(missing)
    return line.rstrip("\r\n")


def dataset_class_names(dataset: str) -> list[str]:
    """The class names of a recorded dataset, for `class_label`."""
    from db.datasets import get_dataset
    from db.engine import session_scope

    with session_scope() as s:
        return list(get_dataset(s, dataset).class_names)


def finite(obj: Any) -> Any:
    """`obj` with every NaN or infinite float as None: json.dumps wrote them as NaN and Infinity, which no JSON reader
    (jq, JSON.parse) takes, so one diverged loss in `runs show --json` made the whole object unreadable."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def emit(obj: Any, as_json: bool, text: str = "") -> None:
    """Print `obj` as one JSON object (with --json) or `text` for people."""
    if as_json:
        sys.stdout.write(json.dumps(finite(obj), indent=2, default=str, allow_nan=False) + "\n")
    elif text:
        echo(text)
