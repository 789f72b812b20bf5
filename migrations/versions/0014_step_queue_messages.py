"""The embedded step queue: doorbells kept in PostgreSQL when no SQS is configured (the local stack).

One row per message. ``visible_at`` is when it may be received next (a send's
delay, then each receive's visibility timeout); ``receive_count`` and the
receipt of the latest receive follow SQS's semantics as the engine uses them
(``chalicelib/adapters/pg_queue.py``). A message received more often than the
queue's maximum moves to its dead-letter queue (``queue`` changes).

Revision ID: 0014
Revises: 0011
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_queue_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("queue", sa.String(80), nullable=False),
        sa.Column("body", JSONB(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("visible_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("receive_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("receipt", sa.UUID(as_uuid=False), nullable=True),
    )
    op.create_index("ix_step_queue_messages_visible", "step_queue_messages", ["queue", "visible_at"])
    op.create_index("ix_step_queue_messages_receipt", "step_queue_messages", ["receipt"],
                    postgresql_where=sa.text("receipt IS NOT NULL"))


def downgrade() -> None:
    op.drop_table("step_queue_messages")
