"""Commands people type that ganaug names otherwise, and the command each most likely meant.

`ganaug data show` answered only "No such command 'show'"; the usage error now adds "did you mean 'ganaug data
report'?" (`common.Commands`). A word with no obvious meaning (`ganaug list`, `ganaug show`) is left out: a wrong
guess is worse than none, and typer's close matches still catch typos (`data lsit` → `list`).
"""

from __future__ import annotations

from typing import Optional

# group ("" for the top level) → {word typed: the command it most likely meant, as typed after `ganaug`}
GUESSES: dict[str, dict[str, str]] = {
    "": {
        **dict.fromkeys(("datasets", "dataset"), "data list"),
        **dict.fromkeys(("ingest", "import"), "data ingest"),
        "report": "data report",
        **dict.fromkeys(("batches", "pending", "queue"), "review pending"),
        "approve": "review approve",
        "reject": "review reject",
        "revoke": "review revoke",
        "samples": "review samples",
        **dict.fromkeys(("log", "history"), "audit log"),
        "verify": "audit verify",
        **dict.fromkeys(("score", "scores"), "evaluate batch"),
        "du": "runs du",
        "prune": "runs prune",
        **dict.fromkeys(("gen", "sample"), "generate"),
        "fit": "train",
        **dict.fromkeys(("serve", "ui", "web", "start", "streamlit"), "app"),
        **dict.fromkeys(("accounts", "account"), "users list"),
    },
    "data": {
        **dict.fromkeys(("show", "info", "describe", "stats", "summary", "inspect", "view", "status"), "data report"),
        "ls": "data list",
        **dict.fromkeys(("import", "add", "load"), "data ingest"),
        **dict.fromkeys(("rm", "delete", "del", "forget"), "data remove"),
    },
    "runs": {
        **dict.fromkeys(("info", "describe", "inspect", "curves", "plot", "history"), "runs show"),
        **dict.fromkeys(("status", "ls"), "runs list"),
        **dict.fromkeys(("disk", "size", "usage", "space"), "runs du"),
        **dict.fromkeys(("clean", "cleanup", "gc", "rm", "delete"), "runs prune"),
    },
    "review": {
        **dict.fromkeys(("list", "ls", "queue", "show", "batches", "batch"), "review pending"),
        **dict.fromkeys(("accept", "ok"), "review approve"),
        **dict.fromkeys(("undo", "unapprove"), "review revoke"),
        "sample": "review samples",
    },
    "jobs": {
        **dict.fromkeys(("ls", "show", "status"), "jobs list"),
        **dict.fromkeys(("kill", "stop", "rm", "delete"), "jobs cancel"),
    },
    "users": {
        **dict.fromkeys(("ls", "show"), "users list"),
        **dict.fromkeys(("create", "new"), "users add"),
        "passwd": "users password",
        **dict.fromkeys(("delete", "rm", "remove", "deactivate"), "users disable"),
        "activate": "users enable",
    },
    "tags": {
        **dict.fromkeys(("ls", "show"), "tags list"),
        **dict.fromkeys(("create", "new"), "tags add"),
        **dict.fromkeys(("delete", "rm", "remove"), "tags retire"),
    },
    "audit": {
        **dict.fromkeys(("show", "events", "history"), "audit log"),
        **dict.fromkeys(("check", "validate"), "audit verify"),
        "export": "export",
    },
    "evaluate": {
        **dict.fromkeys(("score", "scores"), "evaluate batch"),
    },
}


def guessed_command(group: str, word: str) -> Optional[str]:
    """The command `word`, typed in `group` ("" for the top level), most likely meant; None when none is obvious."""
    return GUESSES.get(group, {}).get(word.lower())
