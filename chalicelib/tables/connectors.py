"""Connector platform tables: custom apps, their versions and actions, connections, node templates.

All are tenant-owned and under row-level security. The built-in catalog is not
here: it is global and read-only, served from ``chalicelib/connectors/catalog``
with stable ids (``builtin:slack``), so connections name their app either by
``app_id`` (a custom app row) or by ``builtin_app`` (a catalog slug), never both.

Connection secrets exist only as an envelope (``secrets_envelope``) bound to
tenant, table and record; ``credentials_preview`` holds what reads may show
(secret fields masked, ``••••abcd``).
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from chalicelib.tables import metadata
from chalicelib.tables.columns import created_column as _created
from chalicelib.tables.columns import id_column as _id
from chalicelib.tables.columns import ref_column as _ref
from chalicelib.tables.columns import tenant_column as _tenant
from chalicelib.tables.columns import updated_column as _updated

apps = Table(
    "apps",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(200), nullable=False),
    Column("slug", String(63), nullable=False),
    Column("vendor", String(200), nullable=False),
    Column("category", String(100), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("icon", Text, nullable=False, server_default=""),
    Column("status", String(20), nullable=False, server_default="draft"),  # draft | published | deprecated
    Column("created_by", UUID(as_uuid=False), nullable=True),
    _created(),
    _updated(),
    UniqueConstraint("tenant_id", "slug", name="uq_apps_tenant_slug"),
)

app_versions = Table(
    "app_versions",
    metadata,
    _id(),
    _tenant(),
    _ref("app_id", "apps.id"),
    Column("number", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # draft | published | deprecated
    Column("definition", JSONB, nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
    Column("created_by", UUID(as_uuid=False), nullable=True),
    _created(),
    _updated(),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("deprecated_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("app_id", "number", name="uq_app_versions_number"),
    CheckConstraint("status IN ('draft', 'published', 'deprecated')", name="ck_app_versions_status"),
    # At most one draft per app: two builders racing to open a draft get one winner.
    Index("uq_app_versions_one_draft", "app_id", unique=True, postgresql_where=text("status = 'draft'")),
)

app_actions = Table(
    "app_actions",
    metadata,
    _id(),
    _tenant(),
    _ref("app_id", "apps.id"),
    _ref("version_id", "app_versions.id"),
    Column("key", String(63), nullable=False),
    _created(),
    UniqueConstraint("version_id", "key", name="uq_app_actions_version_key"),
)

connections = Table(
    "connections",
    metadata,
    _id(),
    _tenant(),
    _ref("workspace_id", "workspaces.id"),
    # NO ACTION (checked at statement end), so a tenant's cascade may delete apps and connections together.
    _ref("app_id", "apps.id", nullable=True, ondelete=None),
    Column("builtin_app", String(63), nullable=True),
    Column("name", String(200), nullable=False),
    Column("settings", JSONB, nullable=False, server_default="{}"),
    Column("secrets_envelope", JSONB(none_as_null=True), nullable=True),
    Column("credentials_preview", JSONB, nullable=False, server_default="{}"),
    # ok | expired | refresh_failed | invalid
    Column("status", String(20), nullable=False, server_default="ok"),
    Column("status_detail", String(300), nullable=True),
    Column("token_expires_at", DateTime(timezone=True), nullable=True),
    Column("last_tested_at", DateTime(timezone=True), nullable=True),
    Column("created_by", UUID(as_uuid=False), nullable=True),
    _created(),
    _updated(),
    UniqueConstraint("workspace_id", "name", name="uq_connections_workspace_name"),
    CheckConstraint("(app_id IS NULL) <> (builtin_app IS NULL)", name="ck_connections_one_app"),
    CheckConstraint("status IN ('ok', 'expired', 'refresh_failed', 'invalid')", name="ck_connections_status"),
    Index("ix_connections_tenant_app", "tenant_id", "app_id"),
)

node_templates = Table(
    "node_templates",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(63), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("step_type", String(63), nullable=False),
    Column("action_ref", String(200), nullable=True),
    Column("config", JSONB, nullable=False, server_default="{}"),
    _ref("default_connection_id", "connections.id", nullable=True, ondelete="SET NULL"),
    Column("created_by", UUID(as_uuid=False), nullable=True),
    _created(),
    UniqueConstraint("tenant_id", "name", name="uq_node_templates_tenant_name"),
)

TENANT_OWNED = ("apps", "app_versions", "app_actions", "connections", "node_templates")
