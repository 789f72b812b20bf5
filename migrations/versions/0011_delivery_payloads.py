"""Webhook deliveries keep the request as received: method, headers and body, masked and bounded.

The columns are filled in the same insert that records the delivery
(``services/triggers/firing``), null for cron firings and manual starts; the
retention clean-up deletes them with their row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COLUMNS = ("request_method", "request_headers", "request_body", "request_body_encoding", "request_truncated")


def upgrade() -> None:
    op.add_column("trigger_deliveries", sa.Column("request_method", sa.String(length=10), nullable=True))
    op.add_column("trigger_deliveries", sa.Column("request_headers", postgresql.JSONB(), nullable=True))
    op.add_column("trigger_deliveries", sa.Column("request_body", sa.Text(), nullable=True))
    op.add_column("trigger_deliveries", sa.Column("request_body_encoding", sa.String(length=10), nullable=True))
    op.add_column("trigger_deliveries", sa.Column("request_truncated", sa.Boolean(), nullable=True))


def downgrade() -> None:
    for name in reversed(COLUMNS):
        op.drop_column("trigger_deliveries", name)
