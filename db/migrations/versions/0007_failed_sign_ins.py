"""wrong passwords typed into the app's sign-in form, in the database: every app process of a team (two machines,
two ports behind a proxy) counts the same tries, a restart forgets none, and an admin sees which names are guessed at

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 21:40:00

A new table, empty at first: tries an older app held in its process memory are not carried over (a restart of
that app forgot them anyway). A row holds the account's name (letter case folded; a name that is no account's only
as its sha256) and its time, never the password; rows older than the lockout's window are pruned as new ones are
written (db/sign_ins.py).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "failed_sign_ins",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_failed_sign_ins_name_at", "failed_sign_ins", ["name", "at"])  # one name's recent tries
    op.create_index("ix_failed_sign_ins_at", "failed_sign_ins", ["at"])  # the pruning of old ones


def downgrade() -> None:
    op.drop_table("failed_sign_ins")
