"""Export the gated training set as an ImageFolder with `manifest.csv` and its sha256.

Layout of OUT: `<class index>_<class name>/<row>_<source>.png` (row = 0-based line of manifest.csv below its
header), `manifest.csv` (exactly the gate's manifest: its sha256 *is* the manifest hash; its paths are the sources'
under GANAUG_HOME), `images.csv` (the same rows with each file's path in OUT, its class name and a sample's run,
checkpoint and seed: what a training script on another machine reads), `classes.csv` (every class of the dataset, those
with no image in the set too: its index, name, folder and counts), `manifest.sha256` (the three CSVs' sha256, in
`sha256sum -c` format), `log_head.txt` (the number of events and the head hash of the verified decision log the set
was gated on, for `ganaug audit verify --head`) and, for a signed export, `export_event.txt` (its own event's id and
hash). The folder, its class folders and its files are their owner's only (0700, 0600). It is assembled beside OUT
and renamed into place at the end, so an interrupted export leaves nothing at OUT; one killed outright (`kill -9`)
leaves its hidden `.OUT.partial-*` folder, which the next export to OUT removes; an OUT that is a mount point cannot
be renamed over, and is refused first, as is an export its disk has no room for (`_check_room`).

An export by a signed-in account is recorded in the decision log (`db.exports`), in the same transaction as the
rename: the event is written, the folder renamed into place, then the transaction committed, and a commit that fails
takes the folder back out of place. So a failed export records nothing, and a recorded export's folder was complete;
only a process killed outright in the instant between the rename and the commit leaves a folder with no record. The
next export to that OUT is refused, saying so (`_unrecorded_export`): the folder is not removed, since a decision log
whose newest event was deleted leaves the same. Signed or not, an export during which a colleague withdrew one of its
samples (a revocation, a rejection, a blocking tag) is refused before its folder is placed (`db.exports`).
`folder_check` tells whether a recorded export's folder still holds the manifest it was recorded with. The class
folders' names and the CSVs for a training script are made in export_files.py.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Optional

from PIL import Image
from sqlalchemy import select

from db.datasets import get_dataset
from db.engine import session_scope
from db.exports import changes_since, list_exports, record_export, refuse_if_withdrawn
from db.gate import GatedSet, ManifestEntry, file_sha256s, gated_training_set
from db.ingests import DIFFERS
from db.models import Batch, Event, User
from db.users import require_user
from ganaug.disk import human
from ganaug.export_files import class_folder, classes_csv, images_csv, spreadsheet_text
from ganaug.held_folders import HeldFolder, abandoned, sweep_abandoned
from ganaug_core import paths
from ganaug_core.errors import GanaugError
from ganaug_core.imbalance import some_names
from ganaug_core.progress import Progress, ProgressCallback, no_progress
from ganaug_core.shown_text import utc_time

# What others import from here; spreadsheet_text lives in export_files.py (pages/tables.py imports it from here).
__all__ = ["empty_classes", "empty_classes_warning", "export_gated_set", "folder_check", "gated_set", "imbalance",
           "spreadsheet_text"]


def gated_set(dataset: str, synthetic_ratio: float = 1.0) -> GatedSet:
    with session_scope(snapshot=True) as session:  # the log and the state tables of one moment (`gated_training_set`)
        return gated_training_set(session, dataset, synthetic_ratio, home=paths.home())


def _check_side(entry: ManifestEntry, png: bytes, side: int, dataset: str) -> None:
    """Every exported image has the dataset's side: one ImageFolder, one size. Samples are stored at it; a batch
    generated before that (at its generator's smaller side, before 2026-12-03) is refused rather than resized behind
    its hash, with the two commands that replace it."""
    with Image.open(io.BytesIO(png), formats=("PNG",)) as im:
        size = im.size
    if size == (side, side):
        return
    with session_scope() as session:
        batch = session.get(Batch, entry.batch_id)
        run_id, n = batch.run_id, batch.count
    raise GanaugError(
        f"batch {entry.batch_id} (class {entry.class_index}) holds {size[0]}×{size[1]} samples but dataset {dataset!r} "
        f"holds {side}×{side} images: it was generated before samples were stored at the dataset's size; take it out "
        f"with `ganaug review revoke {entry.batch_id} --reason \"stored below the dataset's size\"`, then replace it "
        f"with `ganaug generate --run {run_id} --class {entry.class_index} --n {n}` and review the new batch")


EVENT_FILE = "export_event.txt"  # a signed export's own event in the decision log: "<id> <hash>"


def imbalance(counts: dict) -> dict:
    """Largest/smallest class of the set, in real images ("before") and in all its images ("after"): how imbalanced
    the result still is. Over the classes the set holds; None for a set with none."""
    real = [v["real"] for v in counts.values() if v["real"]]
    total = [v["real"] + v["synthetic"] for v in counts.values() if v["real"]]
    if not real:
        return dict(before=None, after=None)
    return dict(before=round(max(real) / min(real), 2), after=round(max(total) / min(total), 2))


def _move_into_place(staging: Path, out: Path) -> None:
    if out.exists():
        out.rmdir()
    staging.rename(out)


def _publish(staging: Path, out: Path, summary: dict, exporter: Optional[User]) -> Optional[dict]:
    """Rename the complete folder into place and, for an `exporter`, record the export: the event first, the rename,
    then the commit; a failed commit puts the folder back at `staging` (for the caller to remove). The event as a
    dict, or None when nobody signed the export. Signed or not, a colleague's decision since the gating that withdrew
    one of its samples refuses it (`db.exports`)."""
    placed = committed = False
    recorded = None
    try:
        with session_scope(immediate=True) as session:
            if exporter is None:
                refuse_if_withdrawn(session, summary)
            else:
                event = record_export(session, exporter, summary)
                recorded = dict(id=event.id, hash=event.hash, actor=event.actor, role=event.role, ts=event.ts)
                # The folder names its own record: log_head.txt is the head before it, so deleting the log's newest
                # event, this one, would leave every head it names intact (`ganaug audit folder` reads this).
                _write_private(staging / EVENT_FILE, f"{event.id} {event.hash}\n".encode())
            _move_into_place(staging, out)
            placed = True
        committed = True
    finally:
        if placed and not committed:  # the record (or the check's lock) is not there: neither may the folder be
            try:
                out.rename(staging)
            except OSError:
                shutil.rmtree(out, ignore_errors=True)
    return recorded


def export_gated_set(dataset: str, out: Path, synthetic_ratio: float = 1.0,
                     progress: ProgressCallback = no_progress, exporter: Optional[User] = None) -> dict:
    """Write the gated set to `out`; with an `exporter` (an authenticated account), record the export in the decision
    log under their name. The summary's "event" is that record, or None."""
    out = Path(out).resolve()
    _check_out(out)
    with session_scope() as session:
        if exporter is not None:  # a disabled account finds out before the images are copied, not after
            require_user(session, exporter, action="export training sets")
        row = get_dataset(session, dataset)
        class_names, side = list(row.class_names), row.resolution
        previous = next(iter(list_exports(session, dataset, limit=1)), None)  # what this one is compared with
    gated = gated_set(dataset, synthetic_ratio)
    if gated.real_images.get("standing") == DIFFERS:
        # Every real image left out, and so every synthetic one (the ratio caps them per real image): an export of
        # nothing, or of what a tampered table lets through, is no training set to hand on.
        raise GanaugError(f"the real images of dataset {dataset!r} are not what the decision log recorded (a row of "
                          "real_images added, removed or changed, or its class names): nothing was exported; `ganaug "
                          "audit verify` names it, and a backup of the database from before restores it")
    held = _staging_folder(out, gated.entries)
    staging = held.path
    digits = max(3, len(str(len(class_names) - 1)))
    try:
        _write_set(staging, gated, class_names, side, digits, progress)
        summary = _summary(gated, out, class_names, previous)
        summary["event"] = _publish(staging, out, summary, exporter)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        if e.filename is not None and not str(e.filename).startswith((str(staging), str(out))):
            raise  # a source image under GANAUG_HOME, named by its own path
        # A full disk, a file system turned read-only: said of --out, not of a hidden staging file, or of none.
        raise GanaugError(f"--out {out}: {e.strerror or e} while writing the export; nothing was written") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        held.release()
    return summary


def _check_out(out: Path) -> None:
    """Refuse an --out that is not a new or empty folder of the user's own that can be renamed over."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        event_id = _unrecorded_export(out)
        if event_id is not None:
            raise GanaugError(
                f"--out {out} holds an export that was never recorded: its {EVENT_FILE} names event {event_id}, which "
                "the decision log does not hold (an export killed outright between placing its folder and recording "
                f"its event leaves one; `ganaug audit folder {out}` says more). It is not removed, since the log's "
                "newest event deleted leaves the same: move it away or choose another --out")
        if (earlier := _earlier_export(out)) is not None:  # it read "not an empty folder": merged? replaced?
            raise GanaugError(f"--out {out} holds an earlier export ({earlier}): an export is never merged into "
                              "another or written over it; give a new folder")  # said on the Audit page too
        raise GanaugError(f"{out} already exists and is not an empty folder; choose another --out")
    if (managed := paths.managed_by_home(out)) is not None:
        raise GanaugError(f"--out {out} lies in {managed}, which ganaug writes itself; export to a folder of your "
                          f"own, e.g. --out {paths.home_path() / 'gated'}")
    if out.is_mount():  # it cannot be renamed over: found at the end, after every image was copied beside it
        raise GanaugError(f"--out {out} is a mount point: the export is assembled beside its folder and renamed into "
                          f"place; give a new folder inside it, e.g. --out {out / 'gated'}")


def _staging_folder(out: Path, entries: list[ManifestEntry]) -> HeldFolder:
    """The hidden folder beside `out` that the export is assembled in, once the disk is known to have room."""
    paths.writable_folder(out.parent, f"--out {out}", create=True)
    partial = f".{out.name}.partial-"
    try:
        sweep_abandoned(out.parent, partial)  # what an export to OUT killed outright (`kill -9`) left
        _check_room(out, entries)
        return HeldFolder.create(out.parent, partial)
    except OSError as e:  # root passes os.access everywhere, /proc included
        raise GanaugError(f"--out {out}: cannot create a folder in {out.parent} ({e.strerror or e})") from None


def _summary(gated: GatedSet, out: Path, class_names: list[str], previous: Optional[dict]) -> dict:
    """What the export says of itself (and records): the gated set's summary, where it went, its batches, what
    changed since the `previous` export, its empty classes and its imbalance."""
    summary = {**gated.summary(), "out": str(out), "in_home": _in_home(out)}
    summary["batches"] = batch_counts(gated.entries)
    summary["since_previous"] = None if previous is None else changes_since(
        previous, summary, _moved_since(previous, gated.entries))
    summary["empty_classes"] = empty_classes(class_names, summary["counts"])
    summary["imbalance"] = imbalance(summary["counts"])
    return summary


# Left free beyond the export's own bytes on the home's disk: the database's WAL, a colleague's batch, a log written
# meanwhile.
SPARE_BYTES = 64_000_000
CSV_ROW_BYTES = 512  # manifest.csv, images.csv and classes.csv take about 300 bytes per image together


def _check_room(out: Path, entries: list[ManifestEntry]) -> None:
    """Refuse, before anything is copied, an export that its disk has no room for: copied to the last image, it
    failed only then (ENOSPC), after minutes of copying, and said neither how much it needed nor how much was free.
    Each image takes whole blocks (an 8×8 PNG of 100 bytes takes 4 kB), counted as the file system allots them."""
    try:
        stat = os.statvfs(out.parent)
    except OSError:
        return  # no answer: the copy still stops on a full disk, saying so (below)
    if not stat.f_blocks:
        return  # a file system of no size (/proc): creating the folder there says what is wrong
    block = stat.f_frsize or 4096
    home = paths.home()
    try:  # the spare is for the home's own writes: a USB stick with 50 MB free takes a 1 MB export
        spare = SPARE_BYTES if os.stat(out.parent).st_dev == os.stat(home).st_dev else 0
    except OSError:
        spare = SPARE_BYTES
    needed = spare + CSV_ROW_BYTES * len(entries)
    for entry in entries:
        try:
            needed += -(-(home / entry.path).stat().st_size // block) * block
        except OSError:
            pass  # a missing source is named by the copy itself
    free = stat.f_bavail * stat.f_frsize  # what an account that is not root may still write (`shutil.disk_usage`)
    if needed > free:
        raise GanaugError(f"--out {out}: its disk has {human(free)} free, and this export of {len(entries):,} images "
                          f"needs about {human(needed)}" + (f", {human(spare)} to spare included" if spare else "")
                          + "; nothing was written: free space on that disk or choose an --out on another one")


def batch_counts(entries: list[ManifestEntry]) -> dict[str, int]:
    """Batch id → its samples in the set: recorded with the export, so that the next one can say which batches came
    and went (`db.exports.changes_since`)."""
    counts: dict[str, int] = {}
    for e in entries:
        if e.source == "synthetic":
            counts[str(e.batch_id)] = counts.get(str(e.batch_id), 0) + 1
    return counts


def _moved_since(previous: dict, entries: list[ManifestEntry]) -> Optional[dict]:
    """The images per batch (or "real") that a previous export's folder holds and `entries` do not ("removed"), and
    the other way round ("added"); None when that folder is not here with the manifest.csv it was recorded with."""
    try:
        data = (Path(previous["folder"] or "") / "manifest.csv").read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != previous["manifest_sha256"]:
        return None
    before = {(r["path"], r["sha256"], r["batch_id"] or "real") for r in csv.DictReader(io.StringIO(data.decode()))}
    after = {(e.path, e.sha256, str(e.batch_id) if e.batch_id is not None else "real") for e in entries}
    moved: dict = {"added": {}, "removed": {}}
    for side, keys in (("added", after - before), ("removed", before - after)):
        counts = Counter(batch for _, _, batch in keys)
        # The real images first, then the batches in order: a set's order changes with each process's hash seed, and
        # `export --json` gave the same export's batches in another order each run.
        moved[side] = {b: counts[b] for b in sorted(counts, key=lambda b: (b != "real", int(b) if b != "real" else 0))}
    return moved


def _in_home(out: Path) -> Optional[str]:
    """`out` relative to the home when it lies inside it (as the Audit page's exports do), else None: recorded so
    that the export is still found once the home is restored or moved to another path."""
    try:
        return out.relative_to(paths.home_path()).as_posix()
    except ValueError:
        return None


def _earlier_export(out: Path) -> Optional[str]:
    """Which export the folder at `out` holds, in words ("event 7 by ada at 2026-12-07 11:11:34 UTC", or that the
    log records none: unsigned or edited), or None when it holds no manifest.csv."""
    try:
        digest = hashlib.sha256((out / "manifest.csv").read_bytes()).hexdigest()
    except OSError:
        return None
    with session_scope() as session:
        records = [r for r in list_exports(session, limit=10**9) if r["manifest_sha256"] == digest]
    # The same set exported to two folders has two records: this folder's, where one names it.
    record = next((r for r in records if r["folder"] == str(out)), records[0] if records else None)
    if record is None:
        return "unsigned, or edited since: no export the decision log records"
    return f"event {record['id']} by {record['actor']} at {utc_time(record['ts'])}"


def _unrecorded_export(out: Path) -> Optional[int]:
    """The event a signed export's folder at `out` names (its EVENT_FILE) when the decision log does not hold it and
    no living export holds the folder (its lock follows it through the rename to the commit); else None."""
    try:
        event_id, digest = (out / EVENT_FILE).read_text().split()
        event_id = int(event_id)
    except (OSError, ValueError):
        return None
    with abandoned(out) as gone:
        if not gone:
            return None
        with session_scope() as session:
            recorded = session.scalar(select(Event.id).where(Event.id == event_id, Event.hash == digest.lower()))
    return None if recorded is not None else event_id


def _write_set(staging: Path, gated: GatedSet, class_names: list[str], side: int, digits: int,
               progress: ProgressCallback) -> None:
    """Every image of `gated` into its class folder under `staging`, each checked against its sha256, then
    manifest.csv, images.csv, classes.csv, manifest.sha256 and log_head.txt."""
    home, dataset = paths.home(), gated.dataset
    rows = []
    total = len(gated.entries)
    for row, entry in enumerate(gated.entries):
        data = (home / entry.path).read_bytes()
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            raise GanaugError(f"{entry.path} changed while exporting; run the export again")
        if entry.source == "synthetic":
            _check_side(entry, data, side, dataset)
        name = class_names[entry.class_index] if entry.class_index < len(class_names) else str(entry.class_index)
        file = f"{class_folder(entry.class_index, name, digits)}/{row:06d}_{entry.source}.png"
        target = staging / file
        target.parent.mkdir(mode=0o700, exist_ok=True)
        _write_private(target, data)
        rows.append((file, entry, name))
        if row % 500 == 0 or row == total - 1:
            progress(Progress("export", row + 1, total))
    _write_private(staging / "manifest.csv", gated.manifest_csv())
    images = images_csv(rows)
    _write_private(staging / "images.csv", images)
    classes = classes_csv(class_names, rows, digits)
    _write_private(staging / "classes.csv", classes)
    _write_private(staging / "manifest.sha256", (f"{gated.manifest_sha256}  manifest.csv\n"
                                                 f"{hashlib.sha256(images).hexdigest()}  images.csv\n"
                                                 f"{hashlib.sha256(classes).hexdigest()}  classes.csv\n").encode())
    head = gated.log_head
    _write_private(staging / "log_head.txt", f"{head['events']} {head['hash']}\n".encode())


def _write_private(path: Path, data: bytes) -> None:
    """A new file of the export, its owner's only (0600), as its class folder (0700) and the export folder itself
    (HeldFolder) are: written with the umask's 0644 and 0755, a class folder moved or copied out of the private
    export folder showed its images, patients' perhaps, to every account of the machine. Sharing takes `chmod -R`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "wb") as f:
        f.write(data)


def empty_classes(class_names: list[str], counts: dict) -> list[str]:
    """The classes with no image in an export, which therefore have no folder (an .npz may hold a class in its test
    split alone)."""
    return [name for i, name in enumerate(class_names)
            if not sum((counts.get(str(i)) or {}).values())]


def empty_classes_warning(names: list[str]) -> Optional[str]:
    """Said of an export with empty classes: a reader that numbers classes by their folders (torchvision's
    ImageFolder) numbers every later class one lower than its folder's NNN_ prefix and manifest.csv say."""
    if not names:
        return None
    many = len(names) > 1
    return (f"class{'es' * many} {some_names(names)} {'have' if many else 'has'} no image in this set, so no folder: "
            "a reader that numbers classes by their folders (torchvision's ImageFolder) gives each later class an "
            "index below its folder's NNN_ prefix and manifest.csv's class_index; map classes by that prefix")


def folder_check(folder: Optional[str], manifest_sha256: Optional[str]) -> str:
    """Whether a recorded export's folder is still here with the manifest it was recorded with: "matches",
    "changed" (its manifest.csv hashes to something else, or is a pipe, a folder or a broken link in the file's
    place) or "not found" (no folder or no manifest.csv here). Hashed through the gate's cache, so the Audit page's
    reruns do not read every listed manifest again."""
    if not folder:
        return "not found"
    manifest = Path(folder) / "manifest.csv"
    digest = file_sha256s([str(manifest)])[0]
    if digest is None:
        # Something of the wrong kind holds the name: the folder is here but not as exported, which `audit folder`
        # names ("manifest.csv: not a plain file"); "not found" had the list and the download pass it over.
        return "changed" if os.path.lexists(manifest) and not manifest.is_file() else "not found"
    return "matches" if digest == manifest_sha256 else "changed"
