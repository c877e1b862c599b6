"""review workflow: a fork-proof decision log and the indexes the review page and the gate need

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:50:00

- events.prev_hash unique: two events can never claim the same predecessor, so even a writer that bypassed the
  append lock could not fork the chain.
- samples (batch_id, memorized, rejected): the approval check and the gate's per-batch filters.
- sample_tags.tag_id: "samples with this tag" filters and the gate's blocking-tag test.
- events (action, target_type, target_id): the latest approval of each batch.
- jobs (status): the worker's stale-job sweep and the job list.
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0002"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Plain CREATE INDEX (not batch mode): batch mode would copy the events table, which its triggers forbid.
    op.create_index("uq_events_prev_hash", "events", ["prev_hash"], unique=True)
    op.create_index("ix_events_action_target", "events", ["action", "target_type", "target_id"])
    op.create_index("ix_samples_batch_memorized", "samples", ["batch_id", "memorized", "rejected"])
    op.create_index("ix_sample_tags_tag", "sample_tags", ["tag_id"])
    op.create_index("ix_jobs_status", "jobs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status", table_name="jobs")
    op.drop_index("ix_sample_tags_tag", table_name="sample_tags")
    op.drop_index("ix_samples_batch_memorized", table_name="samples")
    op.drop_index("ix_events_action_target", table_name="events")
    op.drop_index("uq_events_prev_hash", table_name="events")
