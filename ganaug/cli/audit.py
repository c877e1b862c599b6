"""`ganaug audit verify | log | exports | reproduce` (`folder | trace`: audit_folder.py, audit_trace.py): the
hash-chained decision log, the exports recorded in it, and whether a batch's samples still come out of their
checkpoint. `ganaug export`, which writes the training set the log gates, is export.py's.

`audit verify` exits 1 when the chain is broken, the review state disagrees with it, or a head recorded earlier is
gone; `audit exports` lists the recorded exports; `audit reproduce` exits 1 when a regenerated sample differs from its
recorded sha256 (`--sample ID --out FILE` writes one sample's bytes again); `audit folder` checks an export
folder and `audit trace` traces one image back to its record.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import typer

from ganaug.cli.common import Commands, JSON, UserError, check_limit, cli_errors, echo, emit, left_out
from ganaug.cli.line_width import wrapped, wrapped_note
from ganaug.shown_text import one_line
from ganaug_core.shown_text import utc_time

audit_app = typer.Typer(cls=Commands, no_args_is_help=True,
                        help="The hash-chained decision log; export folders, images and batches checked against it.")


def tag_of(details) -> str:
    """' [tag]' for a tag or untag event, so that people see which tag; '' otherwise."""
    return f" [{one_line(details['tag'])}]" if isinstance(details, dict) and details.get("tag") else ""


def _user_names(session, ids: set[int]) -> dict[int, str]:
    """Account id → name, for the account events of `audit log` ('disable_user user 4 (bob)')."""
    from sqlalchemy import select

    from db.models import User

    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}


# A help string, not the docstring: typer kept the docstring's line breaks in every paragraph after the first.
VERIFY_HELP = (
    "Recompute the hash chain of the decision log and check the review state against it; exit 1 and name the first "
    "broken event, or each place where the tables disagree with the log. A chain cannot show on its own that its "
    "newest events were deleted: `--head` checks it against a head written down elsewhere.\n\n"
    "It also names an event that breaks the review's rules (an approval of a rejected batch: written into the "
    "database by hand, as no ganaug command records it), and a dataset whose real images are no longer what its "
    "ingest or seal recorded (a row of real_images added, removed or changed); a dataset ingested before ingests were "
    "recorded (2026-12-07) and not sealed since is noted, without failing (`ganaug data seal`).\n\n"
    'Example: ganaug audit verify --head "$(cat EXPORT_FOLDER/log_head.txt)"')


@audit_app.command("verify", help=VERIFY_HELP)
@cli_errors
def audit_verify_cmd(
    head: Optional[str] = typer.Option(None, "--head", help="A head hash recorded earlier (printed by this command, "
                                       "written by export as log_head.txt): check the log still holds it"),
    as_json: bool = JSON,
) -> None:
    """Check the decision log's chain, and the review state and the real images against it (help: VERIFY_HELP)."""
    from sqlalchemy import func, select

    from db.audit import GENESIS_HASH, verify_chain
    from db.engine import session_scope
    from db.ingests import not_covered
    from db.models import Event
    from db.replay import LogState, state_mismatches
    from ganaug_core.progress import tqdm_progress

    head_events, head = _head_hash(head) if head is not None else (None, None)
    # One snapshot: a colleague's decision between the walk and the state read is neither's, not a difference.
    with session_scope(snapshot=True) as s, tqdm_progress() as progress:
        log = LogState()
        # The chain walked and the review state replayed in one read, with a bar where it takes seconds.
        visit = _with_bar(log.apply, s.scalar(select(func.count()).select_from(Event)) or 0, progress)
        report = verify_chain(s, visit=visit)
        mismatches = state_mismatches(s, log) if report.ok else []
        unsealed = not_covered(s, log) if report.ok else []
        head_id = None if head is None else 0 if head == GENESIS_HASH else s.scalar(
            select(Event.id).where(Event.hash == head))
        head_found = head is None or head_id is not None
        # The events up to that head, which an intact chain shows unchanged (ids may skip: a sequence's gaps).
        head_position = s.scalar(select(func.count()).select_from(Event).where(Event.id <= head_id)) if head_id else 0
    out = dict(report.to_dict(), ok=report.ok and not mismatches and head_found, state_mismatches=mismatches,
               head_found=head_found, not_covered=unsealed)
    if not report.ok:
        text = f"BROKEN: {report.message}"
    elif not head_found and head_events is not None and report.checked >= head_events:
        # As many events as when the head was written, or more, but not that one: the chain was rewritten up to
        # it, every later hash recomputed. Only someone with write access to the database does that.
        text = (f"REWRITTEN: {report.message}, but its first {head_events} events no longer end in head {head}: "
                "events among them were altered and every hash after them recomputed since that head was recorded "
                "(or this is another log)")
    elif not head_found:
        text = (f"TRUNCATED: {report.message}, but it no longer holds head {head}: events were removed from its end, "
                "or rewritten with their hashes recomputed, since that head was recorded (or this is another log)")
    elif mismatches:
        text = (f"STATE DIFFERS: {report.message}, but the tables disagree with it:\n"
                + "\n".join(f"  {line}" for line in mismatches))
    else:
        text = f"ok: {report.message}; the review state matches it\nhead {report.head_hash}"
    if head is not None and head_found and report.ok:  # it had said so only with --json
        text += (f"\nhead {head} found: the log still holds its first {head_position} events unchanged"
                 if head_position else f"\nhead {head} found: the empty log's, which every log starts from")
    emit(out, as_json, text)
    # Not a failure: the gate admits them, as `export` warns (`data seal`). A note, on stderr as every note is, with
    # --json too (it ended the text on stdout, unwrapped).
    for name in unsealed:
        echo(wrapped_note(f"note: the real images of dataset {one_line(name)!r} are not covered by the log (ingested "
                          "before ingests were recorded, 2026-12-07): an admin who trusts them as they are now seals "
                          f"them, `ganaug data seal {one_line(name)} --user NAME`"), err=True)
    if not out["ok"]:
        raise typer.Exit(1)


VERIFY_BAR_EVENTS = 50_000  # a log this long takes over a second to walk (39,035 events: 1.1–1.3 s on 2 cores)
_BAR_EVERY = 5_000


def _with_bar(apply, total: int, progress):
    """`apply`, which also moves a progress bar every few thousand events of a long log (a year's 400,000 took ≈ 10 s
    with nothing on the screen); a short log draws none."""
    from ganaug_core.progress import Progress

    if total < VERIFY_BAR_EVENTS:
        return apply
    seen = 0

    def visit(event) -> None:
        nonlocal seen
        apply(event)
        seen += 1
        if seen % _BAR_EVERY == 0 or seen == total:
            progress(Progress("verify", seen, total))
    return visit


def _head_hash(value: str) -> tuple[Optional[int], str]:
    """How many events the log held then (None for a bare hash) and the hash `--head` names: a bare hash, or
    log_head.txt's whole line ('<events> <hash>', as `--head "$(cat log_head.txt)"` passes it). Anything else is
    bad input, not a truncated log."""
    words = value.split()
    events = None
    if len(words) == 2 and words[0].isdigit():
        events, words = int(words[0]), words[1:]
    if len(words) != 1 or not re.fullmatch(r"[0-9a-fA-F]{64}", words[0]):
        raise UserError(f"--head {value!r} is not a head hash: give the 64 hex digits `audit verify` printed "
                        "or the line of an export's log_head.txt")
    return events, words[0].lower()


@audit_app.command("log")
@cli_errors
def audit_log_cmd(
    limit: int = typer.Option(50, "--limit", help="At most this many events, newest first"),
    actor: Optional[str] = typer.Option(None, "--actor", help="Only this account's events (its name as logged)"),
    action: Optional[str] = typer.Option(None, "--action", help="Only this action (approve, reject, revoke, tag, "
                                         "reject_sample, export, ...)"),
    target_type: Optional[str] = typer.Option(None, "--target-type", help="Only events on this kind of target (batch, "
                                              "sample, user, tag, dataset)"),
    since: Optional[str] = typer.Option(None, "--since", help="ISO 8601 date or time (UTC if no offset)"),
    as_json: bool = JSON,
) -> None:
    """The decision log's events, newest first: review decisions, account and tag changes, ingests, seals, dataset
    removals and exports, one line each."""
    from db.audit import count_events, filter_values, list_events
    from db.engine import session_scope

    check_limit(limit)
    with session_scope() as s:
        for option, value, column in (("--action", action, "action"), ("--target-type", target_type, "target_type")):
            if value is not None and value not in (valid := filter_values(s, column)):
                raise UserError(f"{option} {value!r} matches nothing the log records: use one of {', '.join(valid)}")
        rows = [dict(id=e.id, ts=e.ts, actor=e.actor, role=e.role, action=e.action, target_type=e.target_type,
                     target_id=e.target_id, meaning=e.meaning, reason=e.reason, details=e.details, hash=e.hash)
                for e in list_events(s, actor=actor, action=action, target_type=target_type, since=since, limit=limit)]
        total = (count_events(s, actor=actor, action=action, target_type=target_type, since=since)
                 if len(rows) == limit else len(rows))
        names = _user_names(s, {r["target_id"] for r in rows if r["target_type"] == "user"})
    # Each event on one line: a reason typed with a newline printed a line of its own, like a forged event. Its time
    # to the second, as every human line gives it (`utc_time`): with its microseconds and '+00:00' every line was 80
    # columns or more before a reason (`--json` has it whole). A reason is never cut or wrapped: the line is the
    # event, whole.
    text = "\n".join(f"{r['id']:>6} {utc_time(r['ts'])} {one_line(r['actor']):<12} {r['action']:<14} "
                     f"{r['target_type']} {r['target_id']}"
                     + (f" ({one_line(names[r['target_id']])})"
                        if r["target_type"] == "user" and r["target_id"] in names else "")
                     + _dataset_of(r)
                     + tag_of(r["details"]) + (f"  — {one_line(r['reason'])}" if r["reason"] else "") for r in rows)
    if total > len(rows):  # a year's log holds tens of thousands: say so, and how to narrow it
        text += "\n" + left_out(len(rows), total, "events", ", --actor, --action, --target-type or --since narrow them")
    emit({"events": rows, "total": total}, as_json, text or "no events")


def _dataset_of(row: dict) -> str:
    """' (digits)' for an export event, whose target is a dataset's id; '' otherwise."""
    details = row["details"]
    if row["target_type"] == "dataset" and isinstance(details, dict) and details.get("dataset"):
        return f" ({one_line(details['dataset'])})"
    return ""


# `ganaug.export.folder_check`'s answers, in words: whether a recorded export's folder still holds its manifest.
_FOLDER_CHECK = {"matches": "its manifest.csv still has that sha256 (`ganaug audit folder` checks its images)",
                 "changed": "its manifest.csv has CHANGED: `ganaug audit folder` says what",
                 "not found": "not found here"}
_FOLDER_WORD = {"matches": "matches", "changed": "CHANGED", "not found": "not found"}  # one export's line
_FOLDER_WORDS = ("matches: the folder's manifest.csv still has the recorded sha256 (CHANGED: `ganaug audit folder "
                 "FOLDER` says what); \"matches, N withdrawn\": the review has since withdrawn N of its synthetic "
                 "images, which `audit folder` names; --long adds each full sha256 and log head")


@audit_app.command("exports")
@cli_errors
def audit_exports_cmd(
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Only this dataset's exports"),
    limit: int = typer.Option(50, "--limit", help="At most this many exports, newest first"),
    long: bool = typer.Option(False, "--long", metavar="", help="Four lines per export: the full manifest sha256 "
                              "and the log head it was gated on too"),
    as_json: bool = JSON,
) -> None:
    """The recorded exports of gated training sets, newest first, one line each: event, time (UTC), signer,
    dataset, images, ratio, the start of the manifest's sha256, whether the folder still holds that manifest
    (matches, CHANGED, not found; "matches, 4 withdrawn": the review has since withdrawn 4 of its images), and the
    folder. --long and --json add the full sha256 and the log head."""
    from db.engine import session_scope
    from db.exports import count_exports, list_exports
    from ganaug.export import folder_check
    from ganaug.export_changes import withdrawn_counts

    check_limit(limit)
    with session_scope() as s:
        rows = list_exports(s, dataset=dataset, limit=limit)
        total = count_exports(s, dataset) if len(rows) == limit else len(rows)
    for r in rows:
        r["folder_check"] = folder_check(r["folder"], r["manifest_sha256"])
    # "matches" alone read as safe to train on after a revocation: the log replayed once for every listed folder.
    # None: the folder is not here as recorded, or the log does not verify (`audit verify` says why).
    counts = withdrawn_counts([r for r in rows if r["folder_check"] == "matches"])
    for r in rows:
        r["withdrawn"] = None if counts is None or r["folder_check"] != "matches" else counts.get(r["id"], 0)
    text = "\n".join(map(_export_lines if long else _export_line, rows))
    if rows and not long:  # a legend of 267 columns, wrapped at 80 (each export's own line is kept whole, for grep)
        text += "\n" + wrapped(_FOLDER_WORDS)
    if total > len(rows):  # years of exports: say that older ones exist, and how to see them
        text += "\n" + left_out(len(rows), total, "exports", "" if dataset else ", --dataset NAME one dataset's")
    emit({"exports": rows, "total": total}, as_json,
         text or "no export recorded" + (f" for dataset {dataset!r}" if dataset else ""))


def _export_line(r: dict) -> str:
    """One recorded export on one line (50 of them had taken 200), what matches a folder to its record: the start
    of its manifest's sha256 (as in the folder's manifest.sha256), the folder, who, when, and the check."""
    return (f"event {r['id']}  {utc_time(r['ts'])}  {one_line(r['actor']):<12} "
            f"{one_line(r['dataset'])}  {r['images']} images ({r['synthetic']} synthetic), ratio {r['ratio']:g}  "
            f"manifest {(r['manifest_sha256'] or '')[:12]}  {_FOLDER_WORD[r['folder_check']]}{_withdrawn(r, ', ')}  "
            f"{one_line(r['folder'])}")


def _withdrawn(r: dict, lead: str) -> str:
    return f"{lead}{r['withdrawn']:,} withdrawn" if r.get("withdrawn") else ""


def _export_lines(r: dict) -> str:
    """One recorded export in full (`--long`)."""
    return (f"event {r['id']} {utc_time(r['ts'])} {one_line(r['actor'])} exported {one_line(r['dataset'])}: "
            f"{r['images']} images ({r['real']} real + {r['synthetic']} synthetic), ratio {r['ratio']:g}\n"
            f"  manifest sha256 {r['manifest_sha256']}\n"
            f"  gated on the log's first {r['log_head_events']} events, head {r['log_head']}\n"
            f"  folder {one_line(r['folder'])} ({_FOLDER_CHECK[r['folder_check']]}"
            + (f"; the review has since withdrawn {r['withdrawn']:,} of its synthetic images: `ganaug audit folder` "
               "names the decisions" if r.get("withdrawn") else "") + ")")


@audit_app.command("reproduce")
@cli_errors
def audit_reproduce_cmd(
    batch: int = typer.Argument(..., help="Batch id"),
    samples: Optional[int] = typer.Option(None, "--samples", help="Check this many samples, evenly spread over the "
                                          "batch (default: all)"),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda: the kind of device the batch was generated on"),
    sample: Optional[int] = typer.Option(None, "--sample", help="Only this sample of the batch (its id: `ganaug "
                                         "audit trace FILE` finds an image's)"),
    out_file: Optional[Path] = typer.Option(None, "--out", help="With --sample: write its regenerated PNG to this "
                                            "new file, to compare with the image itself"),
    as_json: bool = JSON,
) -> None:
    """Regenerate a batch's samples from the checkpoint it recorded and each sample's seed, and check that every one
    has its recorded sha256, byte for byte; exit 1 when one does not or the checkpoint is gone. Writes nothing but
    the --out file.

    Example: ganaug audit reproduce 1 --sample 6 --out /tmp/sample-6.png && cmp /tmp/sample-6.png IMAGE
    """
    from ganaug.reproduce import reproduce_batch
    from ganaug_core.progress import tqdm_progress

    with tqdm_progress() as progress:
        out = reproduce_batch(batch, samples, device, progress, sample_id=sample, out=out_file)
    where = f"batch {batch} (run {out['run_id']}, class {out['class_index']})"
    if out["checkpoint"] is None:
        text = (f"NOT REPRODUCIBLE: no checkpoint of run {out['run_id']} has the sha256 {where} recorded "
                f"({out['checkpoint_sha256']}): it was removed or changed")
    elif out["differ"]:
        shown = ", ".join(map(str, out["differ"][:10])) + (" …" if len(out["differ"]) > 10 else "")
        text = (f"DIFFERS: {len(out['differ'])} of the {out['checked']} samples of {where} checked came out with "
                f"another sha256 than recorded: samples {shown}. On another kind of device or torch build the bytes "
                "change; where the batch was generated, its checkpoint, seeds or recorded hashes changed")
    elif sample is not None:
        text = (f"ok: sample {sample} of {where} regenerated from {out['checkpoint']} with its own seed has its "
                "recorded sha256, byte for byte")
    else:
        of = "all" if out["checked"] == out["samples"] else f"{out['checked']} of the"
        text = (f"ok: {of} {out['samples']} samples of {where} regenerated from {out['checkpoint']} with their "
                "own seeds have their recorded sha256, byte for byte")
    # Wrapped at 80 columns as every paragraph is, the checkpoint's path whole: "ok: …" ran to 175 columns.
    text = wrapped_note(text, whole=(str(out["checkpoint"]),))
    if out["out"]:
        text += f"\nwrote sample {sample}'s regenerated PNG to {out['out']}"
    emit(out, as_json, text)
    if out["checkpoint"] is None or out["differ"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from ganaug.cli.audit_folder import register as register_folder_check
    from ganaug.cli.audit_trace import register as register_trace
    from ganaug.cli.export import register as register_export

    register_folder_check(audit_app)
    register_trace(audit_app)
    app.add_typer(audit_app, name="audit")
    register_export(app)  # `export` is listed after `audit`, as it always was
