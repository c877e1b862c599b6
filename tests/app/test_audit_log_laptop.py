"""The Audit page's decision log on a laptop: when, who, what, on what and why within the 562 px a 1024-px screen
leaves the table beside the sidebar (measured in chromium), names whole, and the clicked event whole above it.

Its nine columns at fixed widths (898 px) scrolled sideways at 1280 px and hid the reason, the hash and the meaning at
1024; its 60-px "By" showed "h3adm / in". The widths below the pixel counts are chromium's: Source Sans at 14 px
draws "h3admin" 52 px wide, "margaret.okonkwo" 111 and "download" 59, and a cell has 8 px of padding each side.
"""

from __future__ import annotations

from db.engine import session_scope
from tests.app.conftest import PASSWORD, app_test, make_batch
from tests.app.test_table_headers import headers

NARROW = ["id", "ts", "actor", "action", "target", "reason"]


def shown_widths(frame) -> dict[str, int]:
    config = headers(frame)
    return {name: config[name]["width"] for name in frame.proto.column_order}


def decided_by(digits, users, name: str, reason: str) -> int:
    """A batch approved by a new reviewer `name`; its id."""
    from db.review import approve_batch
    from db.users import add_user, get_user

    batch = make_batch(digits, 9, 2)
    with session_scope(immediate=True) as session:
        add_user(session, name, PASSWORD, by=get_user(session, "ada"))
    with session_scope(immediate=True) as session:
        approve_batch(session, batch, get_user(session, name), reason)
    return batch


def test_the_log_shows_when_who_what_on_what_and_why_within_a_1024_px_screen(users, digits):
    batch = decided_by(digits, users, "h3admin", "strokes plausible")
    at = app_test(users["rita"], "audit.py").selectbox(key="audit_batch").set_value(batch).run()
    for frame in (at.dataframe[0], at.dataframe[2]):  # the log, and the batch's decisions on its record
        widths = shown_widths(frame)
        assert list(widths) == NARROW and sum(widths.values()) <= 562, widths
        assert widths["actor"] >= 52 + 16 and widths["action"] >= 59 + 16, widths  # "h3admin", "download" whole
        assert list(frame.value.columns)[-3:] == ["reason", "hash", "meaning"]  # every header kept, for the toggle
    assert at.caption[0].value.startswith("Click a row, or reach it with the arrow keys")

    # A click on a cell (the arrow keys move it) shows its event above the table: the role, the hash and the meaning.
    at.session_state["audit_log"] = {"selection": {"rows": [], "columns": [], "cells": [[0, "reason"]]}}
    at.run()
    log = at.dataframe[0].value
    [details] = [m.value for m in at.markdown if m.value.startswith(f"**Event {log['id'].iloc[0]}**")]
    assert "by **h3admin** (reviewer) · approve · batch" in details and "**Reason:** strokes plausible" in details
    assert f"**Hash:** `{log['hash'].iloc[0]}`" in details and "may be used for training" in details


def test_a_long_name_is_never_broken_and_the_reason_keeps_four_short_lines(users, digits):
    decided_by(digits, users, "margaret.okonkwo", "ok")
    widths = shown_widths(app_test(users["rita"], "audit.py").dataframe[0])
    assert widths["actor"] >= 111 + 16 and widths["reason"] >= 96, widths
