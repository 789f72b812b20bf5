"""What started a run, beside its input: ``runs.trigger_info``.

Every trigger kind hands a run the same thing as its input (the payload the
workflow's input schema describes); what the trigger knows about the start
(its id, the delivery, a cron slot and time zone) is kept apart here and read
by expressions as ``$trigger``. NULL for runs started by the API or a rerun.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("trigger_info", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "trigger_info")
