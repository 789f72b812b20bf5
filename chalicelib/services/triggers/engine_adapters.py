"""The ports of ``ports`` implemented over the workflow engine (its tables and ``start_run``).

``chalicelib/bootstrap.py`` puts them into the container.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from chalicelib.db.uow import tenant_uow
from chalicelib.services.triggers.ports import WorkflowState
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.services.workflows import dispatch
from chalicelib.services.workflows import runs as engine_runs
from chalicelib.services.workflows.runs import NO_INPUT, WorkflowNotRunnable, start_run
from chalicelib.tables.triggers import trigger_deliveries as deliveries
from chalicelib.tables.workflows import runs, workflows

_RUN_NAMESPACE = uuid.UUID("5b0f4c3e-2d7a-4f61-9a55-3f1f0e9c7d21")


class EngineRunStarter:
    """Starts runs with the engine's ``start_run`` (its own transaction, doorbell after commit).

    ``input=None`` starts with the workflow's stored start payload.

    It is also a ``TransactionalRunStarter``: ``prepare`` and ``launch`` start a run inside the
    trigger's own transaction (one commit per accepted delivery).
    """

    def prepare(self, uow: UnitOfWork, workspace_id: str, workflow_id: str, *, mode: str, input: Any) -> Any:
        return engine_runs.prepare(uow, workspace_id, workflow_id, mode=mode,
                                   input=NO_INPUT if input is None else input)

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
    """Counts a tenant's executing runs in the engine's ``runs`` table."""

    def running(self, uow: UnitOfWork, tenant_id: str) -> int:
        return int(uow.execute(select(func.count()).select_from(runs).where(
            runs.c.tenant_id == tenant_id, runs.c.status == "running")).scalar() or 0)


# The engine's "this workflow cannot run in this mode" errors (recorded as ``not_production``).
NOT_RUNNABLE_ERRORS: tuple[type[BaseException], ...] = (WorkflowNotRunnable,)
