"""Tenant limits and retention: the API rate limit's buckets, and an index for run retention.

``api_rate_buckets`` holds one token bucket per principal (a user or an API
token) and tenant, refilled and spent in one statement per API request
(``services/tenant_limits``). ``ix_runs_finished`` lets the housekeeping tick
find runs past the retention period without scanning every run.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chalicelib.db.rls import tenant_rls_statements

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_rate_buckets",
        sa.Column("tenant_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("principal", sa.String(length=120), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("allowed", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "principal"),
    )
    for statement in tenant_rls_statements("api_rate_buckets"):
        op.execute(statement)
    op.create_index("ix_runs_finished", "runs", ["finished_at"], unique=False,
                    postgresql_where=sa.text("status <> 'running'"))


def downgrade() -> None:
    op.drop_index("ix_runs_finished", table_name="runs")
    op.drop_table("api_rate_buckets")
