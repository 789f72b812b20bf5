"""Workflows and the step engine's durable state.

Every table here is tenant-owned (``tenant_id``) and under row-level security.
The engine's rows follow ``chalicelib.engine.planner``: one ``step_runs`` row
per attempt of a node instance ``(run, node_id, instance_key, attempt)``;
``join_arrivals`` are the deliveries recorded at a node instance, counted
under the run lock; ``fan_ins`` are a for_each's promise to its join;
``run_events`` carry a per-run monotonic ``seq`` (the SSE event id).
Queued ``step_runs`` rows are the outbox that the sweeper re-dispatches.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
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


def _run() -> Column:
    return Column("run_id", UUID(as_uuid=False), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)




workflows = Table(
    "workflows", metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    _tenant(),
    _workspace(),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("status", String(20), nullable=False, server_default="draft"),  # draft | test | production
    Column("enabled", Boolean, nullable=False, server_default=text("false")),
    Column("graph", JSONB, nullable=True),  # the draft graph (validated when saved)
    # Stored exactly as given and never rewritten by the engine.
    Column("start_payload", JSONB, nullable=False, server_default=text("""'{"payload": null}'::jsonb""")),
    Column("input_schema", JSONB, nullable=True),
    Column("env", JSONB, nullable=False, server_default="{}"),  # plain settings, seen as {{ $env.NAME }}
    Column("secrets", JSONB, nullable=False, server_default="{}"),  # references only, resolved per step
    Column("run_timeout_seconds", Float, nullable=True),
    Column("latest_version", Integer, nullable=False, server_default="0"),
    _uuid("created_by", nullable=True),
    _ts("created_at", nullable=False, default=True),
    _ts("updated_at", nullable=False, default=True),
    Index("ix_workflows_ws_created", "workspace_id", "created_at"),
)

workflow_versions = Table(
    "workflow_versions", metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    _tenant(),
    _workspace(),
    Column("workflow_id", UUID(as_uuid=False), ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("graph", JSONB, nullable=False),
    Column("input_schema", JSONB, nullable=True),
    Column("env", JSONB, nullable=False, server_default="{}"),
    Column("secrets", JSONB, nullable=False, server_default="{}"),
    Column("run_timeout_seconds", Float, nullable=True),
    Column("note", String(500), nullable=False, server_default=""),
    _uuid("created_by", nullable=True),
    _ts("created_at", nullable=False, default=True),
    UniqueConstraint("workflow_id", "number", name="uq_workflow_versions_number"),
)

runs = Table(
    "runs", metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    _tenant(),
    _workspace(),
    Column("workflow_id", UUID(as_uuid=False), ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    _uuid("version_id", nullable=True),
    Column("version_number", Integer, nullable=True),  # null: a test run of the draft
    Column("mode", String(20), nullable=False),  # test | production
    Column("status", String(20), nullable=False),  # running | success | failed | canceled
    Column("trigger", String(20), nullable=False, server_default="manual"),
    Column("input", JSONB, nullable=True),
    Column("trigger_info", JSONB, nullable=True),  # what the trigger knows of the start ($trigger); not input
    Column("graph", JSONB, nullable=False),  # exactly what this run executes
    Column("env", JSONB, nullable=False, server_default="{}"),
    Column("secret_refs", JSONB, nullable=False, server_default="{}"),  # references, never values
    Column("output", JSONB, nullable=True),
    Column("error", JSONB, nullable=True),
    Column("event_seq", BigInteger, nullable=False, server_default="0"),  # last run_events.seq
    _uuid("rerun_of", nullable=True),
    _uuid("created_by", nullable=True),
    _ts("deadline"),
    _ts("started_at"),
    _ts("finished_at"),
    _ts("created_at", nullable=False, default=True),
    Index("ix_runs_ws_created", "workspace_id", "created_at"),
    Index("ix_runs_workflow_created", "workflow_id", "created_at"),
    Index("ix_runs_running_deadline", "deadline", postgresql_where=text("status = 'running'")),
    Index("ix_runs_finished", "finished_at", postgresql_where=text("status <> 'running'")),  # retention
)

step_runs = Table(
    "step_runs", metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    _tenant(),
    _run(),
    Column("node_id", String(64), nullable=False),
    Column("instance_key", String(200), nullable=False, server_default=""),
    Column("attempt", Integer, nullable=False),
    Column("node_type", String(40), nullable=False),
    Column("template", String(200), nullable=True),
    Column("status", String(20), nullable=False),  # queued | running | success | failed | skipped | canceled
    Column("input", JSONB, nullable=True),
    Column("output", JSONB, nullable=True),
    Column("error", JSONB, nullable=True),
    Column("not_before", DateTime(timezone=True), nullable=True),
    Column("dispatched_at", DateTime(timezone=True), nullable=True),
    Column("lease_seconds", Float, nullable=False, server_default="90"),
    Column("lease_expires_at", DateTime(timezone=True), nullable=True),
    _uuid("claim_token", nullable=True),
    _uuid("claimed_by", nullable=True),  # the runtime worker holding the claim (runtime_workers.id)
    Column("reclaims", Integer, nullable=False, server_default="0"),
    Column("duration_ms", Float, nullable=True),
    _ts("started_at"),
    _ts("finished_at"),
    _ts("created_at", nullable=False, default=True),
    UniqueConstraint("run_id", "node_id", "instance_key", "attempt", name="uq_step_runs_attempt"),
    # Only in-flight rows: the per-run active count, and the sweeper's scans of queued and running rows.
    # Few indexes on purpose: every step inserts and updates a row here.
    Index("ix_step_runs_active", "run_id", postgresql_where=text("status IN ('queued', 'running')")),
    Index("ix_step_runs_claimed_by", "claimed_by", postgresql_where=text("status = 'running'")),
)

join_arrivals = Table(
    "join_arrivals", metadata,
    Column("seq", BigInteger, Identity(always=True), primary_key=True),  # recorded order
    _tenant(),
    _run(),
    Column("to_node", String(64), nullable=False),
    Column("to_key", String(200), nullable=False),
    Column("from_node", String(64), nullable=False),
    Column("from_key", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # arrived | skipped
    Column("payload", JSONB, nullable=True),
    Column("dropped", Boolean, nullable=False, server_default=text("false")),
    _ts("created_at", nullable=False, default=True),
    UniqueConstraint("run_id", "to_node", "to_key", "from_node", "from_key", name="uq_join_arrivals_delivery"),
)

fan_ins = Table(
    "fan_ins", metadata,
    _tenant(),
    _run(),
    Column("join_node", String(64), nullable=False),
    Column("join_key", String(200), nullable=False),
    Column("for_each", String(64), nullable=False),
    Column("expected_instances", Integer, nullable=False),
    _ts("created_at", nullable=False, default=True),
    PrimaryKeyConstraint("run_id", "join_node", "join_key", name="pk_fan_ins"),
)

run_events = Table(
    "run_events", metadata,
    _tenant(),
    _run(),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(40), nullable=False),
    _uuid("step_id", nullable=True),
    Column("node_id", String(64), nullable=True),
    Column("data", JSONB, nullable=False, server_default="{}"),
    _ts("created_at", nullable=False, default=True),
    PrimaryKeyConstraint("run_id", "seq", name="pk_run_events"),
)

step_logs = Table(
    "step_logs", metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    _tenant(),
    _run(),
    _uuid("step_id"),
    Column("node_id", String(64), nullable=False),
    Column("level", String(10), nullable=False),
    Column("message", Text, nullable=False),
    Column("fields", JSONB, nullable=False, server_default="{}"),
    _ts("at", nullable=False, default=True),
    Index("ix_step_logs_run", "run_id", "id"),
)

quarantined_steps = Table(
    "quarantined_steps", metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    _tenant(),
    _workspace(),
    _run(),
    _uuid("step_id"),  # the exhausted attempt
    Column("node_id", String(64), nullable=False),
    Column("instance_key", String(200), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("error", JSONB, nullable=True),
    Column("status", String(20), nullable=False, server_default="quarantined"),  # quarantined | redriven
    _uuid("redriven_step_id", nullable=True),
    _uuid("redriven_by", nullable=True),
    _ts("redriven_at"),
    _ts("created_at", nullable=False, default=True),
    Index("ix_quarantined_ws_created", "workspace_id", "created_at"),
)

TENANT_OWNED = ("workflows", "workflow_versions", "runs", "step_runs", "join_arrivals", "fan_ins",
                "run_events", "step_logs", "quarantined_steps")
