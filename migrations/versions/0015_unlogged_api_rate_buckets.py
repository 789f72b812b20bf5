"""The API rate limit's buckets are ``UNLOGGED``: spending one costs no WAL and no durable commit.

Every authenticated ``/api/*`` request spends a token of its principal's bucket,
reads included. A bucket is not business data: when PostgreSQL crashes (or fails
over) it empties unlogged tables, which only refills every bucket. The table stays
in PostgreSQL, shared by every process and container, under the same row-level
security (``services/tenant_limits.py``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE api_rate_buckets SET UNLOGGED")


def downgrade() -> None:
    op.execute("ALTER TABLE api_rate_buckets SET LOGGED")
