"""Platform-level tables that belong to no tenant."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, String, Table, func
from sqlalchemy.dialects.postgresql import JSONB

from chalicelib.tables import metadata

heartbeats = Table(
    "system_heartbeats",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("count", BigInteger, nullable=False, server_default="0"),
    Column("last_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("detail", JSONB, nullable=True),
)
