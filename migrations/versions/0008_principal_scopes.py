"""Scopes of principals: idempotency keys belong to one caller; API tokens carry a workspace scope.

- ``idempotency_keys``: keyed by (tenant, principal, route, key), answers sealed,
  an expiry for in-flight claims and stored answers.
- ``api_tokens.workspace_ids``: the workspaces a builder or viewer token may
  reach (a JSON list); NULL for owner and admin tokens, which reach all. A
  builder or viewer token minted before this revision has NULL, which for
  those roles means no workspace: it must be minted again with a scope.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-27

Idempotency rows are short-lived request bookkeeping: the ones written under the old
scheme (plaintext answers, keyed per tenant only) are deleted, not converted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_keys")
    op.drop_constraint("idempotency_keys_pkey", "idempotency_keys", type_="primary")
    op.drop_index("ix_idempotency_keys_created", table_name="idempotency_keys")
    op.drop_column("idempotency_keys", "response")
    op.drop_column("idempotency_keys", "headers")
    op.add_column("idempotency_keys", sa.Column("principal", sa.String(length=120), nullable=False))
    op.add_column("idempotency_keys", sa.Column("sealed_response", postgresql.JSONB(astext_type=sa.Text()),
                                                nullable=True))
    op.add_column("idempotency_keys", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False))
    op.create_primary_key("idempotency_keys_pkey", "idempotency_keys", ["tenant_id", "principal", "route", "key"])
    op.create_index("ix_idempotency_keys_expires", "idempotency_keys", ["expires_at"])
    op.add_column("api_tokens", sa.Column("workspace_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column("api_tokens", "workspace_ids")
    op.execute("DELETE FROM idempotency_keys")
    op.drop_index("ix_idempotency_keys_expires", table_name="idempotency_keys")
    op.drop_constraint("idempotency_keys_pkey", "idempotency_keys", type_="primary")
    op.drop_column("idempotency_keys", "expires_at")
    op.drop_column("idempotency_keys", "sealed_response")
    op.drop_column("idempotency_keys", "principal")
    op.add_column("idempotency_keys", sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("idempotency_keys", sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.create_primary_key("idempotency_keys_pkey", "idempotency_keys", ["tenant_id", "key", "route"])
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["created_at"])
