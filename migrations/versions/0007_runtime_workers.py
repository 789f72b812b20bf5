"""Runtime workers: who holds a step's claim, and whether that worker still beats.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runtime_workers",
        sa.Column("id", sa.UUID(as_uuid=False), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.add_column("step_runs", sa.Column("claimed_by", sa.UUID(as_uuid=False), nullable=True))
    op.create_index("ix_step_runs_claimed_by", "step_runs", ["claimed_by"],
                    postgresql_where=sa.text("status = 'running'"))


def downgrade() -> None:
    op.drop_index("ix_step_runs_claimed_by", table_name="step_runs")
    op.drop_column("step_runs", "claimed_by")
    op.drop_table("runtime_workers")
