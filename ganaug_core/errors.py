"""Errors a user can cause and fix; the CLI prints them as one line and exits with status 2."""


class GanaugError(Exception):
    """Bad input or an impossible request, described in one line that names the problem."""
