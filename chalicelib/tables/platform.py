"""Cross-cutting API tables."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Table, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from chalicelib.tables import metadata

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("principal", String(120), primary_key=True),  # "user:<id>" | "api:<token id>"
    Column("route", String(300), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("body_hash", String(64), nullable=False),
    Column("status", Integer, nullable=True),  # null while the first request is in flight
    Column("sealed_response", JSONB, nullable=True),  # envelope of {"body", "headers"}
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # in flight: when the claim goes stale; answered: when the answer stops being replayed
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# The API rate limit's token bucket per principal (services/tenant_limits); UNLOGGED (migration 0015): a
# crash of the server only refills the buckets.
api_rate_buckets = Table(
    "api_rate_buckets", metadata,
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("principal", String(120), primary_key=True),  # "user:<id>" | "api:<token id>"
    Column("tokens", Float, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("allowed", Boolean, nullable=False, server_default=text("true")),  # the last request's answer
    prefixes=["UNLOGGED"],
)
