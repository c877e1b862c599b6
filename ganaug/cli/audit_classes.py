"""`ganaug audit folder`'s check of an export's classes.csv, the one file a training script sizes its output layer by
and maps labels with: every line must give the class's name in the dataset, the folder its images lie in and the
counts of manifest.csv. manifest.sha256 alone does not settle it: it lies in the folder and can be rewritten with it,
and two names swapped there train every image of the two classes under the other's label. An export written before
2026-12-07 has no classes.csv; that is no problem."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import NamedTuple, Optional


class _Row(NamedTuple):  # what `ganaug.export_files.classes_csv` reads of a manifest entry
    class_index: int
    source: str


def dataset_class_names(session, record: Optional[dict], rows: list[dict]) -> Optional[list[str]]:
    """The class names of the dataset the export came from: its record's, else that of its first image's row (an
    unsigned export has no record); None when neither is found here."""
    from sqlalchemy import select

    from db.models import Batch, Dataset, RealImage, Sample

    dataset_id = record["dataset_id"] if record else None
    if dataset_id is None and rows:
        first = rows[0]
        dataset_id = session.scalar(
            select(RealImage.dataset_id).where(RealImage.path == first["path"]) if first["source"] == "real" else
            select(Batch.dataset_id).join(Sample, Sample.batch_id == Batch.id).where(Sample.path == first["path"]))
    dataset = session.get(Dataset, dataset_id) if dataset_id is not None else None
    return None if dataset is None else [str(n) for n in dataset.class_names]


def classes_csv_problems(folder: Path, rows: list[dict], class_names: Optional[list[str]]) -> list[str]:
    """Each line of classes.csv that is not what the export wrote from the dataset's classes and manifest.csv."""
    from ganaug.export_files import classes_csv

    try:
        data = (folder / "classes.csv").read_bytes()
    except FileNotFoundError:
        return []  # an export from before 2026-12-07 (one listed in manifest.sha256 is said missing there)
    except OSError as e:
        return [f"classes.csv cannot be read ({e.strerror or e})"]
    if class_names is None:
        return []
    entries = [(None, _Row(int(r["class_index"]), r["source"]), None) for r in rows if r["class_index"].isdigit()]
    expected = classes_csv(class_names, entries, max(3, len(str(len(class_names) - 1)))).decode()
    try:
        found = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error):
        return ["classes.csv is not a CSV of UTF-8 text: it was edited"]
    wanted = list(csv.reader(io.StringIO(expected)))
    if len(found) != len(wanted) or found[:1] != wanted[:1]:
        return [f"classes.csv lists {len(found) - 1} classes, the dataset {len(wanted) - 1} (or its header changed): "
                "it was edited"]
    return [f"classes.csv line of class {want[0]} reads {','.join(got)!r}, but the dataset and manifest.csv give "
            f"{','.join(want)!r}: it was edited, and a reader that maps labels by it trains on the wrong ones"
            for got, want in zip(found[1:], wanted[1:]) if got != want]
