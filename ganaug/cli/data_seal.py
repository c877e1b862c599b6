"""`ganaug data seal`: an admin records, in the decision log, the real images of a dataset ingested before ingests
were recorded (2026-12-07), as they are now (`db.ingests`)."""

from __future__ import annotations

from typing import Optional

import typer

from ganaug.cli.common import JSON, USER, cli_errors, emit, login
from ganaug.cli.line_width import wrapped
from ganaug.shown_text import one_line
from ganaug_core.shown_text import utc_time

SEAL_HELP = (
    "Record a dataset's real images in the decision log as they are now (admins; for a dataset ingested before "
    "2026-12-07).\n\n"
    "Since 2026-12-07 each ingest records an event with a digest of its real images' (id, split, class, sha256) rows, "
    "and the gate admits a dataset's real training images only while that digest agrees: a row added to the "
    "real_images table, or a file changed with its sha256, keeps them all out and `ganaug audit verify` names it. A "
    "dataset ingested earlier has no such event: its exports (the CLI and the Audit page) warn that its real images "
    "are not covered, and `ganaug audit verify` notes it. Seal it once "
    "you trust its rows as they are (compare `ganaug data report NAME` with the source, say): the event is in your "
    "name. A dataset the log covers already is refused.\n\n"
    "Example: ganaug data seal digits --user alice --reason \"checked against the source folder\"")


def seal_cmd(
    name: str = typer.Argument(..., help="The dataset (`ganaug data list`)"),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why: recorded with the seal in the log"),
    user: Optional[str] = USER,
    as_json: bool = JSON,
) -> None:
    """`ganaug data seal` (SEAL_HELP)."""
    from db.datasets import get_dataset
    from db.engine import session_scope
    from db.ingests import seal_dataset

    me = login(user)
    with session_scope(immediate=True) as session:
        event = seal_dataset(session, get_dataset(session, name), me, reason)
        out = dict(event_id=event.id, action=event.action, dataset=name, images=event.details["images"],
                   real_images_sha256=event.details["real_images_sha256"], actor=event.actor, role=event.role,
                   ts=event.ts, reason=event.reason, hash=event.hash)
    when = utc_time(out["ts"])  # as every decision line says it; `--json` keeps the log's whole value
    emit(out, as_json, wrapped(f"sealed the {out['images']:,} real images of dataset {one_line(name)!r}: recorded as "
                               f"event {out['event_id']} by {one_line(out['actor'])} ({out['role']}) at {when}",
                               whole=(when,)))


def register(data_app: typer.Typer) -> None:
    data_app.command("seal", help=SEAL_HELP)(cli_errors(seal_cmd))
