"""Identity and tenancy tables.

Tenant-owned tables (with a ``tenant_id`` column) are under row-level security.
``users``, ``password_resets``, ``login_failures``, ``outbound_mail`` and
``platform_state`` are not tenant-owned (a user may belong to several tenants);
only the auth services touch them.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from chalicelib.tables import metadata
from chalicelib.tables.columns import created_column as _created
from chalicelib.tables.columns import id_column as _id
from chalicelib.tables.columns import tenant_column as _tenant

tenants = Table(
    "tenants", metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("slug", String(100), nullable=False, unique=True),
    _created(),
)

users = Table(
    "users", metadata,
    _id(),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("name", String(200), nullable=False, server_default=""),
    Column("password_hash", Text, nullable=True),  # null until an invite is accepted
    Column("password_changed_at", DateTime(timezone=True), nullable=True),
    Column("sessions_valid_after", DateTime(timezone=True), nullable=True),
    _created(),
)

memberships = Table(
    "memberships", metadata,
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(20), nullable=False),
    _created(),
    Index("ix_memberships_user", "user_id"),
)

workspaces = Table(
    "workspaces", metadata,
    _id(),
    _tenant(),
    Column("name", String(200), nullable=False),
    _created(),
    UniqueConstraint("tenant_id", "name", name="uq_workspaces_tenant_name"),
)

workspace_members = Table(
    "workspace_members", metadata,
    _tenant(),
    Column("workspace_id", UUID(as_uuid=False), ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    _created(),
)

invites = Table(
    "invites", metadata,
    _id(),
    _tenant(),
    Column("email", String(320), nullable=False),
    Column("role", String(20), nullable=False),
    Column("workspace_ids", JSONB, nullable=False, server_default="[]"),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("invited_by", UUID(as_uuid=False), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    _created(),
)

sessions = Table(
    "sessions", metadata,
    _id(),
    _tenant(),
    Column("user_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("family_id", UUID(as_uuid=False), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_reason", String(40), nullable=True),
    Column("client_ip", String(64), nullable=True),
    _created(),
    Index("ix_sessions_family", "family_id"),
    Index("ix_sessions_user", "user_id"),
)

password_resets = Table(
    "password_resets", metadata,
    _id(),
    Column("user_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    _created(),
)

api_tokens = Table(
    "api_tokens", metadata,
    _id(),
    _tenant(),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("masked", String(40), nullable=False),
    # builder/viewer tokens: the workspaces they reach (JSON list); owner/admin tokens: NULL (all)
    Column("workspace_ids", JSONB, nullable=True),
    Column("created_by", UUID(as_uuid=False), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    _created(),
)

audit_events = Table(
    "audit_events", metadata,
    _id(),
    _tenant(),
    Column("actor_id", UUID(as_uuid=False), nullable=True),
    Column("actor_kind", String(20), nullable=False),  # user | api | system
    Column("action", String(100), nullable=False),
    Column("target_type", String(60), nullable=False),
    Column("target_id", String(100), nullable=True),
    Column("changes", JSONB, nullable=False, server_default="{}"),
    Column("request_id", String(100), nullable=True),
    _created(),
    Index("ix_audit_tenant_created", "tenant_id", "created_at"),
)

login_failures = Table(
    "login_failures", metadata,
    _id(),
    Column("account_key", String(320), nullable=False),
    Column("client_ip", String(64), nullable=False),
    _created(),
    Index("ix_login_failures_account", "account_key", "created_at"),
    Index("ix_login_failures_ip", "client_ip", "created_at"),
)

outbound_mail = Table(
    "outbound_mail", metadata,
    _id(),
    Column("to_address", String(320), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("kind", String(40), nullable=False),
    _created(),
)

platform_state = Table(
    "platform_state", metadata,
    Column("key", String(100), primary_key=True),
    Column("value", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

TENANT_OWNED = ("memberships", "workspaces", "workspace_members", "invites", "sessions", "api_tokens",
                "audit_events")
