"""the `--bit-depth` a dataset was ingested with (the bits a folder's 16-bit images use: a 12-bit camera's values
scaled 4095 → 255), which `data report`, `data list --json` and the Overview show and which ingesting the source
again must repeat to give the same images

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00

A nullable column: NULL is "not given" (16-bit values scaled 65535 → 255), which is also how a dataset ingested before
this migration reads: nothing recorded whether its ingest was given one.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: Union[str, None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # An added nullable column needs no table copy, so no batch mode on SQLite (see 0002).
    op.add_column("datasets", sa.Column("bit_depth", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("bit_depth")
