"""Platform-level tables that belong to no tenant."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Integer, String, Table, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from chalicelib.tables import metadata

heartbeats = Table(
    "system_heartbeats",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("count", BigInteger, nullable=False, server_default="0"),
    Column("last_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("detail", JSONB, nullable=True),
)

# Long-running runtimes (the local stack) register here and beat; a step claimed by a worker that
# stopped beating is taken over at once instead of after its lease (see services/workflows/workers.py).
runtime_workers = Table(
    "runtime_workers",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The embedded step queue (the local stack without SQS): one row per message, SQS's semantics as the
# engine uses them (see chalicelib/adapters/pg_queue.py).
step_queue_messages = Table(
    "step_queue_messages",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("queue", String(80), nullable=False),
    Column("body", JSONB, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("visible_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("receive_count", Integer, nullable=False, server_default="0"),
    Column("receipt", UUID(as_uuid=False), nullable=True),
    Index("ix_step_queue_messages_visible", "queue", "visible_at"),
    Index("ix_step_queue_messages_receipt", "receipt", postgresql_where=text("receipt IS NOT NULL")),
)
