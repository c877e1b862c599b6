"""Ingest a dataset into GANAUG_HOME and record it in the database — all of it or nothing.

The images are written into a staging folder; the dataset row and its image rows are inserted in one
transaction; the staging folder is renamed into place just before that transaction commits. Any failure
removes the staging folder (or the renamed one) and rolls the rows back. A staging folder left by an ingest that
was killed outright (`kill -9`, out of memory) is removed by the next ingest (`ganaug.held_folders`).
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

from db.datasets import add_dataset, class_counts, find_dataset, get_dataset, list_datasets
from db.engine import session_scope
from db.models import Dataset
from ganaug.held_folders import HeldFolder, sweep_abandoned
from ganaug_core import paths
from ganaug_core.datasets import DEMO_NAME, DatasetArrays, IngestOptions, IngestResult, ingest, load_arrays
from ganaug_core.errors import GanaugError
from ganaug_core.imbalance import DEFAULT_MINORITY_FRACTION, ImbalanceReport, imbalance_report
from ganaug_core.progress import ProgressCallback, no_progress

STAGING = ".staging-"  # the prefix of a folder being written under GANAUG_HOME/datasets


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


def ingest_dataset(
    source: str, name: str, options: IngestOptions, progress: ProgressCallback = no_progress
) -> tuple[Dataset, IngestResult]:
    validate_name(name)
    local = Path(source).expanduser()
    if source != DEMO_NAME and local.exists():
        source = str(local.resolve())  # provenance that does not depend on the directory ingest ran from
    with session_scope() as session:
        if find_dataset(session, name) is not None:
            raise GanaugError(f"dataset {name!r} already exists; choose another --name")
    root = paths.datasets_dir()
    root.mkdir(parents=True, exist_ok=True)
    final = root / name
    if final.exists():
        raise GanaugError(f"{final} already exists on disk but is not a recorded dataset; move it away first")
    sweep_abandoned(root, STAGING)
    held = HeldFolder.create(root, STAGING)
    staging = held.path / "data"  # `ingest` makes the folder it writes; the held one around it marks it as ours
    renamed = False
    try:
        result = ingest(source, staging, options, progress)
        rel = paths.relative_to_home(final)
        rows = [
            dict(split=i.split, class_index=i.class_index, path=f"{rel}/{i.path}", sha256=i.sha256, source_path=i.source_path)
            for i in result.images
        ]
        with _name_taken_is_bad_input(name), session_scope() as session:
            dataset = add_dataset(
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
            )
            staging.rename(final)
            renamed = True
        return dataset, result
    except BaseException:
        if renamed:
            shutil.rmtree(final, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(held.path, ignore_errors=True)
        held.release()


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


def all_datasets() -> list[Dataset]:
    with session_scope() as session:
        return list(list_datasets(session))


def dataset_arrays(name: str) -> tuple[Dataset, DatasetArrays]:
    """The dataset's row and its pixels (checked against the sha256 recorded at ingestion)."""
    from ganaug_core.imageio import sha256_file

    with session_scope() as session:
        dataset = get_dataset(session, name)
    folder = Path(paths.resolve(dataset.path))
    arrays_path = folder / "arrays.npz"
    if not folder.is_dir():  # said apart: "missing or does not match" left the user to find out which
        raise GanaugError(f"dataset {name!r}: its folder {folder} is gone (deleted or moved?): put it back, or ingest "
                          f"the source again under another --name (is GANAUG_HOME the folder it was ingested into?)")
    if not arrays_path.is_file():
        raise GanaugError(f"dataset {name!r}: {arrays_path} is missing: put it back, or ingest the source again under "
                          "another --name")
    if sha256_file(arrays_path) != dataset.arrays_sha256:
        raise GanaugError(f"dataset {name!r}: {arrays_path} does not match the sha256 recorded at ingestion (changed "
                          "since?): put the ingested file back, or ingest the source again under another --name")
    return dataset, load_arrays(folder, dataset.class_names)
