"""`ganaug export`: the gated training set written as an ImageFolder, complete or not at all, and recorded in the
decision log when its exporter signs it (--user or GANAUG_USER, as for a decision). What it says: each class's real
and synthetic images, what the cap or the gate left out, the imbalance before and after, and what changed since the
dataset's previous recorded export (export_since.py). `ganaug audit exports` lists the recorded exports and `ganaug
audit folder` checks a folder later (audit.py, audit_folder.py).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional

import typer

from ganaug.cli.common import JSON, UserError, cli_errors, dataset_class_names, echo, emit, login
from ganaug.cli.exits import terminate_as_interrupt
from ganaug.cli.line_width import wrapped
from ganaug.shown_text import class_label, one_line
from ganaug_core.shown_text import utc_time
from ganaug_core.imbalance import LINE_COLUMNS


# What the folder holds, for the data scientist who trains on it (`ganaug export --help`).
EXPORT_HELP = (
    "Write the gated training set as an ImageFolder with manifest.csv, images.csv and classes.csv, their sha256 and "
    "the log head (log_head.txt); with --user (or GANAUG_USER), record the export in the decision log (`ganaug audit "
    "exports` lists them; `ganaug audit folder OUT` checks the folder later, and names the images the review "
    "withdrew since).\n\n"
    "The set holds the dataset's real training images and its approved synthetic samples, never its test split; "
    "rejected, blocking-tagged and revoked samples stay out. images.csv lists each file's path relative to OUT, its "
    "class, source (real or synthetic) and sha256, and for a sample its batch, run, checkpoint sha256 and seed; "
    "classes.csv lists every class of the dataset (index, name, folder, counts), a class with no image in the set "
    "too.\n\n"
    "OUT must be new or empty: a folder holding an earlier export is refused, naming it (an export is never merged "
    "into another or written over it). OUT may not lie inside what ganaug writes in GANAUG_HOME (datasets/, runs/, "
    "batches/, models/, reports/, workers/, ganaug.*): that is refused. A folder of your own there, "
    "$GANAUG_HOME/gated say, is fine.\n\n"
    "Example: ganaug export --dataset digits --out ~/gated-digits --user alice")


EXPORT_CLASS_ROWS = 20  # every class in the table up to this many; above, the classes given synthetic samples


def class_counts_text(counts: dict, over_cap: dict, names: list[str]) -> str:
    """What an export holds per class, one line each: every class of a small dataset; of a large one (a catalogue of
    100 classes was one line of 100 counts), the classes given synthetic samples or with some left over the cap, up
    to EXPORT_CLASS_ROWS, then one line for the others (`--json` has every class)."""
    items = [(str(c), v) for c, v in counts.items()]
    if len(items) > EXPORT_CLASS_ROWS:
        shown = [(c, v) for c, v in items if v["synthetic"] or c in over_cap][:EXPORT_CLASS_ROWS]
    else:
        shown = items
    listed = {c for c, _ in shown}
    rest = [(c, v) for c, v in items if c not in listed]
    lines = []
    if shown:
        width = max(len("real"), *(len(str(v["real"])) for _, v in shown))
        # A class's name cut as `data report` cuts it, and what the cap left out under it where the row would pass
        # 80 columns: "8 (Tomato___Spider_mites Two-spotted_spider_mite)  (12 approved left out over the cap)" made
        # a row of 105.
        lines = [f"  {'real':>{width}}  synthetic  class"]
        for c, v in shown:
            row = f"  {v['real']:>{width}}  {v['synthetic']:>9}  {class_label(c, names, cut=True)}"
            note = f"({over_cap[c]} approved left out over the cap)" if c in over_cap else ""
            beside = f"{row}  {note}"
            lines.append(row if not note else beside if len(beside) <= LINE_COLUMNS else
                         f"{row}\n{' ' * (2 + width + 2 + 9 + 2)}{note}")
    if rest:
        real, synthetic = (sum(v[source] for _, v in rest) for source in ("real", "synthetic"))
        held = (f"real images only, {real} in all" if not synthetic and not any(c in over_cap for c, _ in rest)
                else f"{real} real + {synthetic} synthetic images")
        many = f"… {len(rest)} more" if shown else str(len(rest))
        lines.append(f"  {many} classes: {held} (`--json` lists every class)")
    return "\n".join(lines)


def real_images_note(dataset: str, standing: dict) -> Optional[str]:
    """What an export says of its real images against the decision log (`db.ingests`), or None when it covers them."""
    from db.ingests import NOT_COVERED

    if standing.get("standing") != NOT_COVERED:  # "differs" is said with the images it left out (INTEGRITY_REASONS)
        return None
    return (f"the real training images of dataset {one_line(dataset)!r} are not covered by the decision log (it was "
            "ingested before ingests were recorded, 2026-12-07): a row added to its real_images table would be "
            f"exported as a real image; an admin records them as they are now: `ganaug data seal {one_line(dataset)} "
            "--user NAME`")


def export_cmd(
    dataset: str = typer.Option(..., "--dataset", help="Dataset name"),
    out: Path = typer.Option(..., "--out", help="A new or empty folder, written complete or not at all"),
    ratio: float = typer.Option(1.0, "--ratio", help="At most this many synthetic samples per real training image, per class"),
    user: Optional[str] = typer.Option(None, "--user", help="Who exports: records the export in the decision log "
                                       "(default: $GANAUG_USER; without either it is not recorded); password from "
                                       "$GANAUG_PASSWORD or a prompt"),
    as_json: bool = JSON,
) -> None:
    """`ganaug export` (EXPORT_HELP)."""
    from db.gate import INTEGRITY_REASONS
    from ganaug.cli.export_since import changes_text
    from ganaug.export import empty_classes_warning, export_gated_set
    from ganaug.older_scores import older_scores_note
    from ganaug_core.progress import tqdm_progress

    if not 0 <= ratio < math.inf:
        raise UserError(f"--ratio must be a finite number ≥ 0, got {ratio}")
    # Signed in before anything is written: a wrong password leaves no folder behind.
    exporter = login(user) if user or os.environ.get("GANAUG_USER") else None
    with terminate_as_interrupt(), tqdm_progress() as progress:  # `kill` too leaves no partial folder beside OUT
        summary = export_gated_set(dataset, out, ratio, progress, exporter=exporter)
    for reason in INTEGRITY_REASONS:  # on stderr, with --json too: stdout stays one JSON object
        if n := summary["excluded"].get(reason):
            echo(f"warning: {n} image{'s' * (n != 1)} left out: {reason}", err=True)
    if note := real_images_note(dataset, summary["real_images"]):
        echo(f"warning: {note}", err=True)
    if ratio > 0 and not any(v["synthetic"] for v in summary["counts"].values()):
        why = "; ".join(f"{reason} ({n} sample{'s' * (n != 1)})" for reason, n in summary["excluded"].items())
        echo("warning: no synthetic sample was admitted, so the set holds the real training images only"
             + (f"; left out: {why}" if why else " (no batch of this dataset is approved)"), err=True)
    if warning := empty_classes_warning(summary["empty_classes"]):
        echo(f"warning: {warning}", err=True)
    if note := older_scores_note(summary["batches"]):
        echo(wrapped(f"note: {note}"), err=True)
    over_cap = summary["over_cap"]
    counts = class_counts_text(summary["counts"], over_cap, dataset_class_names(dataset))
    table = f"{counts}\n" if counts else ""  # a set of no image has no class to list
    capped = sum(over_cap.values())
    cap_note = wrapped(f"{capped} approved sample{'s were' if capped != 1 else ' was'} left out over the cap: "
                       f"--ratio {ratio:g} caps each class's synthetic samples at {ratio:g}× its real training "
                       "images; a higher --ratio admits more") + "\n" if capped else ""
    ratios = summary["imbalance"]
    balance = wrapped(f"imbalance (largest/smallest class): {ratios['before']:g} in the real training images, "
                      f"{ratios['after']:g} in this set") + "\n" if ratios["before"] is not None else ""
    since = changes_text(summary["since_previous"], dataset_class_names(dataset))  # export_since.py
    head = summary["log_head"]
    event = summary["event"]
    if event is None:
        echo("note: this export is not recorded in the decision log; to record it, export with --user NAME "
             "(or GANAUG_USER set)", err=True)
    # Wrapped: a signer's name of 26 characters made it 93 columns. The event's time stays whole, as decisions say it.
    when = utc_time(event["ts"]) if event else ""
    recorded = ("\n" + wrapped(f"recorded as event {event['id']} by {one_line(event['actor'])} ({event['role']}) at "
                                f"{when}", whole=(when,)) if event else "")
    real = sum(v["real"] for v in summary["counts"].values())
    emit(summary, as_json, f"exported {summary['entries']} images to {summary['out']}: {real} real + "
                           f"{summary['entries'] - real} synthetic\n{table}{cap_note}{balance}{since}"
                           f"manifest sha256 {summary['manifest_sha256']}\n"
                           # 114 columns at least: the head, whole, goes on a line of its own
                           + wrapped(f"gated on the decision log's first {head['events']} events, head {head['hash']}",
                                     whole=(f"head {head['hash']}",))  # `grep 'head '` finds it with its hash
                           + recorded)


def register(app: typer.Typer) -> None:
    app.command("export", help=EXPORT_HELP)(cli_errors(export_cmd))
