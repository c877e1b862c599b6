"""How a command ends: its exit status, the same for every command, and the signals that stop it (Ctrl-C, SIGTERM, a
reader of its output that went away)."""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from typing import Iterator

import typer

# Exit statuses, the same for every command (README, "In a script or a CI job"): 0 done; 1 a check found a problem
# (`audit verify`, `folder`, `trace`, `reproduce`); EXIT_BAD_INPUT bad input or a refusal; EXIT_CRASH an unexpected
# error (a traceback: a bug); EXIT_READER_GONE a pipe's reader that stopped early; 128 + the signal's number when
# Ctrl-C (SIGINT) or SIGTERM stopped a command, as a shell reports a process that the signal killed.
EXIT_BAD_INPUT = 2
EXIT_CRASH = 70  # sysexits.h's EX_SOFTWARE: Python's own 1 read as "the check failed" (`audit verify || alert`)
EXIT_READER_GONE = 128 + signal.SIGPIPE
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt, so that the same cleanup runs for both."""


_signals = {"terminated": False}  # whether SIGTERM came, even where a training loop swallowed its KeyboardInterrupt


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (`kill`, `timeout`, `docker stop`, systemd) stops the work as Ctrl-C does: training saves a checkpoint
    and marks the run cancelled, generating leaves no half-written batch, ingesting no half-written dataset (and its
    decoding workers stop). By default it killed the process on the spot, leaving a run marked running for good.
    The exit status still tells the two apart (`interrupted_exit`): 143 for SIGTERM, 130 for Ctrl-C."""
    def interrupt(signum, frame):
        _signals["terminated"] = True
        raise Terminated

    _signals["terminated"] = False

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (an embedding caller): leave its handlers alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted_status() -> int:
    """The exit status of a command that Ctrl-C or SIGTERM stopped: 130 or 143, as a shell reports a process that the
    signal killed (`timeout` and CI runners tell a stop they sent from the user's Ctrl-C by it)."""
    return EXIT_TERMINATED if _signals["terminated"] else EXIT_INTERRUPTED


def interrupted_exit(said: bool = False) -> typer.Exit:
    """The end of a command that Ctrl-C or SIGTERM stopped: a line saying so (unless the command `said` what it
    kept), and its exit status; typer's own ended every such command silently with 130."""
    if not said:
        how = "SIGTERM" if _signals["terminated"] else "Ctrl-C (SIGINT)"
        typer.echo(f"interrupted by {how}", err=True)  # our own words: no control character to escape (`echo`)
    return typer.Exit(interrupted_status())


def output_closed() -> bool:
    """Whether stdout or stderr is a pipe whose reader has gone: `ganaug runs list | head -1` once head has its line
    (Linux's poll() flags such a pipe's writing end POLLERR). Another broken pipe (a child process's) is an error."""
    import select

    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            fd = stream.fileno()
        except (AttributeError, ValueError, OSError):
            continue
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        if any(events & select.POLLERR for _, events in poller.poll(0)):
            return True
    return False


def reader_gone() -> typer.Exit:
    """End quietly when the reader of our output stopped early, as `cat` or `grep` do when SIGPIPE kills them (status
    141 under `set -o pipefail`): it had said 'error: Broken pipe' with the status of bad input. Both streams go to
    /dev/null first, or the interpreter's last flush printed 'Exception ignored ... BrokenPipeError'."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            os.dup2(devnull, stream.fileno())
        except (AttributeError, ValueError, OSError):
            pass
    os.close(devnull)
    return typer.Exit(EXIT_READER_GONE)
