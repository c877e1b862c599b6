"""A command typed the way people guess it (`data show`, `runs info`, `batches`) is refused in one line that names
the command they most likely meant."""

from __future__ import annotations

import pytest
import typer

from ganaug.cli import app
from ganaug.cli.common import Commands
from ganaug.cli.guesses import GUESSES
from tests.cli.helpers import assert_bad_input, ganaug


@pytest.mark.parametrize("typed, word, meant", [
    (("data", "show", "digits"), "show", "ganaug data report"),  # it said only "No such command 'show'"
    (("data", "info"), "info", "ganaug data report"),
    (("runs", "info", "3"), "info", "ganaug runs show"),  # `runs show` itself is a command now
    (("runs", "ls"), "ls", "ganaug runs list"),
    (("batches",), "batches", "ganaug review pending"),
    (("review", "list"), "list", "ganaug review pending"),
    (("audit", "export"), "export", "ganaug export"),
    (("jobs", "KILL", "4"), "KILL", "ganaug jobs cancel"),
])
def test_a_guessed_command_is_refused_naming_the_one_meant(typed, word, meant):
    result = ganaug(*typed)
    assert_bad_input(result, f"no such command '{word}': did you mean '{meant}'?")
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_a_typo_still_gets_the_close_match_and_a_word_with_no_obvious_meaning_none():
    assert_bad_input(ganaug("data", "lsit"), "error: no such command 'lsit': did you mean 'list'?")
    result = ganaug("show")
    assert_bad_input(result, "no such command 'show'")
    assert "did you mean" not in result.output.lower()


def _groups(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        if hasattr(sub, "commands"):
            yield from _groups(sub, (*path, name))


def test_every_guess_names_a_command_and_hides_none():
    root = typer.main.get_command(app)
    groups = dict(_groups(root))
    assert all(isinstance(g, Commands) for g in groups.values()), groups  # a new group guesses too
    for group, guesses in GUESSES.items():
        path = tuple(group.split())
        assert path in groups, group
        for word, meant in guesses.items():
            assert word not in groups[path].commands, (group, word)  # a real command is never second-guessed
            *parents, name = meant.split()
            assert name in groups[tuple(parents)].commands, (group, word, meant)
