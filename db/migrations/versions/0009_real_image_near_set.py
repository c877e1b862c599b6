"""each real image's near-copy set: images that are one picture saved again with loss (a JPEG re-encoded), resized or
shrunk to a thumbnail, which an ingest keeps on one side of the split as it does identical ones, and which `data
report` and the Overview name beside them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 08:00:00

A nullable column: an image in no near-copy set, or ingested before this migration (whose near-copies were not looked
for), has none.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("real_images", sa.Column("near_set", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("real_images") as batch:
        batch.drop_column("near_set")
