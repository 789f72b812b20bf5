"""Triggers and what they record: deliveries, rate-limit buckets, admission counters, waiting runs.

Every table is tenant-owned and under row-level security.

- ``triggers``: one per way a workflow starts (``manual`` | ``webhook`` | ``cron``).
  Webhook secrets are stored as envelopes (``chalicelib.crypto.envelope``), never
  in plaintext: the current one in ``secret``, the one being rotated out in
  ``previous_secret`` until ``previous_secret_expires_at``. ``workflow_id``
  references ``workflows`` (deleting a workflow deletes its triggers).
- ``trigger_deliveries``: every webhook call, cron firing and manual start,
  with its outcome and, for webhooks, the request as received (headers and
  body, masked and bounded: ``chalicelib.triggers.captured_requests``).
  ``(trigger_id, mode, dedupe_key)`` is unique among accepted deliveries (a
  replay cannot start a second run); ``(trigger_id, slot)`` is unique (two
  ticks cannot both fire one cron slot).
- ``trigger_rate_buckets``: one token bucket per tenant, updated under a row lock.
- ``run_admission_counts``: runs admitted per tenant and minute (the hourly quota).
- ``pending_runs``: admitted runs waiting for a free concurrency slot (never dropped).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from chalicelib.tables import metadata
from chalicelib.tables.columns import tenant_column as _tenant
from chalicelib.tables.columns import timestamp_column as _ts
from chalicelib.tables.columns import uuid_column as _uuid
from chalicelib.tables.columns import workspace_column as _workspace

triggers = Table(
    "triggers", metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    _tenant(),
    _workspace(),
    Column("workflow_id", UUID(as_uuid=False), ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),  # manual | webhook | cron
    Column("name", String(200), nullable=False, server_default=""),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("input", JSONB, nullable=True),  # default run input (cron, manual)
    Column("config", JSONB, nullable=False, server_default="{}"),  # kind-specific, never secret
    # webhook
    Column("webhook_path", String(100), nullable=True),
    Column("signature_scheme", String(40), nullable=True),
    # envelope of {"secret": …} (a webhook's signing secret), or of a configured kind's secret fields by name
    Column("secret", JSONB, nullable=True),
    Column("secret_hint", String(4), nullable=True),  # last characters, for the masked view
    Column("previous_secret", JSONB, nullable=True),  # envelope, valid until previous_secret_expires_at
    _ts("previous_secret_expires_at"),
    Column("secret_version", Integer, nullable=False, server_default="0"),
    # cron
    Column("cron_expression", String(200), nullable=True),
    Column("timezone", String(64), nullable=True),
    Column("missed_slot_policy", String(20), nullable=True),  # fire_once | skip
    _ts("last_slot"),
    _ts("next_fire_at"),
    _uuid("created_by", nullable=True),
    _ts("created_at", nullable=False, default=True),
    _ts("updated_at", nullable=False, default=True),
    UniqueConstraint("workspace_id", "webhook_path", name="uq_triggers_webhook_path"),
    Index("ix_triggers_workflow", "workflow_id", "created_at"),
    Index("ix_triggers_ws_created", "workspace_id", "created_at"),
    Index("ix_triggers_cron_due", "next_fire_at", postgresql_where=text("kind = 'cron' AND enabled")),
)

trigger_deliveries = Table(
    "trigger_deliveries", metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    _tenant(),
    _workspace(),
    Column("trigger_id", UUID(as_uuid=False), ForeignKey("triggers.id", ondelete="CASCADE"), nullable=False),
    _uuid("workflow_id"),
    Column("kind", String(20), nullable=False),  # the trigger's kind when it fired
    Column("mode", String(20), nullable=False),  # production | test
    # started | queued | duplicate | bad_signature | stale_timestamp | disabled | not_production
    # | rate_limited | too_large | invalid | error
    Column("outcome", String(20), nullable=False),
    Column("reason", String(300), nullable=True),
    Column("accepted", Boolean, nullable=False, server_default=text("false")),  # holds the dedupe claim
    Column("dedupe_key", String(64), nullable=True),
    Column("dedupe_source", String(20), nullable=True),  # expression | delivery_id
    Column("external_id", String(200), nullable=True),  # the sender's delivery id, as sent
    _ts("slot"),  # cron: the slot this firing belongs to
    _uuid("run_id", nullable=True),
    _uuid("duplicate_of", nullable=True),
    Column("status_code", Integer, nullable=True),  # what the sender was answered
    Column("body_bytes", Integer, nullable=True),
    _uuid("actor_id", nullable=True),  # manual starts
    _ts("created_at", nullable=False, default=True),
    _ts("started_at"),
    # webhooks: the request as received, masked and bounded (triggers/captured_requests); null otherwise
    Column("request_method", String(10), nullable=True),
    Column("request_headers", JSONB, nullable=True),
    Column("request_body", Text, nullable=True),
    Column("request_body_encoding", String(10), nullable=True),  # json | text | binary
    Column("request_truncated", Boolean, nullable=True),
    UniqueConstraint("trigger_id", "slot", name="uq_trigger_deliveries_slot"),
    Index("uq_trigger_deliveries_dedupe", "trigger_id", "mode", "dedupe_key", unique=True,
          postgresql_where=text("accepted")),
    Index("ix_trigger_deliveries_trigger", "trigger_id", "created_at"),
    Index("ix_trigger_deliveries_created", "created_at"),  # retention clean-up
)

# The webhook rate limit's token bucket per tenant; UNLOGGED (migration 0018): a crash only refills it.
trigger_rate_buckets = Table(
    "trigger_rate_buckets", metadata,
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("tokens", Float, nullable=False),
    _ts("updated_at", nullable=False),
    Column("allowed", Boolean, nullable=False, server_default=text("true")),  # the last spend's answer
    prefixes=["UNLOGGED"],
)

run_admission_counts = Table(
    "run_admission_counts", metadata,
    _tenant(),
    _ts("minute", nullable=False),
    Column("count", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("tenant_id", "minute", name="pk_run_admission_counts"),
)

pending_runs = Table(
    "pending_runs", metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    _tenant(),
    _workspace(),
    _uuid("workflow_id"),
    Column("trigger_id", UUID(as_uuid=False), ForeignKey("triggers.id", ondelete="CASCADE"), nullable=False),
    Column("delivery_id", UUID(as_uuid=False), ForeignKey("trigger_deliveries.id", ondelete="CASCADE"),
           nullable=False, unique=True),
    Column("mode", String(20), nullable=False),
    Column("input", JSONB, nullable=True),
    # true: waiting for a concurrency slot; false: being started right now (recovered if that stalls)
    Column("waiting", Boolean, nullable=False, server_default=text("false")),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", String(300), nullable=True),
    _ts("attempted_at"),  # when a start was last attempted (null while waiting)
    _ts("created_at", nullable=False, default=True),
    Index("ix_pending_runs_tenant", "tenant_id", "waiting", "created_at"),
)

TENANT_OWNED = ("triggers", "trigger_deliveries", "trigger_rate_buckets", "run_admission_counts",
                "pending_runs")
