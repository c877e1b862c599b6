"""The Audit page's list of recorded exports (its export tab, under the export form): each with whether its folder
still holds the manifest it was recorded with and how many of its images the review has withdrawn since (a revoked
batch leaves the folder as it was: it matched, and read as safe to train on), and, for the one a reviewer chooses,
which decisions withdrew them, in the words of `ganaug audit folder` (ganaug/export_changes.py); then the .zip to
take one away (pages/export_download.py). Not a page itself (app.py never lists it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st
from sqlalchemy import func, select

from db.engine import session_scope
from db.exports import count_exports, list_exports
from db.models import Event
from pages.export_download import download_section
from pages.tables import MISSING, table_columns, text_cells
from pages.ui import home, plain

EXPORT_COLUMNS = ["id", "ts", "actor", "dataset", "images", "synthetic", "ratio", "manifest_sha256", "log_head",
                  "folder", "folder_check"]
EXPORT_ROWS = 200  # past exports listed; the caption says of how many, `ganaug audit exports --limit` lists more
WITHDRAWN_SHOWN = 20  # decisions named one per line under a checked export (`ganaug audit folder --json`: all)
# A log longer than this is replayed for the Folder now column's withdrawn counts only when asked (a toggle): a year's
# 60,000 events took the Audit page's first run from 1.4 to 18 s, after every decision (2026-12-07, BENCHMARKS.md).
COUNT_WITHDRAWN_EVENTS = 20_000
NOT_COUNTED = "matches · withdrawn not counted"


def past_exports() -> None:
    """The recorded exports, newest first, so that an auditor can match a folder's manifest.sha256 to its record."""
    from ganaug.export import folder_check

    with session_scope() as session:
        rows = list_exports(session, limit=EXPORT_ROWS)
        # Counted only when the list is full: one query, not one per row. It said "The newest 200", not of how many.
        total = count_exports(session) if len(rows) == EXPORT_ROWS else len(rows)
    st.markdown("**Recorded exports**")
    if not rows:
        st.write("None recorded yet.")
        return
    for r in rows:
        r["folder_check"] = folder_check(r["folder"], r["manifest_sha256"])
    with session_scope() as session:
        version = session.scalar(select(func.max(Event.id))) or 0
    matching = tuple(r["id"] for r in rows if r["folder_check"] == "matches")
    counted = version <= COUNT_WITHDRAWN_EVENTS or (matching and st.toggle(
        "Count the images the review has withdrawn from each folder since", key="export_count_withdrawn",
        help=f"It replays the whole decision log ({version:,} events: seconds) and reads each folder's manifest.csv; "
             "until then a folder that still holds its manifest says “withdrawn not counted”."))
    withdrawn = (withdrawn_per_export(home(), version, matching, rows) or {}) if counted else {}
    df = pd.DataFrame(rows)[EXPORT_COLUMNS]
    # "matches" said of a folder the review has since withdrawn images from read as safe to train on.
    df["folder_check"] = [f"matches · {withdrawn[r['id']]:,} withdrawn" if withdrawn.get(r["id"])
                          else NOT_COUNTED if r["id"] in matching and not counted else r["folder_check"] for r in rows]
    df["ts"] = pd.to_datetime(df["ts"], utc=True, format="ISO8601")
    st.dataframe(text_cells(df), hide_index=True, column_config=table_columns(EXPORT_COLUMNS), placeholder=MISSING)
    if total > len(rows):
        st.caption(f"{len(rows):,} of {total:,} exports shown, the newest: `ganaug audit exports --limit {total}` "
                   "lists them all.")
    withdrawn_check(rows, version)
    download_section(rows, export_label)


@st.cache_data(ttl=60, show_spinner="Checking the export against the review…", max_entries=32)
def export_withdrawn(home_dir: str, export_id: int, log_version: int, _record: dict) -> dict | None:
    """`ganaug.export_changes.export_withdrawn` for one export, keyed by the newest event's id: a decision since
    changes it. It replays the whole log, so it runs for the export a reviewer chose, never for every listed row."""
    from ganaug.export_changes import export_withdrawn as withdrawn

    return withdrawn(_record)


@st.cache_data(ttl=60, show_spinner="Checking the exports against the review…", max_entries=8)
def withdrawn_per_export(home_dir: str, log_version: int, export_ids: tuple, _rows: list[dict]) -> dict | None:
    """`ganaug.export_changes.withdrawn_counts` for the listed exports whose folders match: the log replayed once for
    them all, keyed by the newest event's id (a decision since changes it)."""
    from ganaug.export_changes import withdrawn_counts

    return withdrawn_counts([r for r in _rows if r["id"] in export_ids])


def export_label(r: dict) -> str:
    return (f"export {r['id']} · {r['dataset']} · {str(r['ts'])[:16].replace('T', ' ')} UTC by {r['actor']} · "
            f"{Path(r['folder']).name}")


def withdrawn_check(rows: list[dict], version: int) -> None:
    """For the export still on disk that the reviewer chooses: the decisions since that withdrew some of its images,
    who took each, when and why, and to export again (`version`: the newest event's id, which keys the check). The
    folder is as recorded, but a model trained on it learns from images the review no longer admits."""
    from ganaug.export_changes import withdrawn_items, withdrawn_total

    here = {r["id"]: r for r in rows if r["folder_check"] == "matches"}
    if not here:
        return
    chosen = st.selectbox(
        "Has the review withdrawn images from an export since it was written?", list(here), index=None,
        format_func=lambda i: export_label(here[i]), placeholder="Choose an export still on disk", key="export_check",
        help="A batch revoked, or a sample rejected or given a blocking tag, after the export leaves the folder as it "
             "was: the Folder now column counts the images so withdrawn; this names each decision, who and why.")
    if chosen is None:
        return
    record = here[chosen]
    found = export_withdrawn(home(), chosen, version, record)
    if found is None:
        st.info(f"The folder of export {chosen} is no longer here with the manifest it was recorded with.",
                icon=":material/folder_off:")
    elif not found["ok"]:
        st.error(f"The decision log does not verify ({plain(found['message'])}): what the review admits now cannot "
                 "be told. Verify the chain on the Decision log tab.")
    elif not found["withdrawn"]:
        n = found["synthetic"]
        st.success(f"Nothing decided since export {chosen} withdrew any of its images: the review still admits "
                   + (f"all {n:,} of its synthetic images." if n else "it (it holds real images only)."),
                   icon=":material/task_alt:")
    else:
        withdrawn = found["withdrawn"]
        total = withdrawn_total(withdrawn, found["synthetic"])
        items = withdrawn_items(Path(record["folder"]), withdrawn[:WITHDRAWN_SHOWN])
        if len(withdrawn) > WITHDRAWN_SHOWN:
            items.append(f"… and {len(withdrawn) - WITHDRAWN_SHOWN:,} more decisions that withdrew images (the "
                         "Decision log tab lists them)")
        st.warning(plain(f"{total[0].upper()}{total[1:]}; export again (the button above, dataset "
                         f"{record['dataset']}) and train on the new folder.") + "\n\n"
                   + "\n".join(f"- {plain(item)}" for item in items), icon=":material/history:")
