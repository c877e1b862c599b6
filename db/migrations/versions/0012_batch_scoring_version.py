"""the scoring version that stored a batch's scores (`ganaug_core.scoring.SCORING_VERSION`), which the Review page,
`review samples` and `evaluate batch` compare with the current one to say that a batch was scored by an older copy
check

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 18:00:00

A nullable column: NULL is "not scored", or "scored before scoring versions were recorded", which is how every batch
scored before this migration reads (its scores may come from a copy check without the colour pass of 2026-12-06 or
2026-12-07's MIN_SIDE: nothing recorded which). `ganaug evaluate batch N --rescore` records the current version.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: Union[str, None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # An added nullable column needs no table copy, so no batch mode on SQLite (see 0002).
    op.add_column("batches", sa.Column("scoring_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("scoring_version")
