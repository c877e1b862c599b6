"""64-bit seeds: a sample's own seed is a 63-bit integer (ganaug_core.sampling.sample_seeds), and a batch seed
may be any integer below 2**63

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 17:20:00

PostgreSQL's INTEGER holds 32 bits, so recording a generated batch failed there with "integer out of range".
SQLite stores every INTEGER in up to 64 bits already; its schema is left as it is (changing a column type there
would copy the table, and batch mode's copy is what 0002 avoids).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = (("samples", "seed"), ("batches", "seed"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
