"""`ganaug audit folder DIR`: what an auditor handed an export folder can prove with the home it came from (one image
of it: `audit trace`, audit_trace.py).

`audit folder` checks that every image of an export folder still has the sha256 that manifest.csv gives its row
(an image swapped after the export showed nowhere: `manifest.sha256` covers the CSVs only), that the CSVs have the
sha256 manifest.sha256 gives them, that the folder holds nothing else, that manifest.csv is the one a signed export
recorded in the decision log and that event is still there (export_event.txt), that the log still holds the head in
log_head.txt, that no batch of its synthetic images holds a decision appended to the log by hand against the
review's rules (`db.replay`), that its dataset's real images are what the log recorded (`db.ingests`), and that its
synthetic images' checkpoints are still here to regenerate them. It also
names what an ImageFolder reader would train on that the manifest lacks: a second file for a row, a class in two
folders, an index of another width, an empty folder; a classes.csv that maps labels otherwise than the dataset
(audit_classes.py); and the decisions since the export that withdrew some of its images (export_since.py).

A folder holding a link, a pipe, a socket or a device (`not_plain_files`, which an export never writes) is said so and
read no further: log_head.txt and export_event.txt are covered by no sha256, so a link named so was read as the
export's own, and a pipe named images.csv held the command for good (the Audit page's download refuses the same).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import typer

from ganaug.cli.audit_classes import classes_csv_problems, dataset_class_names
from ganaug.cli.export_since import withdrawn_lines
from ganaug.cli.common import JSON, UserError, cli_errors, emit
from ganaug.cli.line_width import wrapped
from ganaug.shown_text import one_line
from ganaug_core.imageio import sha256_file
from ganaug_core.shown_text import utc_time

# What an export writes beside its class folders (ganaug/export.py); an image is `NNN_<class>/<row>_<source>.png`.
_EXPORT_FILES = ("manifest.csv", "images.csv", "classes.csv", "manifest.sha256", "log_head.txt", "export_event.txt")
_IMAGE = re.compile(r"(\d{3,})_[^/]*/(\d{6,})_(real|synthetic)\.png")
# The most bytes one of those files takes: a row of manifest.csv or images.csv is under 4 KiB (a path of the home,
# a class name of at most 255 bytes, a sha256), and the floor spares a folder whose images were deleted. Each is read
# whole: a 6 GB manifest.csv of zeros (6 MB in a zip, nothing on disk as a sparse file) took 6 GB for a traceback.
TEXT_FLOOR_BYTES, ROW_BYTES = 64 << 20, 4096


def manifest_rows(folder: Path) -> tuple[list[dict], str]:
    """manifest.csv's rows and its sha256; a folder without one is not an export (bad input)."""
    manifest = folder / "manifest.csv"
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder: give an export folder (`ganaug audit exports` lists them)")
    if manifest.is_dir():  # of the wrong kind, not missing (`not_plain_files` names a pipe or a link so named)
        raise UserError(f"{manifest} is a folder, where an export writes its manifest file: this is not an export "
                        "folder of ganaug as it was written")
    if not manifest.is_file():
        raise UserError(f"{folder} holds no manifest.csv, so it is not an export folder of ganaug")
    data = manifest.read_bytes()
    try:
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error):
        rows = None
    if rows is None or (rows and not {"path", "sha256", "class_index", "source"} <= set(rows[0])):
        raise UserError(f"{folder / 'manifest.csv'} is not a manifest of ganaug (its columns are not path, sha256, "
                        "class_index, source, batch_id, event_id)")
    return rows, hashlib.sha256(data).hexdigest()


def not_plain_files(folder: Path) -> list[str]:
    """Each link, pipe, socket or device in the folder, which an export never writes, one line each. Shared with the
    Audit page's download (pages/export_download.py), where a link named log_head.txt put whatever it pointed to (the
    home's database) in the zip."""
    return [f"{p.relative_to(folder).as_posix()}: {'a link' if p.is_symlink() else 'not a plain file'}, which an "
            "export never writes"
            for p in sorted(folder.rglob("*")) if p.is_symlink() or not (p.is_file() or p.is_dir())]


def oversized_files(folder: Path) -> list[str]:
    """Each file of `_EXPORT_FILES` larger than an export writes it for the folder's images, one line each: read no
    further. Shared with the Audit page's download (pages/export_download.py), like `not_plain_files`."""
    images = sum(1 for p in folder.rglob("*.png"))
    limit = TEXT_FLOOR_BYTES + ROW_BYTES * images
    sizes = {name: (folder / name).stat().st_size for name in _EXPORT_FILES if (folder / name).is_file()}
    return [f"{name}: {size:,} bytes, more than an export writes beside {images:,} image{'s' * (images != 1)} "
            f"(at most {limit:,}): not read" for name, size in sizes.items() if size > limit]


def image_problems(folder: Path, rows: list[dict]) -> list[str]:
    """Each image of the folder that is missing, differs from its manifest row, or has no row; each file or folder
    the export did not write; in row order."""
    found: dict[tuple[int, str, str], Path] = {}  # (row, class index, source) → file
    problems = _images_csv_problems(folder, rows)
    for path in sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(folder).as_posix()
        m = _IMAGE.fullmatch(rel)
        key = (int(m[2]), str(int(m[1])), m[3]) if m else None
        # A row's name as the export writes it, and one file per row: `0000866_synthetic.png` beside
        # `000866_synthetic.png` was read as row 866 too, and the one sorted first was never looked at, though an
        # ImageFolder reader trains on both.
        if m and path.is_file() and not path.is_symlink() and m[2] == f"{key[0]:06d}" and key not in found:
            found[key] = path
        elif rel not in _EXPORT_FILES:
            problems.append(f"{rel}: not an image of manifest.csv (added after the export)")
    problems += _class_folder_problems(folder, found.values())
    for row, entry in enumerate(rows):
        key = (row, entry["class_index"], entry["source"])  # an edited row that names no file finds none
        path = found.pop(key, None)
        if path is None:
            problems.append(f"row {row} ({entry['source']}, class {entry['class_index']}): its image "
                            f"NNN_*/{row:06d}_{entry['source']}.png is missing")
        elif (digest := sha256_file(path)) != entry["sha256"]:
            problems.append(f"{path.relative_to(folder).as_posix()}: sha256 {digest}, but manifest.csv row {row} "
                            f"records {entry['sha256']} ({entry['path']}): the image was changed or swapped")
    problems += [f"{p.relative_to(folder).as_posix()}: no row {r} of manifest.csv names it (added after the export)"
                 for (r, _, _), p in sorted(found.items())]
    return problems


def _class_folder_problems(folder: Path, images) -> list[str]:
    """The class folders an ImageFolder reader would number otherwise than manifest.csv: a class in two folders
    (`008_8` and `008_x`: read as two classes, every later one shifted), an index written with more digits than the
    others' (`0009_9` sorts before `001_1`), and a folder that holds no image of the manifest (an empty `000_a` is
    a class of its own). Each image was checked against its row by the index alone, so a sample moved into such a
    folder passed while its label changed."""
    holding: dict[int, set[str]] = {}
    for path in images:
        name = path.relative_to(folder).parts[0]
        holding.setdefault(int(name.split("_", 1)[0]), set()).add(name)
    problems = [f"class {index} is in {len(names)} folders ({', '.join(sorted(names))}): an ImageFolder reader takes "
                "them for as many classes; the export wrote one (a folder was added after the export)"
                for index, names in sorted(holding.items()) if len(names) > 1]
    # The export pads every index to one width, at least 3 and that of the largest (`_class_folder`); until
    # 2026-12-07 it wrote each with 3 digits at least (`1000_x` beside `999_x`). Either way, all folders alike.
    usual = max(3, len(str(max(holding, default=0))))
    prefixes = [(index, name, name.split("_", 1)[0]) for index, names in holding.items() for name in sorted(names)]
    if not (all(p == f"{i:0{usual}d}" for i, _, p in prefixes) or all(p == f"{i:03d}" for i, _, p in prefixes)):
        problems += [f"{name}: its class index has {len(p)} digits, not {usual} as the export writes them, so it sorts "
                     "out of class order (renamed after the export)" for i, name, p in prefixes
                     if p != f"{i:0{usual}d}"]
    used = {name for names in holding.values() for name in names}
    problems += [f"{p.relative_to(folder).as_posix()}/: a folder that holds no image of manifest.csv, which an "
                 "ImageFolder reader counts as a class (added after the export)"
                 for p in sorted(folder.iterdir()) if p.is_dir() and not p.is_symlink() and p.name not in used]
    return problems


def _images_csv_problems(folder: Path, rows: list[dict]) -> list[str]:
    """images.csv (where the export wrote one) restates manifest.csv's rows for a training script: each of its rows
    must name the same image, class and batch as manifest.csv's. manifest.sha256 alone does not settle it: it lies in
    the folder and can be rewritten with images.csv, where manifest.csv's hash is in the decision log."""
    try:
        listed = list(csv.DictReader(io.StringIO((folder / "images.csv").read_text(encoding="utf-8"))))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        return [f"images.csv cannot be read ({e})"]
    if len(listed) != len(rows):
        return [f"images.csv lists {len(listed)} images, manifest.csv {len(rows)}: images.csv was edited"]
    keys = ("sha256", "class_index", "source", "batch_id")
    return [f"images.csv row {i} ({one.get('file')}) differs from manifest.csv row {i} in its "
            f"{', '.join(k for k in keys if one.get(k) != row.get(k))}: images.csv was edited"
            for i, (one, row) in enumerate(zip(listed, rows)) if any(one.get(k) != row.get(k) for k in keys)]


def checksum_problems(folder: Path) -> list[str]:
    """Each file that manifest.sha256 lists (manifest.csv, images.csv, classes.csv) whose bytes no longer have its
    sha256."""
    try:
        lines = (folder / "manifest.sha256").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ["manifest.sha256 is missing or unreadable"]
    problems = []
    for line in lines:
        digest, _, name = line.partition("  ")
        if name not in ("manifest.csv", "images.csv", "classes.csv"):
            problems.append(f"manifest.sha256 lists {name or line!r}, which an export does not write: it was edited")
        elif not (folder / name).is_file():
            problems.append(f"{name} is missing, though manifest.sha256 lists it")
        elif sha256_file(folder / name) != digest.lower():
            problems.append(f"{name} no longer has the sha256 manifest.sha256 gives it ({digest}): it was edited")
    return problems


def _own_event_problem(session, folder: Path) -> list[str]:
    """A signed export's export_event.txt names its own event: that event must still be in the log, unchanged (the
    log's newest event, deleted, leaves the chain and every earlier head intact).

    An export killed outright between placing its folder and committing its event (ganaug/export.py) leaves the
    same folder, naming an event the log never held. Only an event that links to the named one (its prev_hash) tells
    them apart: then it was in the log. Without one, a kill and the deletion of the log's newest event look alike, so
    both are said; "deleted or rewritten" alone read as tampering after a kill."""
    from sqlalchemy import select

    from db.models import Event

    try:
        event_id, digest = (folder / "export_event.txt").read_text().split()
        event_id = int(event_id)
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        return ["export_event.txt is not '<event id> <hash>': it was edited"]
    if session.scalar(select(Event.id).where(Event.id == event_id, Event.hash == digest.lower())) is not None:
        return []
    named = f"export_event.txt names event {event_id} (hash {digest}), the export's own record, which the decision log"
    after = session.scalar(select(Event.id).where(Event.prev_hash == digest.lower()))
    if after is not None:
        return [f"{named} no longer holds, though event {after} still links to it: it was deleted or rewritten"]
    return [f"{named} does not hold and no event links to: it was deleted or rewritten, or the export was killed "
            "outright before it was recorded (then `ganaug audit verify` passes, as it does after the log's newest "
            "event is deleted)"]


def _its_record(records: list[dict], folder: Path, head) -> dict | None:
    """This folder's export among those recorded with its manifest.csv (the same set exported twice, nothing decided
    between: the newest was taken, and the older folder's log_head.txt failed against it): the one export_event.txt
    names, else the one written to this folder, else the one gated on its log head, else the newest. A folder written
    unsigned (`_unsigned`) is only ever the record of its own path (its export_event.txt deleted since): the same set
    exported signed elsewhere is another folder, whose record it failed against ("log_head.txt says 7 events … but
    export event 6 recorded 5")."""
    try:
        own = int((folder / "export_event.txt").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        own = None
    if _unsigned(folder):
        return next((r for r in records if r["folder"] == str(folder)), None)
    for mine in (lambda r: r["id"] == own, lambda r: r["folder"] == str(folder),
                 lambda r: (r["log_head_events"], r["log_head"]) == head):
        if (found := next((r for r in records if mine(r)), None)) is not None:
            return found
    return records[0] if records else None


def _unsigned(folder: Path) -> bool:
    """Whether the folder has the layout of an export written without --user: images.csv, which every export writes
    since export_event.txt came (the same day), but no export_event.txt, which only a signed export writes."""
    return (folder / "images.csv").exists() and not (folder / "export_event.txt").exists()


def _log_head(folder: Path) -> tuple[int, str] | None:
    try:
        events, digest = (folder / "log_head.txt").read_text().split()
        return int(events), digest.lower()
    except (OSError, ValueError):
        return None


def _written_before_log_heads(folder: Path) -> bool:
    """Whether the folder has the layout of an export written before 2026-12-06: manifest.csv and manifest.sha256
    beside the class folders, nothing else (log_head.txt came on 2026-12-06; images.csv, export_event.txt and
    classes.csv later)."""
    later = ("log_head.txt", "images.csv", "export_event.txt", "classes.csv")
    return not any((folder / name).exists() for name in later)


def check_folder(folder: Path) -> dict:
    """Everything `audit folder` reports: the problems (none when the folder is as exported) and the record."""
    from sqlalchemy import select

    from db.audit import verify_chain
    from db.engine import session_scope
    from db.exports import list_exports, withdrawn_since
    from db.ingests import DIFFERS, real_images_standing
    from db.models import Event
    from db.replay import LogState

    folder = folder.resolve()
    if odd := not_plain_files(folder) or oversized_files(folder):  # nothing read through them, nor read whole
        return dict(folder=str(folder), ok=False, problems=odd, manifest_sha256=None, images=None, synthetic=None,
                    batches=[], export=None, log_head=None, withdrawn=[], written_before_log_heads=False)
    rows, digest = manifest_rows(folder)
    problems = checksum_problems(folder) + image_problems(folder, rows)
    head = _log_head(folder)
    log = LogState()
    synthetic = [(i, r["path"], r["sha256"], int(r["batch_id"])) for i, r in enumerate(rows)
                 if r["source"] == "synthetic" and (r["batch_id"] or "").isdigit()]
    with session_scope() as s:
        chain = verify_chain(s, visit=log.apply)  # the review replayed in the same read (`db.replay`)
        # What the review withdrew since: the folder still matches its record, but a model trained on it learned
        # from images no export admits now (until 2026-12-07 it said "ok" after its batch was revoked).
        withdrawn = withdrawn_since(s, synthetic, log) if chain.ok else []
        record = _its_record([r for r in list_exports(s, limit=10**9) if r["manifest_sha256"] == digest], folder, head)
        problems += classes_csv_problems(folder, rows, dataset_class_names(s, record, rows))
        problems += _own_event_problem(s, folder)
        head_found = head is not None and s.scalar(select(Event.id).where(Event.hash == head[1])) is not None
        if record is not None and real_images_standing(s, record["dataset_id"], log)[0] == DIFFERS:
            problems.append(f"the real images of dataset {record['dataset']!r} are not what the decision log recorded "
                            "(a row of real_images added, removed or changed, or its class names): this folder's real "
                            "images, or their classes' names, may not be the ingested ones; `ganaug audit verify` "
                            "names it")
    if not chain.ok:
        problems.insert(0, f"the decision log is broken ({chain.message}): no record of it can be trusted")
    if record is None and _unsigned(folder):
        problems.insert(0, "export_event.txt is missing: the set was exported unsigned (without --user), which records "
                           "no export, so nothing says who exported it or from which log head (or the file was "
                           "deleted); export it again with --user for a folder this command can check")
    elif record is None:
        problems.insert(0, f"manifest.csv (sha256 {digest}) is no recorded export's: it was edited since, or the "
                           "set was exported unsigned (without --user), or its export event was deleted, or the "
                           "export was killed outright before it was recorded")
    elif _unsigned(folder):  # this folder's own record: its export wrote export_event.txt
        problems.append(f"export_event.txt is missing, though export event {record['id']} wrote this folder: it was "
                        "deleted")
    older = head is None and _written_before_log_heads(folder)
    if older:
        # An upgraded home's untouched export failed for a file its version never wrote. A recorded export of the
        # same manifest.csv gives the head it was gated on (in the log, which verified); without one it is said why.
        if record is None:
            problems.append("log_head.txt is missing, as from every export written before 2026-12-06 (this folder "
                            "has their layout: no images.csv, export_event.txt or classes.csv either): export the set "
                            "again with --user for a folder this command can check")
    elif head is None:
        problems.append("log_head.txt is missing or not '<events> <hash>'")
    elif not head_found:
        problems.append(f"log_head.txt names head {head[1]} ({head[0]} events), which the decision log no longer "
                        f"holds: `ganaug audit verify --head \"{head[0]} {head[1]}\"` says how")
    elif record is not None and (record["log_head_events"], record["log_head"]) != head:
        problems.append(f"log_head.txt says {head[0]} events, head {head[1]}, but export event {record['id']} "
                        f"recorded {record['log_head_events']} events, head {record['log_head']}")
    batches = sorted({int(r["batch_id"]) for r in rows
                      if r["source"] == "synthetic" and (r["batch_id"] or "").isdigit()})
    # A decision appended by hand that breaks the review's rules (an approval of a rejected batch): the export was
    # recorded as any other, and its folder matches that record, so only the log's replay shows what it holds.
    problems += [f"batch {b}'s samples are in this folder, but {log.impossible[b]}" for b in batches
                 if b in log.impossible]
    problems += _lost_checkpoints(batches)
    problems += withdrawn_lines(folder, withdrawn, len(synthetic))  # last: what to do about it
    return dict(folder=str(folder), ok=not problems, problems=problems, manifest_sha256=digest, images=len(rows),
                synthetic=sum(r["source"] == "synthetic" for r in rows), batches=batches, export=record,
                log_head=None if head is None else dict(events=head[0], hash=head[1]), withdrawn=withdrawn,
                written_before_log_heads=older)


def _lost_checkpoints(batch_ids: list[int]) -> list[str]:
    """Each batch whose checkpoint (the file with the sha256 it recorded) is gone: its samples, in the folder still,
    can no longer be regenerated from (checkpoint, class, seed)."""
    from db.engine import session_scope
    from db.models import Batch
    from ganaug.reproduce import find_checkpoint
    from ganaug_core import paths

    with session_scope() as s:
        wanted = [(b.id, b.run_id, b.run.run_dir, b.run.checkpoint_path, b.checkpoint_sha256)
                  for b in map(s.get, [Batch] * len(batch_ids), batch_ids) if b is not None]
    found: dict[tuple[int, str], bool] = {}
    problems = []
    for batch_id, run_id, run_dir, latest, sha in wanted:
        if (run_id, sha) not in found:  # a checkpoint is hashed once, however many batches it made
            found[run_id, sha] = find_checkpoint(paths.resolve(run_dir), latest, sha) is not None
        if not found[run_id, sha]:
            problems.append(f"batch {batch_id}'s checkpoint (run {run_id}, sha256 {sha}) is no longer here: its "
                            f"samples cannot be regenerated (`ganaug audit reproduce {batch_id}`)")
    return problems


# Paragraphs as one string each: typer keeps a docstring's line breaks past its first paragraph.
FOLDER_HELP = (
    "Check an export folder against its manifest and the decision log; exit 1, with one line per problem, when it is "
    "not as exported or holds images the review withdrew since.\n\n"
    "Every image has the sha256 of its manifest.csv row and nothing was added (a link, pipe or device is named and "
    "the folder read no further), the CSVs have the sha256 in "
    "manifest.sha256, classes.csv gives the dataset's classes, manifest.csv is the one a signed export recorded (who, "
    "when, which log head) and that event is still in the log (export_event.txt), the log still holds the head in "
    "log_head.txt (a folder exported before 2026-12-06 has none, nor a record: a later export of the same set with "
    "--user stands for them), no batch of its synthetic images holds a decision that no ganaug command records (one "
    "written into the database by hand), its dataset's real images are still what its ingest recorded, and the "
    "checkpoints its synthetic images came from are still here.\n\n"
    "It also names each decision since the export that withdrew some of its synthetic images (a batch's approval "
    "revoked, a sample rejected or given a blocking tag): the folder is as exported, but a model trained on it "
    "learned from images the review no longer admits; export again and train on the new folder.\n\n"
    "Example: ganaug audit folder ~/gated-digits")


def audit_folder_cmd(
    folder: Path = typer.Argument(..., help="An export folder (`ganaug export --out`)"),
    as_json: bool = JSON,
) -> None:
    """`ganaug audit folder` (FOLDER_HELP)."""
    out = check_folder(folder)
    if out["problems"]:
        text = (f"FAILED: {len(out['problems'])} problem{'s' * (len(out['problems']) != 1)} with "
                f"{one_line(out['folder'])}:\n"
                + "\n".join(f"  {one_line(p)}" for p in out["problems"]))
    else:
        r = out["export"]
        batches = (f"from batch{'es' * (len(out['batches']) > 1)} {', '.join(map(str, out['batches']))}: "
                   "`ganaug audit reproduce B` regenerates them") if out["batches"] else "none"
        # An export written before 2026-12-06 was not recorded: the record is a later export of the same set.
        later = out["written_before_log_heads"] and r["folder"] != out["folder"]
        exported = "the same set was exported later" if later else "exported"
        # Wrapped at 80 columns, as `ganaug export` says the same record: the three lines were 228, 175 and 131
        # columns with a team share's path and a long name. The folder, the sha256 and the head stay whole, each
        # hash after its name on a line of its own (`grep 'head '` finds it with its hash, as in the export's output).
        folder, when = one_line(out["folder"]), utc_time(r["ts"])  # as every line for people gives a time
        text = (wrapped(f"ok: {folder} holds the {out['images']} images of its manifest.csv, byte for byte "
                        f"({out['synthetic']} synthetic, {batches})", whole=(folder,)) + "\n"
                + wrapped(f"{exported} as event {r['id']} by {one_line(r['actor'])} ({r['role']}) at {when}",
                          whole=(when,))
                + f"\nmanifest sha256 {out['manifest_sha256']}\n"
                + wrapped(f"gated on the log's first {r['log_head_events']} events, head {r['log_head']}, which the log "
                          "still holds", whole=(f"head {r['log_head']},",)))
    emit(out, as_json, text)
    if out["problems"]:
        raise typer.Exit(1)


def register(audit_app: typer.Typer) -> None:
    audit_app.command("folder", help=FOLDER_HELP)(cli_errors(audit_folder_cmd))
