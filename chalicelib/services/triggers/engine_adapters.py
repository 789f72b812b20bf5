"""The ports of ``ports`` implemented over the workflow engine (its tables and ``start_run``).

``chalicelib/bootstrap.py`` puts them into the container.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import column, func, select, text

from chalicelib.cache import BoundedCache
from chalicelib.db.uow import tenant_uow
from chalicelib.services.triggers.ports import WorkflowState
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.services.workflows import dispatch
from chalicelib.services.workflows import runs as engine_runs
from chalicelib.services.workflows.runs import NO_INPUT, WorkflowNotRunnable, start_run
from chalicelib.tables.triggers import trigger_deliveries as deliveries
from chalicelib.tables.triggers import triggers
from chalicelib.tables.workflows import runs, workflow_versions, workflows

_RUN_NAMESPACE = uuid.UUID("5b0f4c3e-2d7a-4f61-9a55-3f1f0e9c7d21")

# The workflow's columns a start needs (``runs.prepare``), read with the trigger in one statement.
_FLOW_COLUMNS = ("id", "tenant_id", "workspace_id", "status", "enabled", "start_payload", "input_schema", "env",
                 "secrets", "run_timeout_seconds")
_TRIGGER_COLUMNS = ", ".join(f"t.{c.name}" for c in triggers.c)
# One read for a webhook: its trigger, the workflow's state and start columns (the draft graph only for a
# test delivery) and the id of its latest published version, whose content comes from ``_VERSIONS``.
_TRIGGER_TARGET = text(
    f"""
    SELECT {_TRIGGER_COLUMNS},
           {", ".join(f"w.{c} AS w_{c}" for c in _FLOW_COLUMNS)},
           CASE WHEN CAST(:draft AS boolean) THEN w.graph END AS w_graph,
           v.id AS v_id
    FROM triggers t
    LEFT JOIN workflows w ON w.id = t.workflow_id AND w.workspace_id = t.workspace_id
    LEFT JOIN LATERAL (SELECT id FROM workflow_versions
                       WHERE workflow_id = t.workflow_id ORDER BY number DESC LIMIT 1) v ON true
    WHERE t.id = CAST(:id AS uuid)
    """
).columns(*triggers.c, *(column(f"w_{c}", workflows.c[c].type) for c in (*_FLOW_COLUMNS, "graph")),
          column("v_id", workflow_versions.c.id.type))
# A published version never changes: its row is kept by id (found through the tenant's own read above).
_VERSIONS: BoundedCache[str, dict[str, Any]] = BoundedCache(512)


@dataclass(frozen=True)
class StartTarget:
    """What a start reads of the engine, read already: the workflow's row (``None``: it is gone) and its
    latest published version's (``None``: nothing published)."""

    flow: dict[str, Any] | None
    published: dict[str, Any] | None

    @property
    def state(self) -> WorkflowState | None:
        if self.flow is None:
            return None
        return WorkflowState(str(self.flow["id"]), str(self.flow["status"]), bool(self.flow["enabled"]))


def load_trigger_target(uow: UnitOfWork, trigger_id: str, *, draft: bool) -> tuple[dict[str, Any], StartTarget] | None:
    """The trigger (in ``uow``'s tenant) with its start target, in one statement (``None``: no such trigger).

    ``draft``: also read the workflow's draft graph (a test delivery runs it)."""
    row = uow.execute(_TRIGGER_TARGET, {"id": trigger_id, "draft": draft}).mappings().first()
    if row is None:
        return None
    trigger = {c.name: row[c.name] for c in triggers.c}
    flow = None
    if row["w_id"] is not None:
        flow = {c: row[f"w_{c}"] for c in _FLOW_COLUMNS}
        flow["graph"] = row["w_graph"]
    return trigger, StartTarget(flow, _published(uow, row["v_id"]))


_START_TARGET = text(
    f"""
    SELECT {", ".join(f"w.{c} AS w_{c}" for c in _FLOW_COLUMNS)},
           CASE WHEN CAST(:draft AS boolean) THEN w.graph END AS w_graph,
           (SELECT id FROM workflow_versions WHERE workflow_id = w.id ORDER BY number DESC LIMIT 1) AS v_id
    FROM workflows w WHERE w.id = CAST(:id AS uuid)
    """
).columns(*(column(f"w_{c}", workflows.c[c].type) for c in (*_FLOW_COLUMNS, "graph")),
          column("v_id", workflow_versions.c.id.type))


def load_start_target(uow: UnitOfWork, workflow_id: str, *, draft: bool) -> StartTarget:
    """A workflow's start target in one statement (``flow`` ``None``: the workflow is gone)."""
    row = uow.execute(_START_TARGET, {"id": workflow_id, "draft": draft}).mappings().first()
    if row is None:
        return StartTarget(None, None)
    flow = {c: row[f"w_{c}"] for c in _FLOW_COLUMNS}
    flow["graph"] = row["w_graph"]
    return StartTarget(flow, _published(uow, row["v_id"]))


def _published(uow: UnitOfWork, version_id: Any) -> dict[str, Any] | None:
    if version_id is None:
        return None
    found = _VERSIONS.get(str(version_id))
    if found is None:
        found = dict(uow.execute(select(workflow_versions).where(workflow_versions.c.id == str(version_id)))
                     .mappings().one())
        _VERSIONS.put(str(version_id), found)
    return found


class EngineRunStarter:
    """Starts runs with the engine's ``start_run`` (its own transaction, doorbell after commit).

    ``input=None`` starts with the workflow's stored start payload.

    It is also a ``TransactionalRunStarter``: ``prepare`` and ``launch`` start a run inside the
    trigger's own transaction (one commit per accepted delivery).
    """

    def prepare(self, uow: UnitOfWork, workspace_id: str, workflow_id: str, *, mode: str, input: Any,
                target: StartTarget | None = None) -> Any:
        known: dict[str, Any] = {} if target is None or target.flow is None else {"flow": target.flow,
                                                                  "published": target.published}
        return engine_runs.prepare(uow, workspace_id, workflow_id, mode=mode,
                                   input=NO_INPUT if input is None else input, **known)

    def launch(self, uow: UnitOfWork, prepared: Any, *, run_id: str, kind: str,
               trigger_info: dict[str, Any]) -> Callable[[], None]:
        _, txn = engine_runs.launch(uow, prepared, run_id=run_id, trigger=kind, trigger_info=trigger_info)

        def ring() -> None:
            dispatch.send(txn.doorbells)

        return ring

    def start(self, tenant_id: str, workspace_id: str, workflow_id: str, *, mode: str, input: Any,
              trigger_id: str, delivery_id: str, kind: str = "manual") -> str:
        payload = NO_INPUT if input is None else input
        # One delivery, one run: the run id derives from the delivery, so a retried start finds the first run.
        run = start_run(tenant_id, workspace_id, workflow_id, mode=mode, input=payload, trigger=kind,
                        run_id=run_id_of(delivery_id),
                        trigger_info=trigger_info(tenant_id, trigger_id, delivery_id, kind),
                        admitted=True)  # admitted with its delivery (services.triggers.firing)
        return str(run["id"])


def run_id_of(delivery_id: str) -> str:
    """One delivery, one run: the run's id derives from the delivery's."""
    return str(uuid.uuid5(_RUN_NAMESPACE, delivery_id))


def _stamp(at: Any) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None


def trigger_info(tenant_id: str, trigger_id: str, delivery_id: str, kind: str) -> dict[str, Any]:
    """What every run started by a trigger knows of its start (``$trigger``), the same keys for every kind."""
    with tenant_uow(tenant_id) as uow:
        row = uow.execute(select(deliveries.c.external_id, deliveries.c.slot, deliveries.c.created_at)
                          .where(deliveries.c.id == delivery_id)).first()
    return info_of(trigger_id, kind, delivery_id, row.external_id if row else None, row.slot if row else None,
                   row.created_at if row else None)


def info_of(trigger_id: str, kind: str, delivery_id: str, external_id: str | None, slot: Any,
            received_at: Any) -> dict[str, Any]:
    """``$trigger`` from the delivery's fields."""
    return {"id": trigger_id, "kind": kind, "delivery_id": delivery_id, "external_id": external_id,
            "slot": _stamp(slot), "received_at": _stamp(received_at)}


class EngineWorkflows:
    """Reads a workflow's status and ``enabled`` from the engine's ``workflows`` table."""

    def state(self, uow: UnitOfWork, workflow_id: str) -> WorkflowState | None:
        query = select(workflows.c.status, workflows.c.enabled).where(workflows.c.id == workflow_id)
        row = uow.execute(query).first()
        return None if row is None else WorkflowState(workflow_id, str(row[0]), bool(row[1]))


class EngineRuns:
    """Counts a tenant's executing runs in the engine's ``runs`` table.

    ``running_sql`` is the same count as SQL (``:t`` the tenant, stopping at ``:bound`` rows), which the
    admission repository reads in its own statement (one round trip for every count of a decision)."""

    running_sql = ("SELECT count(*) FROM (SELECT 1 FROM runs WHERE tenant_id = CAST(:t AS uuid)"
                   " AND status = 'running' LIMIT :bound) r")

    def running(self, uow: UnitOfWork, tenant_id: str) -> int:
        return int(uow.execute(select(func.count()).select_from(runs).where(
            runs.c.tenant_id == tenant_id, runs.c.status == "running")).scalar() or 0)


# The engine's "this workflow cannot run in this mode" errors (recorded as ``not_production``).
NOT_RUNNABLE_ERRORS: tuple[type[BaseException], ...] = (WorkflowNotRunnable,)
