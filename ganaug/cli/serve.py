"""`ganaug app` and `ganaug demo`: the review app and the job worker, started and stopped together.

Both run as child processes in their own process groups. Ctrl-C or SIGTERM stops both groups (SIGTERM, then
SIGKILL after a grace period); if either child exits on its own the other is stopped too. On Linux each child
also asks the kernel to kill it if this supervisor dies without cleaning up (PR_SET_PDEATHSIG), so no orphan is
left even after a SIGKILL of the supervisor.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from ganaug.cli.common import UserError, cli_errors, dataset_class_names, echo
from ganaug.cli.exits import interrupted_exit, terminate_as_interrupt
from ganaug.cli.line_width import wrapped_note

APP_FILE = Path(__file__).resolve().parents[2] / "app.py"
GRACE_S = 10.0


try:  # loaded here, not in the child: between fork and exec only async-signal-safe work belongs
    _LIBC: Optional[ctypes.CDLL] = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:
    _LIBC = None


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: new session (own process group) + death signal on parent exit.
    os.setsid()
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def streamlit_command(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_FILE),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--client.toolbarMode", "viewer",  # reviewers get no developer menu (rerun, clear cache, deploy)
    ]


def worker_command(started_by: str = "app") -> list[str]:
    """The worker `ganaug app` or `ganaug demo` (`started_by`) starts; it names that command in its busy-machine
    note, being in its environment (a standalone `ganaug worker` names itself)."""
    return [sys.executable, "-m", "ganaug", "worker", "--started-by", started_by]


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + GRACE_S
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.wait()


def check_can_listen(host: str, port: int) -> str:
    """Bind (and release) the address Streamlit will listen on, so that a busy port is one line of ours and exit
    status 2 rather than a banner, Streamlit's own error and exit status 1. SO_REUSEADDR as Tornado sets it: a
    port left in TIME_WAIT by a previous app is free for Streamlit, and so it is here. Returns the address."""
    if not 1 <= port <= 65535:
        raise UserError(f"--port must be between 1 and 65535, got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as e:
        raise UserError(f"--host {host!r} is not an address to listen on ({e.strerror})") from None
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise UserError(f"port {port} on {host} is in use; pass --port") from None
            raise UserError(f"cannot listen on {host} port {port} ({e.strerror}); pass --host or --port") from None
    return address[0]


def network_warning(address: str, proxies: Optional[str] = None) -> Optional[str]:
    """What `ganaug app --host` on an address other machines reach risks: Streamlit serves plain http, so
    passwords, the sign-in cookie and patient images cross the network readable by anyone on the way. `proxies`:
    FORWARDED_ALLOW_IPS, the proxies whose X-Forwarded-For uvicorn (under Streamlit) believes. Behind a proxy on
    another machine (which needs --host) the warning told the admin to put a proxy in front, and never said that a
    proxy not named there makes every browser one address to the sign-in lockout (pages/auth.py)."""
    if ipaddress.ip_address(address.split("%")[0]).is_loopback:
        return None
    if proxies and proxies.strip():
        return (f"warning: the app listens on {address}, open to other machines, over plain http: between the proxy "
                f"(FORWARDED_ALLOW_IPS={proxies.strip()}) and the app, passwords, sign-in cookies and images travel "
                "unencrypted; let no other machine reach this port (README, \"Deploying for a team\")")
    return (f"warning: the app listens on {address}, open to other machines, over plain http: passwords, sign-in "
            "cookies and images travel unencrypted; put a TLS reverse proxy in front, and name it in "
            "FORWARDED_ALLOW_IPS where it runs on another machine, or the sign-in lockout counts every browser as "
            "the proxy (README, \"Deploying for a team\")")


def check_database() -> None:
    """Stop at the start on what no wait mends (a wrong password, a role or database that does not exist, a URL that
    does not parse, a database a newer ganaug migrated or one the team's role may not migrate): raises its one line.
    The worker stopped on it, and `ganaug app` with it, but `ganaug app --no-worker`, the team's service (README,
    "Deploying for a team"), served on: its unit active, every page saying that whoever runs the app must mend what
    its log names. A server restarting or out of reach is waited for, as the pages do: a note, then the app."""
    from db.engine import dispose_engines, get_engine
    from db.errors import DatabaseUnavailable

    try:
        get_engine()  # opens and migrates, as every command's first use does
    except DatabaseUnavailable as e:
        if e.lasting:
            raise
        echo(f"note: {e}; the app's pages say so until it answers", err=True)
    finally:
        dispose_engines()  # this supervisor keeps no connection open while it serves


def serve(host: str = "127.0.0.1", port: int = 8501, with_worker: bool = True, started_by: str = "app") -> int:
    """Run Streamlit (and the worker) until Ctrl-C, SIGTERM or either child exits; returns the exit status.
    `started_by`: `app` or `demo`, the command serving."""
    address = check_can_listen(host, port)
    if not APP_FILE.exists():
        raise UserError(f"{APP_FILE} not found: `ganaug app` runs from a source checkout")
    check_database()
    stopping = {"signal": None}

    def on_signal(signum, _frame):
        stopping["signal"] = signum

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    children: list[subprocess.Popen] = []
    try:
        children.append(subprocess.Popen(streamlit_command(host, port), env=env, cwd=APP_FILE.parent,
                                         preexec_fn=_die_with_parent))
        if with_worker:
            children.append(subprocess.Popen(worker_command(started_by), env=env, preexec_fn=_die_with_parent))
        echo(f"ganaug app on http://{host}:{port} " + ("(worker: on); Ctrl-C stops both" if with_worker else
                                                      "(worker: off: run `ganaug worker`); Ctrl-C stops it"), err=True)
        if warning := network_warning(address, os.environ.get("FORWARDED_ALLOW_IPS")):
            echo(warning, err=True)
        while stopping["signal"] is None and all(c.poll() is None for c in children):
            time.sleep(0.2)
        exited = [c for c in children if c.poll() is not None]
        status = 0 if stopping["signal"] is not None else (exited[0].returncode or 1)
    finally:
        _stop(children)
        for s, handler in previous.items():
            signal.signal(s, handler)
    return status


# A help string, not a docstring: typer keeps a docstring's line breaks after its first paragraph.
DEMO_HELP = (
    "Ingest demo:digits, train a quick generator, generate and score a first batch per rare class, then serve.\n\n"
    "What an earlier demo made in this home is reused, so a second one serves within seconds; on a home with no admin "
    "yet it creates the account demo (password demo-review, printed). Ctrl-C or SIGTERM while it prepares leaves "
    "nothing half-written (a run stopped in training keeps its checkpoint, and the command that trains it further is "
    "named); once it serves, they stop the app and its worker.")


def register(app: typer.Typer) -> None:
    @app.command("app")
    @cli_errors
    def app_cmd(
        host: str = typer.Option("127.0.0.1", help="Address to listen on"),
        port: int = typer.Option(8501, help="Port to listen on"),
        no_worker: bool = typer.Option(False, "--no-worker", metavar="", help="Do not start the job worker alongside"),
    ) -> None:
        """Start the review app and the job worker; Ctrl-C or SIGTERM stops both."""
        raise typer.Exit(serve(host, port, with_worker=not no_worker))

    @app.command("demo", help=DEMO_HELP)
    @cli_errors
    def demo_cmd(
        host: str = typer.Option("127.0.0.1", help="Address to listen on"),
        port: int = typer.Option(8501, help="Port to listen on"),
        prepare_only: bool = typer.Option(False, "--prepare-only", metavar="", help="Prepare the demo data, do not serve"),
        minutes: Optional[float] = typer.Option(None, help="Training budget of the demo generator, in minutes "
                                                "(default 1.5)"),
    ) -> None:
        """Ingest demo:digits, train a quick generator, generate and score a first batch per rare class, then serve."""
        from ganaug.cli.gan import train_bar
        from ganaug.demo import DEFAULT_MINUTES, DEMO_DATASET, TrainingInterrupted, prepare_demo
        from ganaug_core.progress import tqdm_progress

        if not prepare_only:
            check_can_listen(host, port)  # before minutes of preparation, not after
        try:
            # SIGTERM (`kill`, `timeout`) stops the preparation as Ctrl-C does, leaving nothing half-written: by
            # default it killed the process on the spot, mid-write, its run left marked running.
            with terminate_as_interrupt(), tqdm_progress() as progress:
                # `train`'s bar: every raw stat (the diversity of each class, the grid's path) made it lines long
                info = prepare_demo(minutes=DEFAULT_MINUTES if minutes is None else minutes,
                                    progress=train_bar(progress, lambda: dataset_class_names(DEMO_DATASET)))
        except TrainingInterrupted as e:
            # Wrapped as every note is, its commands whole: it was one line of 200–300 columns.
            echo(wrapped_note(e.text()), err=True)
            raise interrupted_exit() from None
        # Each line wrapped, its command and each thing made whole ("scores of batch 3"): "an admin already exists: …"
        # ran to 124 columns, "made this time: …" to 136. The longest first: "batch 3" is in "scores of batch 3".
        made = tuple(sorted(info.created, key=len, reverse=True))
        echo("\n".join(wrapped_note(line, whole=made) for line in info.text().splitlines()))
        for note in info.notes():  # on stderr, wrapped, as `train`'s and `generate`'s (they ended stdout's text)
            echo(wrapped_note(note), err=True)
        if not prepare_only:
            raise typer.Exit(serve(host, port, started_by="demo"))
