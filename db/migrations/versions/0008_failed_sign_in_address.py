"""the address a wrong password came from, beside its name: the sign-in form refuses a name from one address after
its wrong passwords there, so that a stranger who types wrong passwords for a reviewer's name no longer locks the
reviewer out from everywhere

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 07:30:00

A nullable column: a try counted before this migration, or one whose address the app cannot tell (a browser on the
app's own machine, a proxy that does not forward the client's address), has none; such tries count as one address.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("failed_sign_ins", sa.Column("address", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("failed_sign_ins") as batch:
        batch.drop_column("address")
