"""The Audit page's table of recorded exports says of how many exports it shows the newest, as `audit exports` does."""

from __future__ import annotations

from db.audit import record_events
from db.datasets import get_dataset
from db.engine import session_scope
from db.exports import ACTION, TARGET_TYPE
from db.users import get_user
from pages.recorded_exports import EXPORT_ROWS
from tests.app.conftest import app_test


def _record_exports(dataset: str, n: int) -> None:
    """`n` export events (their folders are not here: the table marks them "not found")."""
    with session_scope(immediate=True) as session:
        target = get_dataset(session, dataset).id
        items = [dict(action=ACTION, target_type=TARGET_TYPE, target_id=target, meaning=f"export {i}",
                      details=dict(dataset=dataset, entries=1, manifest_sha256=f"{i:064x}", folder=f"/gone/{i}"))
                 for i in range(n)]
        record_events(session, get_user(session, "rita"), items)


def _exports_caption(at) -> list[str]:
    return [c.value for c in at.caption if "exports shown" in c.value or "The newest" in c.value]


def test_the_exports_table_says_how_many_exports_there_are_beyond_those_shown(users, digits):
    _record_exports(digits, EXPORT_ROWS)
    assert _exports_caption(app_test(users["rita"], "audit.py")) == []  # all of them shown: nothing to say
    _record_exports(digits, 1)
    # It said "The newest 200; `ganaug audit exports --limit N` lists more": not how many more.
    assert _exports_caption(app_test(users["rita"], "audit.py")) == [
        f"{EXPORT_ROWS} of {EXPORT_ROWS + 1} exports shown, the newest: `ganaug audit exports --limit "
        f"{EXPORT_ROWS + 1}` lists them all."]
