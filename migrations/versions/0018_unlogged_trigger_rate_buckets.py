"""The webhook rate limit's buckets are ``UNLOGGED``: spending a token writes no WAL.

Every webhook delivery spends a token of its tenant's bucket, in the transaction
that records the delivery (a rolled-back delivery refunds it). A bucket is not
business data: when PostgreSQL crashes (or fails over) it empties unlogged
tables, which only refills every tenant's bucket (as ``api_rate_buckets``, 0015).
``allowed`` keeps the last spend's answer, so a refill-and-spend is one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (a delivery admitted to wait).

Revision ID: 0018
Revises: 0015
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE trigger_rate_buckets SET UNLOGGED")
    op.execute("ALTER TABLE trigger_rate_buckets ADD COLUMN allowed boolean NOT NULL DEFAULT true")


def downgrade() -> None:
    op.execute("ALTER TABLE trigger_rate_buckets DROP COLUMN allowed")
    op.execute("ALTER TABLE trigger_rate_buckets SET LOGGED")
