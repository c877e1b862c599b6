"""The decision log as a table (the Audit page's log and a batch's decisions): when, who, what, on what and why in
the 562 px a 1024-px screen leaves beside the sidebar, and the event a reader clicks, whole, in a box above it.

Its nine columns at fixed widths (898 px, sized for a 1366-px screen) scrolled sideways inside themselves at 1280 px
(818 px there) and hid the reason, the hash and the meaning at 1024; a 60-px "By" broke names mid-word ("h3adm / in").
The role, the hash and the meaning (a fixed sentence per action) are read one event at a time: above the table for
the clicked row, or as columns where a toggle asks (a wide screen's).
"""

from __future__ import annotations

import streamlit as st

from ganaug_core.markdown import plain
from ganaug_core.shown_text import utc_time
from pages.tables import MISSING, event_table, table_columns, text_cells

COLUMNS = ["id", "ts", "actor", "role", "action", "target", "reason", "hash", "meaning"]  # the data's, every header
NARROW = ["id", "ts", "actor", "action", "target", "reason"]  # when, who, what, on what, why
# The reviewer's reason and the hash before the signed meaning, last: that long, fixed sentence (the same for every
# event of an action) pushed the reason and the hash out of sight at 1366 px.
WIDE = COLUMNS
NARROW_PX, WIDE_PX = 562, 904  # a 1024- and a 1366-px screen's table beside the sidebar, inside its border (chromium)
# Fixed widths; By and Reason are worked out from the names shown. Action fits its longest word ("download", 59 px
# drawn, and 16 px of padding); "On" as much ("sample 12345,"); a longer tag name wraps at its spaces.
WIDTHS = {"id": 48, "ts": 134, "role": 72, "action": 76, "target": 76, "hash": 104, "meaning": 200}
ACTOR_MIN_PX, ACTOR_MAX_PX = 48, 300  # "By" whole; past 300 px (~40 characters) a name wraps, the table scrolling
REASON_MIN_PX = 96  # ~10 characters a line, four lines; the whole reason is above the table for the clicked row
ROW_PX = 88  # four lines: Streamlit wraps text only in rows taller than 64 px
DETAILS_PX = 180  # the chosen event's box: its four lines, the meaning and the hash wrapped at 1024 px
# Source Sans at 14 px, as chromium draws the grid's text (measured): most letters and digits ≈ 7–7.8 px, m and w
# 10–11.6, capitals ≈ 8–9, i, l, r, t and punctuation 3.5–5. Wide glyphs of other scripts count as 14.
_NARROW_GLYPHS, _WIDE_GLYPHS = set("fijlrtI.,:;!|'`-"), set("mwMW@%")
CELL_PADDING_PX = 20  # 8 px each side, and a margin


def text_px(text: str) -> int:
    """About how wide `text` is drawn in a table cell, its padding included; never narrower than it is drawn."""
    px = sum(4.5 if c in _NARROW_GLYPHS else 12 if c in _WIDE_GLYPHS else 14 if ord(c) >= 0x2E80
             else 9 if c.isupper() else 7.5 for c in str(text))
    return round(px) + CELL_PADDING_PX


def event_columns(rows: list[dict], wide: bool) -> dict:
    """Every column's config (a hidden one keeps its header for the toolbar's column menu), with widths that keep the
    shown columns within a 1024-px screen's table (`wide`: a 1366-px one's) while the longest name shown fits "By"."""
    actor = min(ACTOR_MAX_PX, max([ACTOR_MIN_PX, *(text_px(r["actor"]) for r in rows)]))
    shown = WIDE if wide else NARROW
    fixed = sum(WIDTHS[name] for name in shown if name in WIDTHS) + actor
    reason = max(REASON_MIN_PX, (WIDE_PX if wide else NARROW_PX) - fixed)  # 139 px beside the meaning, "demo" By
    widths = {**WIDTHS, "actor": actor, "reason": reason}
    # The event's number stays in sight where the table scrolls sideways (pinned columns do not stretch either).
    return {name: {**column, "width": widths[name], **({"pinned": True} if name == "id" else {})}
            for name, column in table_columns(COLUMNS).items()}


def event_details(row: dict) -> None:
    """One event whole: what the narrow table leaves out (its role, hash and the meaning signed into the log), and its
    reason uncut."""
    reason = plain(row["reason"]) if row["reason"] else "none given"
    st.markdown(f"**Event {row['id']}** · {utc_time(row['ts'])} · by **{plain(row['actor'])}** "
                f"({plain(row['role'])}) · {plain(row['action'].replace('_', ' '))} · {plain(row['target'])}  \n"
                f"**Reason:** {reason}  \n**Meaning, as signed into the log:** {plain(row['meaning'])}  \n"
                f"**Hash:** `{row['hash']}` (the first 12 hex digits of its sha256 in the chain; `ganaug audit verify` "
                "checks it)")


@st.fragment  # a click on a row redraws the table and its details alone, not the page's other tabs
def event_log(rows: list[dict], key: str) -> None:
    """Decision-log rows as a table whose when, who, what, on what and why fit a 1024-px screen; the clicked row
    above it, whole."""
    wide = st.toggle("Role, hash and meaning as columns", key=f"{key}_wide",
                     help="For a screen 1366 px wide or more: on a laptop's the table then scrolls sideways. The row "
                          "you click shows them above the table either way.")
    # The chosen event above the table, in a box of its own height: below it, it began under the fold of a 720- and
    # a 768-px screen (the table ends ≈ 765 px down), and the arrow keys seemed to change nothing but the highlight.
    # Its height fixed, the table does not move when a row is chosen; a long reason scrolls inside it.
    box = st.container(height=DETAILS_PX, border=True)
    table = text_cells(event_table(rows, COLUMNS))
    chosen = st.dataframe(table, hide_index=True, column_order=WIDE if wide else NARROW,
                          column_config=event_columns(rows, wide), row_height=ROW_PX, placeholder=MISSING,
                          on_select="rerun", selection_mode="single-cell", key=key)
    cells = [row for row, _ in chosen.selection.cells if 0 <= row < len(rows)]
    with box:
        if cells:
            event_details(rows[cells[0]])
        else:
            st.caption("Click a row, or reach it with the arrow keys, to read it whole here: its role, its reason, the "
                       "meaning signed into the log and its hash.")
