"""the decision log refuses SQLite's INSERT OR REPLACE: a BEFORE INSERT trigger on an id the log already holds

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 11:10:00

SQLite's REPLACE conflict resolution deletes the existing row without firing DELETE triggers (recursive triggers
are off by default), so `INSERT OR REPLACE INTO events` could rewrite a recorded event past 0001's triggers;
`audit verify` would find it, but the database should refuse it. On PostgreSQL `INSERT ... ON CONFLICT DO UPDATE`
already fires the BEFORE UPDATE trigger, so nothing changes there.
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0005"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("""CREATE TRIGGER events_no_replace BEFORE INSERT ON events
                      WHEN EXISTS (SELECT 1 FROM events WHERE id = NEW.id)
                      BEGIN SELECT RAISE(ABORT, 'the decision log is append-only: REPLACE refused'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER events_no_replace")
