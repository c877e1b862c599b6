"""Ingest a dataset into GANAUG_HOME and record it in the database — all of it or nothing.

The images are written into a staging folder; the dataset row, its image rows and the decision log's event that
records them (`db.ingests`) are inserted in one transaction; the staging folder is renamed into place just before
that transaction commits. Any failure removes the staging folder (or the renamed one) and rolls the rows back. A
staging folder left by an ingest that was killed outright (`kill -9`, out of memory) is removed by the next ingest
(`ganaug.held_folders`), and so is one killed in the instant between placing its folder and committing its rows
(`_left_by_a_killed_ingest`).

Removing a dataset nothing refers to (`remove_dataset`) runs the other way: its folder (and its feature extractor's,
under GANAUG_HOME/models) is renamed into a held `.removing-` folder just before the transaction that deletes its
rows commits; then what the database says decides (`_settle_removal`): rows gone, the folder is deleted; rows still
there (the commit failed, or the process was killed before it), the folders are renamed back. A removal killed
outright leaves its `.removing-` folder, which the next ingest, removal, `data list` or read of a missing dataset
folder settles the same way. So a kill leaves the dataset whole or nothing of it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from sqlalchemy.orm import Session

from db.datasets import (add_dataset, class_counts, dataset_references, delete_dataset, find_dataset, get_dataset,
                         identical_images, list_datasets, near_copy_images)
from db.engine import session_scope
from db.ingests import record_ingest, record_removal
from db.models import Dataset
from ganaug.held_folders import (NOT_RECORDED_WHY, UNCOMMITTED, HeldFolder, abandoned, mark_committed,
                                  mark_uncommitted, removed_if_left_by_a_kill, sweep_abandoned)
from ganaug_core import paths
from ganaug_core.datasets import DEMO_NAME, DatasetArrays, IngestOptions, IngestResult, ingest, load_arrays
from ganaug_core.errors import GanaugError
from ganaug_core.imbalance import DEFAULT_MINORITY_FRACTION, ImbalanceReport, imbalance_report
from ganaug_core.progress import ProgressCallback, no_progress

STAGING = ".staging-"  # the prefix of a folder being written under GANAUG_HOME/datasets
REMOVING = ".removing-"  # the prefix of a folder holding what a removal takes away, under GANAUG_HOME/datasets
RECORD = "removing.json"  # in a `.removing-` folder: which dataset its folders were


def validate_name(name: str) -> None:
    # A name with spaces at an end ('pets ', ' ') reads like another in every list and message: refused too.
    # The name is a folder's: 100 characters of Chinese are 300 bytes, past the 255 a file system allows ("File name
    # too long"), and bytes that are not UTF-8 cannot be stored as text (a traceback).
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise GanaugError(f"invalid dataset name {name!r}: it is not valid UTF-8 text") from None
    if (not name.strip() or name != name.strip() or len(name) > 100 or size > 200
            or any(ch in name for ch in "/\\\0") or name.startswith(".")):
        raise GanaugError(f"invalid dataset name {name!r}: use up to 100 characters (200 bytes of UTF-8), no slashes, "
                          "not starting with '.', no spaces at either end")
    # A control character (ESC, a line break) would drive the terminal of whoever lists the datasets, or split a line
    # of every list in two; a class's name, which the user may not be free to change, is shown escaped instead.
    control = next((ch for ch in name if unicodedata.category(ch) in ("Cc", "Zl", "Zp")), None)
    if control is not None:
        raise GanaugError(f"invalid dataset name {name!r}: it holds the control character {control!r}; choose a "
                          "name without control characters")


def ingest_dataset(
    source: str, name: str, options: IngestOptions, progress: ProgressCallback = no_progress,
    by: Optional[int] = None,
) -> tuple[Dataset, IngestResult]:
    """`by`: the admin's account that launched the ingest from the app, whom the log's event names
    (`db.ingests.record_ingest`); None from the command line."""
    validate_name(name)
    local = Path(source).expanduser()
    if source != DEMO_NAME and local.exists():
        source = str(local.resolve())  # provenance that does not depend on the directory ingest ran from
    root, final = _new_dataset_folder(name)
    held = HeldFolder.create(root, STAGING)
    staging = held.path / "data"  # `ingest` makes the folder it writes; the held one around it marks it as ours
    renamed = False
    placed: Optional[HeldFolder] = None
    try:
        result = ingest(source, staging, options, progress)
        placed = HeldFolder.hold(staging)  # through the rename until the commit: a living ingest's folder is not taken
        rel = paths.relative_to_home(final)
        # Immediate: the ingest's event (`db.ingests.record_ingest`) is appended to the log in this transaction.
        with _name_taken_is_bad_input(name), session_scope(immediate=True) as session:
            dataset = _add_ingested(session, result, name, source, rel, options.bit_depth)
            record_ingest(session, dataset, by)  # the digest of its real images' rows: what the gate will admit
            mark_uncommitted(staging)
            staging.rename(final)
            renamed = True
        mark_committed(final)
        return dataset, result
    except BaseException:
        if renamed:
            shutil.rmtree(final, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(held.path, ignore_errors=True)
        held.release()
        if placed is not None:
            placed.release()


def _new_dataset_folder(name: str) -> tuple[Path, Path]:
    """The datasets folder and the new dataset's folder in it, after refusing a name taken, in the database or on
    disk; what a killed ingest or removal left is settled first."""
    with session_scope() as session:
        if find_dataset(session, name) is not None:
            raise GanaugError(f"dataset {name!r} already exists; choose another --name")
    root = paths.datasets_dir()
    root.mkdir(parents=True, exist_ok=True)
    final = root / name
    settle_abandoned_removals()  # a removal killed before its commit: its folder goes back, under its name
    sweep_abandoned(root, STAGING)  # before any refusal: a killed ingest's staging folder goes whatever comes next
    if final.exists() and (other := _dataset_in(final)) is not None:
        raise GanaugError(f"--name {name!r}: this file system takes {final} for the folder of dataset {other!r} (as a "
                          "Mac's or Windows' does names that differ only in case); choose another --name")
    if final.exists() and not removed_if_left_by_a_kill(final, _left_by_a_killed_ingest):
        raise GanaugError(f"{final} already exists on disk but is not a recorded dataset ({NOT_RECORDED_WHY}); move "
                          "it away first")
    return root, final


def _add_ingested(session: Session, result: IngestResult, name: str, source: str, rel: str,
                  bit_depth: Optional[int]) -> Dataset:
    """The dataset's row and its real images' rows, their paths under `rel` (the dataset's folder in the home)."""
    rows = [
        dict(split=i.split, class_index=i.class_index, path=f"{rel}/{i.path}", sha256=i.sha256,
             source_path=i.source_path, near_set=i.near_set)
        for i in result.images
    ]
    return add_dataset(
        session,
        rows,
        name=name,
        source=source,
        path=rel,
        resolution=result.resolution,
        channels=result.channels,
        class_names=result.class_names,
        test_fraction=result.test_fraction,
        seed=result.seed,
        arrays_sha256=result.arrays_sha256,
        skipped=[list(s) for s in result.skipped],
        bit_depth=bit_depth,
    )


# What `ingest` writes in a dataset's folder besides arrays.npz: split/class/row.png (`ganaug_core.datasets._write`).
_INGESTED_PNG = re.compile(r"[a-z]+/\d{3,}/\d{6,}\.png")
_INGESTED_FOLDER = re.compile(r"[a-z]+(/\d{3,})?")


def _left_by_a_killed_ingest(folder: Path) -> bool:
    """Whether `folder` (GANAUG_HOME/datasets/NAME, which no living process holds) is what an ingest killed between
    placing its folder and committing its rows left (`removed_if_left_by_a_kill`): no dataset records it, and it
    holds nothing but what `ingest` writes. Asked while holding its lock, so an ingest that committed it and let go
    meanwhile is seen recorded."""
    if folder.is_symlink() or _dataset_in(folder) is not None:  # a link is never what an ingest placed
        return False
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink() or not (path.is_file() and (rel in ("arrays.npz", UNCOMMITTED)
                                                         or _INGESTED_PNG.fullmatch(rel))
                                     or path.is_dir() and _INGESTED_FOLDER.fullmatch(rel)):
            return False
    return True


def _dataset_in(folder: Path) -> Optional[str]:
    """The recorded dataset whose folder `folder` is, if any. Compared as folders, not only by name or path: on a
    Mac's or Windows' file system datasets/parts is datasets/Parts (and 'café' in either Unicode spelling one
    folder), and an ingest of 'parts' took the recorded dataset 'Parts' for a killed ingest's leftover and deleted
    its images."""
    from sqlalchemy import select

    with session_scope() as session:
        recorded = session.execute(select(Dataset.name, Dataset.path)).all()
    rel = paths.relative_to_home(folder)
    return next((name for name, path in recorded
                 if name == folder.name or path == rel or _same_folder(folder, paths.resolve(path))), None)


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # a recorded dataset whose folder is gone
        return False


@contextmanager
def _name_taken_is_bad_input(name: str):
    """Two ingests under one name at once: the name check passed for both; the loser's insert is refused by the
    unique name, which is bad input like any taken name, not a crash."""
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    try:
        yield
    except IntegrityError:
        with session_scope() as session:
            taken = session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None
        if not taken:
            raise
        raise GanaugError(f"dataset {name!r} already exists; choose another --name") from None


def dataset_report(name: str, minority_fraction: float = DEFAULT_MINORITY_FRACTION) -> ImbalanceReport:
    if not 0 < minority_fraction <= 1:
        raise GanaugError(f"--minority-fraction must be in (0, 1], got {minority_fraction}")
    with session_scope() as session:
        dataset = get_dataset(session, name)
        counts = class_counts(session, dataset.id)
        return imbalance_report(name, dataset.class_names, counts, minority_fraction)


def ingest_findings(name: str) -> dict:
    """What the ingest of `name` warned of, kept for whoever reads the dataset later: its identical images
    (`db.datasets.identical_images`), its near-copy sets (`near_copy_images`) and the files it left out, with why
    ([path, reason]); and the --bit-depth it was given (None: not given)."""
    with session_scope() as session:
        dataset = get_dataset(session, name)
        return dict(duplicates=identical_images(session, dataset.id),
                    near_copy_sets=near_copy_images(session, dataset.id),
                    skipped=[list(s) for s in dataset.skipped or []], bit_depth=dataset.bit_depth)


def all_datasets() -> list[Dataset]:
    with session_scope() as session:
        return list(list_datasets(session))


def missing_files(dataset: Dataset) -> Optional[str]:
    """What of the dataset's files is gone: "folder", "arrays" (its arrays.npz), or None when both are there."""
    folder = Path(paths.resolve(dataset.path))
    if not folder.is_dir():
        return "folder"
    return None if (folder / "arrays.npz").is_file() else "arrays"


def listed_datasets() -> list[tuple[Dataset, Optional[str], dict[str, list[int]]]]:
    """Every dataset with what of its files is missing (`missing_files`) and, for one with files missing, what names
    it (`dataset_references`: what `data remove` would refuse it over), after settling killed removals."""
    settle_abandoned_removals()
    listed = [(d, missing_files(d)) for d in all_datasets()]
    with session_scope() as session:  # only where files are missing: the list offers a removal there alone
        return [(d, missing, dataset_references(session, d) if missing else {}) for d, missing in listed]


# --- removing a dataset ------------------------------------------------------------------------------------------


# What refers to a dataset, in words: one of them, several of them (`db.datasets.dataset_references`'s kinds).
_REFERRING = {"runs": ("run", "runs"), "batches": ("batch", "batches"), "reports": ("report", "reports"),
              "events": ("the decision log's event", "the decision log's events"),
              "jobs": ("queued or running job", "queued or running jobs")}


def referring_words(refs: dict[str, list[int]]) -> list[str]:
    """Each kind of what refers to a dataset in words, "runs 1, 2", at most five ids of a kind."""
    parts = []
    for kind, (one, many) in _REFERRING.items():
        found = refs.get(kind)
        if found:
            more = f" and {len(found) - 5} more" if len(found) > 5 else ""
            parts.append(f"{many if len(found) > 1 else one} {', '.join(str(i) for i in found[:5])}{more}")
    return parts


def _in_use_message(name: str, refs: dict[str, list[int]]) -> str:
    return (f"dataset {name!r} is not removed: it is named by {'; '.join(referring_words(refs))} (runs, batches, "
            "reports and the decision log are kept for good, so only a dataset nothing was made from can be removed)")


def remove_dataset(name: str) -> dict:
    """Delete a dataset that nothing refers to (`db.datasets.dataset_references`): its rows and its finished jobs'
    (`db.datasets.delete_dataset`), its folder under GANAUG_HOME/datasets and its feature extractor's under
    GANAUG_HOME/models; the decision log records the removal (`db.ingests.record_removal`). Returns what was removed
    (`jobs`: the ids of the finished jobs deleted)."""
    from db.audit import lock_log
    from ganaug.disk import tree_bytes

    root = paths.datasets_dir()
    settle_abandoned_removals()
    held = HeldFolder.create(root, REMOVING)
    try:
        with _in_use_is_bad_input(name), session_scope(immediate=True) as session:
            lock_log(session)  # no decision is recorded meanwhile (an export of it, say)
            dataset = get_dataset(session, name)
            refs = dataset_references(session, dataset)
            if refs:
                raise GanaugError(_in_use_message(name, refs))
            record_removal(session, dataset)  # before its rows go: the digest says which images were removed
            images, jobs = delete_dataset(session, dataset)  # run now: a row still referring to it fails them,
            # before any folder moves
            folder = Path(paths.resolve(dataset.path))
            _take_away(held.path, dataset, folder, paths.models_dir() / name)
        # Sized once committed, not while holding the database's write lock: 100,000 files take a while to walk.
        return dict(dataset=name, images=images, jobs=jobs, folder=str(folder), freed_bytes=tree_bytes(held.path))
    finally:
        try:
            _settle_removal(held.path)
        except Exception:  # the database is unreachable, say: the next removal, ingest or `data list` settles it
            pass
        held.release()


@contextmanager
def _in_use_is_bad_input(name: str):
    """A run or report recorded on the dataset between the check and the delete: the foreign key refuses the
    delete (SQLite's enforced by `PRAGMA foreign_keys`, PostgreSQL's always), which is the same refusal."""
    from sqlalchemy.exc import IntegrityError

    try:
        yield
    except IntegrityError:
        raise GanaugError(f"dataset {name!r} is not removed: something was just made from it (a run, a batch or a "
                          "report); `ganaug data remove` refuses a dataset in use") from None


def _take_away(trash: Path, dataset: Dataset, folder: Path, models: Path) -> None:
    """Rename the dataset's folder (and its models folder) into `trash`, beside a record of whose they are. A folder
    that is not directly under GANAUG_HOME/datasets (a path recorded by hand) is left where it is."""
    (trash / RECORD).write_text(json.dumps({"name": dataset.name, "id": dataset.id}))
    if folder.parent.resolve() == paths.datasets_dir().resolve() and (folder.exists() or folder.is_symlink()):
        os.rename(folder, trash / "dataset")
    if models.is_dir():
        os.rename(models, trash / "models")


def _still_recorded(record: dict) -> bool:
    with session_scope() as session:
        dataset = find_dataset(session, record["name"])
        return dataset is not None and dataset.id == record["id"]


def _settle_removal(trash: Path) -> None:
    """Finish or undo the removal that `trash` holds, as the database says (the module's docstring)."""
    try:
        record = json.loads((trash / RECORD).read_text())
    except (OSError, ValueError):  # the record is written before anything moves: nothing was moved
        record = None
    if record is not None and _still_recorded(record):
        for part, home in (("dataset", paths.datasets_dir()), ("models", paths.models_dir())):
            taken = trash / part
            if taken.exists() or taken.is_symlink():
                try:
                    os.rename(taken, home / record["name"])
                except OSError:  # models rebuilt meanwhile (`evaluate features`): the new ones stay
                    pass
    shutil.rmtree(trash, ignore_errors=True)


def settle_abandoned_removals() -> None:
    """Settle the `.removing-` folders whose removal died (`_settle_removal`)."""
    root = paths.datasets_dir()
    if not root.is_dir():
        return
    for path in sorted(root.iterdir()):
        if not path.name.startswith(REMOVING) or not re.fullmatch(r"[0-9a-f]{32}", path.name[len(REMOVING):]):
            continue
        with abandoned(path) as gone:
            if gone:
                _settle_removal(path)


def dataset_arrays(name: str) -> tuple[Dataset, DatasetArrays]:
    """The dataset's row and its pixels (checked against the sha256 recorded at ingestion)."""
    dataset, folder = verified_dataset(name)
    return dataset, load_arrays(folder, dataset.class_names)


def verified_dataset(name: str) -> tuple[Dataset, Path]:
    """The dataset's row and its folder, once its arrays.npz matches the sha256 recorded at ingestion (read it with
    `load_arrays`, or a split of it with `ganaug_core.datasets.load_split`)."""
    from ganaug_core.imageio import sha256_file

    with session_scope() as session:
        dataset = get_dataset(session, name)
    folder = Path(paths.resolve(dataset.path))
    arrays_path = folder / "arrays.npz"
    if not folder.is_dir():
        settle_abandoned_removals()  # a removal killed before its commit took it away: it comes back
    if not folder.is_dir():  # said apart: "missing or does not match" left the user to find out which
        raise GanaugError(f"dataset {name!r}: its folder {folder} is gone (deleted or moved?): put it back, or ingest "
                          f"the source again under another --name (is GANAUG_HOME the folder it was ingested into?)")
    if not arrays_path.is_file():
        raise GanaugError(f"dataset {name!r}: {arrays_path} is missing: put it back, or ingest the source again under "
                          "another --name")
    if sha256_file(arrays_path) != dataset.arrays_sha256:
        raise GanaugError(f"dataset {name!r}: {arrays_path} does not match the sha256 recorded at ingestion (changed "
                          "since?): put the ingested file back, or ingest the source again under another --name")
    return dataset, folder
