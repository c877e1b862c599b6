"""Errors a user can cause and fix; the CLI prints them as one line and exits with status 2."""


class GanaugError(Exception):
    """Bad input or an impossible request, described in one line that names the problem."""


# What a full disk asks of the user, in the command line's words: said by a command's error and a failed run's
# (`ganaug.cli.common`, `ganaug.runs`) and by the database's own (`db.engine`, which imports nothing of `ganaug`).
FREE_SPACE = "free space (`ganaug runs du`, `ganaug runs prune --all`)"
