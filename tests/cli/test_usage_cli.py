"""What every command shares: usage errors on one line, and help that says what each command and option does."""

from __future__ import annotations

import pytest

from tests.cli.helpers import ganaug


def _help(*args) -> str:
    """The help text with rich's boxes and line wrapping taken out."""
    result = ganaug(*args, "--help")
    assert result.exit_code == 0, result.output
    return " ".join(result.output.replace("│", " ").split())


@pytest.mark.parametrize("args, line", [
    # In our words, as every other error line (they began with a capital and ended with a full stop)
    (("evaluate", "batch", "-1"), "error: no such option: -1 (try 'ganaug evaluate batch --help')"),
    (("generate", "--run", "1", "--n", "3"), "error: missing option '--class' (try 'ganaug generate --help')"),
    (("data", "ingest"), "error: missing argument 'source' (try 'ganaug data ingest --help')"),
    (("nope",), "error: no such command 'nope' (try 'ganaug --help')"),
    (("train", "--stpes", "3"), "error: no such option: --stpes (possible options: --minutes, --seed, --steps) (try "
                                "'ganaug train --help')"),
    (("review", "approve", "x"), "error: invalid value for 'batch': input should be a valid integer, unable to parse "
                                 "string as an integer (try 'ganaug review approve --help')"),
])
def test_usage_errors_are_one_line_on_stderr_and_exit_2(home, args, line):
    result = ganaug(*args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [line] and result.stdout == ""


@pytest.mark.parametrize("args", [("data", "report", "ab\udcff"), ("train", "--dataset", "\udcff", "--steps", "2")])
def test_an_argument_that_is_not_utf8_is_one_line_not_a_traceback(home, args):
    # $'ab\xff' in a shell: Python holds the byte as a lone surrogate, and the first query or message that encoded
    # it raised UnicodeEncodeError (exit 1, a traceback).
    result = ganaug(*args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    bad = next(a for a in args if "\udcff" in a)
    assert result.stderr.splitlines() == [f"error: the argument {ascii(bad)} is not valid UTF-8 text (a name from "
                                          "another system's encoding?)"]


def test_every_command_says_what_it_does_and_json_is_a_plain_flag(home):
    assert "Class-conditional GAN augmentation" in _help()
    no_arguments = ganaug("users")  # the help, as before the one-line usage errors
    assert no_arguments.exit_code == 2 and "Reviewer and admin accounts." in no_arguments.output
    users, jobs = _help("users"), _help("jobs")
    assert "list Every account with its role" in users
    assert "list The newest 100 jobs" in jobs and "cancel Cancel a queued job" in jobs
    for args in [("users", "list"), ("data", "ingest"), ("evaluate", "batch"), ("export",)]:
        assert "--json Print one JSON object" in _help(*args), args
    ingest = _help("data", "ingest")
    assert "(default: 1/3 for demo:digits, else 0.2;" in ingest and "[default: 0.2]" not in ingest


def _command_paths(command, path=()):
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, path + (name,))
    yield path


def test_no_flag_is_labelled_as_taking_a_value(home):
    """A flag shown as `--all <bool>` reads as an option that wants `true` or `false` after it."""
    import typer.main

    from ganaug.cli import app

    labelled = [path for path in _command_paths(typer.main.get_command(app)) if "<bool>" in _help(*path)]
    assert labelled == []


def test_a_database_that_cannot_be_opened_is_one_line_naming_it(home, monkeypatch):
    from db.engine import dispose_engines
    from tests.cli.helpers import assert_bad_input

    cases = [("foo", ["cannot use the database URL 'foo'"]),
             ("mysql://someone@localhost/db", ["cannot use the database URL mysql://someone@localhost/db"]),
             ("postgresql+psycopg://ganaug:s3cret@127.0.0.1:1/ganaug", ["cannot open the database", "ganaug:***@"])]
    for url, needles in cases:
        monkeypatch.setenv("GANAUG_DB_URL", url)
        result = ganaug("users", "list")
        assert_bad_input(result, *needles)
        assert "s3cret" not in result.output  # a password in the URL is never printed
    monkeypatch.delenv("GANAUG_DB_URL")
    dispose_engines()
    (home / "ganaug.db").write_bytes(b"not a database at all" * 100)
    assert_bad_input(ganaug("users", "list"), "cannot open the database sqlite:", "file is not a database")


def _groups():
    import typer.main

    from ganaug.cli import app

    return [path for path in _command_paths(typer.main.get_command(app)) if path and _is_group(path)]


def _is_group(path) -> bool:
    import typer.main

    from ganaug.cli import app

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return hasattr(command, "commands")


def test_a_groups_list_gives_each_command_one_unbroken_description(home, monkeypatch):
    # A docstring's line breaks were kept in the list: "... exit 1 and name the" / "first broken event, ...",
    # broken mid-sentence at any terminal width.
    monkeypatch.setenv("COLUMNS", "400")  # wide enough that no description wraps for want of room
    # typer reads TERMINAL_WIDTH once, when its help first draws: a test that drew help at width 80 before (the
    # benchmark's) fixed every later help at 80, which wraps descriptions this test does not mean.
    monkeypatch.setattr("typer.rich_utils.MAX_WIDTH", 400)
    for path in [(), *_groups()]:
        output = ganaug(*path, "--help").output
        panel = output.split("╭─ Commands")[1].split("╰")[0].splitlines()[1:]
        broken = [line for line in panel if line.startswith("│  ") and line.strip("│ ")]  # a continued description
        assert broken == [], (path, broken)


def test_the_readme_names_every_command():
    """The README's list of commands (and the tour) name every `ganaug` subcommand: `users disable`, `tags add`,
    `evaluate features` and others were in no part of it."""
    import re
    from pathlib import Path

    import typer.main

    from ganaug.cli import app

    readme = re.sub(r"```.*?```", "", (Path(__file__).parents[2] / "README.md").read_text(), flags=re.S)
    named = set()
    for span in re.findall(r"`([^`]+)`", readme):
        words = " ".join(span.split()).removeprefix("ganaug ").split(" | ")
        first = words[0].split()
        named.add(tuple(first[:2]))
        named.update((first[0], w.split()[0]) for w in words[1:] if w.strip())
        named.add(tuple(first[:1]))
    leaves = [p for p in _command_paths(typer.main.get_command(app)) if p and not _is_group(p)]
    assert [p for p in leaves if p not in named] == []


@pytest.mark.parametrize("args, needles", [
    (("data", "ingest"), ["Example: ganaug data ingest ~/data/parts --name parts --resolution 64"]),
    (("review", "tag"), ["Example: ganaug review tag 5 blur --user alice", "sample <int> Sample id",
                         "tag <str> Tag name", "--reason <str> Why"]),
    (("review", "approve"), ["batch <int> Batch id (`ganaug review pending`"]),
    (("review", "reject"), ["--reason <str> Why (required)"]),
    (("audit", "verify"), ['Example: ganaug audit verify --head "$(cat EXPORT_FOLDER/log_head.txt)"']),
    (("audit", "log"), ["--actor <str> Only this account's events", "--limit <int> At most this many events"]),
    (("export",), ["Example: ganaug export --dataset digits --out"]),
    (("jobs", "cancel"), ["job <int> Job id (`ganaug jobs list`)"]),
    (("runs", "prune"), ["Example: ganaug runs prune --all --dry-run"]),
    (("review", "reject-sample"), ['Example: ganaug review reject-sample 12 --reason "a second stem" --user alice']),
    (("data", "report"), ["name <str> The dataset (`ganaug data list`)"]),
    # `users` and `tags` said `name <str> [required]` and `--reason <str>`, and `users add` had no example.
    (("users", "add"), ["Example: ganaug users add bob --user alice", "name <str> The new account's name",
                        "--reason <str> Why: recorded with the change in the decision log"]),
    (("users", "role"), ["name <str> The account's name (`ganaug users list`)", "role <str> reviewer or admin"]),
    (("users", "disable"), ["name <str> The account's name", "--reason <str> Why"]),
    (("users", "unlock"), ["name <str> The account's name", "--reason <str> Why"]),
    (("tags", "add"), ["Example: ganaug tags add smear", "name <str> The new tag's name", "--description <str> What "
                       "the tag means", "--blocking --non-blocking Whether a sample with the tag is kept out of "
                       "training", "--reason <str> Why"]),
    (("tags", "retire"), ["name <str> The tag's name (`ganaug tags list --all`)", "--reason <str> Why"]),
    # revoke pointed at `review pending`, which never lists an approved batch; evaluate batch at "the review queue".
    (("review", "revoke"), ["batch <int> Batch id of an approved batch (`ganaug audit log --action approve`"]),
    (("evaluate", "batch"), ["batch <int> Batch id (`ganaug review pending` lists the batches waiting)"]),
    # verify's help left out the real images' digest it checks; remove named only queued jobs, not running ones.
    (("audit", "verify"), ["and a dataset whose real images are no longer what its ingest or seal recorded"]),
    (("data", "remove"), ["export or queued or running job names"]),
    (("benchmark",), ["--json FILE Write the JSON report to this file"]),
    (("audit", "log"), ["review decisions, account and tag changes, ingests, seals, dataset removals and exports"]),
])
def test_help_says_what_each_argument_is_with_an_example_where_it_helps(home, args, needles):
    # `review tag --help` said `sample <int> [required]` and `--reason <str>`, nothing more.
    text = _help(*args)
    for needle in needles:
        assert needle in text, (args, needle)


@pytest.mark.parametrize("group", ["users", "tags"])
def test_every_argument_and_option_of_users_and_tags_says_what_it_is(home, group):
    # `users role --help` listed `name <str> [required]`, `role <str> [required]` and `--reason <str>`, nothing more.
    import typer.main

    from ganaug.cli import app

    commands = typer.main.get_command(app).commands[group].commands
    silent = [(name, p.name) for name, command in commands.items() for p in command.params
              if not getattr(p, "help", None)]
    assert silent == []


def test_no_help_paragraph_breaks_where_its_source_did(home):
    """typer keeps a docstring's line breaks after its first paragraph: `audit verify --help` and `benchmark --help`
    broke their sentences at the docstring's column ("... a rejected batch: written into the" / "database by
    hand ..."), whatever the terminal's width. A paragraph is one line, which the terminal wraps; only a list (one
    `name: what` a line, as benchmark's arms) keeps its breaks."""
    import re

    import typer.main

    from ganaug.cli import app

    def commands(command, path=()):
        for name, sub in getattr(command, "commands", {}).items():
            yield from commands(sub, path + (name,))
        yield path, command

    item = re.compile(r"[a-z_]+( \([^)]*\))?: ")
    broken = [(path, paragraph.split("\n")[:2]) for path, command in commands(typer.main.get_command(app))
              for paragraph in (command.help or "").split("\n\n")[1:]
              if "\n" in paragraph.strip() and not all(item.match(line) for line in paragraph.strip().split("\n"))]
    assert broken == []


def test_failed_sign_ins_help_gives_the_window_the_form_counts(home):
    # It said "of late"; the window is the sign-in form's own.
    from db.sign_ins import FAILED_SIGN_IN_MINUTES

    assert f"wrong passwords in the last {FAILED_SIGN_IN_MINUTES} minutes" in _help("users", "failed-sign-ins")


def test_demo_help_names_the_account_it_creates(home):
    # `demo --help` said nothing of the account it makes, which the README and its last lines give.
    from ganaug.demo import DEMO_PASSWORD, DEMO_USER

    assert f"creates the account {DEMO_USER} (password {DEMO_PASSWORD}, printed)" in _help("demo")
