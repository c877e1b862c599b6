"""why a sample was flagged as a copy: the training image(s) the memorization check matched and how (mirrored,
shifted, cropped, a blend of two with their shares), as JSON on the sample

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 18:00:00

A nullable column: samples scored before it read NULL, and the Review page then names the first nearest image only
(scoring the batch again with `ganaug evaluate batch N --rescore` fills it). No other place held it: a sample's
nearest real ids are a list of ids, and its scores are plain columns.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # An added nullable column needs no table copy, so no batch mode on SQLite (see 0002).
    op.add_column("samples", sa.Column("copy_match", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("samples") as batch:
        batch.drop_column("copy_match")
