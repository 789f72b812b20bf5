"""What triggers need from the workflow engine, as small ports with hooks to plug it in.

- :class:`RunStarter` — ``start(tenant_id, workspace_id, workflow_id, *, mode,
  input, trigger_id, delivery_id, kind) -> run_id``: create a run and enqueue
  its first step (the engine's ``start_run``).
- :class:`WorkflowDirectory` — ``state(uow, workflow_id)``: whether the
  workflow exists in the transaction's tenant, its status and ``enabled``.
- :class:`RunLedger` — ``running(uow, tenant_id)``: how many of the tenant's
  runs are executing now (the concurrency limit's count).

``chalicelib/bootstrap.py`` wires the engine adapters of ``engine_adapters``
into the container; tests and benchmarks build the container with fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from chalicelib.services.unit_of_work import UnitOfWork

PRODUCTION = "production"
TEST = "test"


@dataclass(frozen=True)
class WorkflowState:
    """What gating needs to know about a workflow."""

    workflow_id: str
    status: str  # draft | test | production
    enabled: bool

    @property
    def runs_in_production(self) -> bool:
        return self.enabled and self.status == PRODUCTION


class RunStarter(Protocol):
    def start(self, tenant_id: str, workspace_id: str, workflow_id: str, *, mode: str, input: Any,
              trigger_id: str, delivery_id: str, kind: str = "manual") -> str: ...


@runtime_checkable
class TransactionalRunStarter(Protocol):
    """A starter that can also start a run inside the trigger's own transaction (one commit per delivery).

    ``prepare`` does the reads and checks (raising the engine's refusals, writing nothing);
    ``launch`` inserts the run and returns its id and what to do after commit (ring its doorbell).
    """

    def prepare(self, uow: UnitOfWork, workspace_id: str, workflow_id: str, *, mode: str, input: Any,
                target: Any = None) -> Any: ...

    def launch(self, uow: UnitOfWork, prepared: Any, *, run_id: str, kind: str,
               trigger_info: dict[str, Any]) -> Callable[[], None]: ...


class WorkflowDirectory(Protocol):
    def state(self, uow: UnitOfWork, workflow_id: str) -> WorkflowState | None: ...


class RunLedger(Protocol):
    def running(self, uow: UnitOfWork, tenant_id: str) -> int: ...
