"""What triggers need from the workflow engine, as small ports with hooks to plug it in.

- :class:`RunStarter` — ``start(tenant_id, workspace_id, workflow_id, *, mode,
  input, trigger_id, delivery_id, kind) -> run_id``: create a run and enqueue
  its first step (the engine's ``start_run``).
- :class:`WorkflowDirectory` — ``state(uow, workflow_id)``: whether the
  workflow exists in the transaction's tenant, its status and ``enabled``.
- :class:`RunLedger` — ``running(uow, tenant_id)``: how many of the tenant's
  runs are executing now (the concurrency limit's count).

The engine adapters in ``engine_adapters`` are installed by default; tests and
benchmarks replace them with ``set_run_starter`` and friends. Until the engine
offers ``start_run``, the default starter refuses clearly with
``engine_unavailable`` (503), so no delivery is ever accepted without a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from chalicelib.errors import DependencyUnavailable

PRODUCTION = "production"
TEST = "test"


class EngineUnavailable(DependencyUnavailable):
    """The workflow engine cannot start runs (not installed in this deployment)."""

    code, default_message = "engine_unavailable", "The workflow engine cannot start runs."


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

    def prepare(self, uow: Any, workspace_id: str, workflow_id: str, *, mode: str, input: Any) -> Any: ...

    def launch(self, uow: Any, prepared: Any, *, run_id: str, kind: str,
               trigger_info: dict[str, Any]) -> Callable[[], None]: ...


class WorkflowDirectory(Protocol):
    def state(self, uow: Any, workflow_id: str) -> WorkflowState | None: ...


class RunLedger(Protocol):
    def running(self, uow: Any, tenant_id: str) -> int: ...


class NoRunStarter:
    """Default until the engine's ``start_run`` exists: refuse, so the sender retries later."""

    def start(self, tenant_id: str, workspace_id: str, workflow_id: str, *, mode: str, input: Any,
              trigger_id: str, delivery_id: str, kind: str = "manual") -> str:
        raise EngineUnavailable("Runs cannot be started: the workflow engine's start_run is not available.")


_starter: RunStarter | None = None
_directory: WorkflowDirectory | None = None
_ledger: RunLedger | None = None


def set_run_starter(starter: RunStarter | None) -> None:
    """Plug in how runs start (``None`` restores the engine adapter)."""
    global _starter
    _starter = starter


def set_workflow_directory(directory: WorkflowDirectory | None) -> None:
    global _directory
    _directory = directory


def set_run_ledger(ledger: RunLedger | None) -> None:
    global _ledger
    _ledger = ledger


def run_starter() -> RunStarter:
    if _starter is not None:
        return _starter
    from chalicelib.services.triggers import engine_adapters

    return engine_adapters.default_starter()


def workflow_directory() -> WorkflowDirectory:
    if _directory is not None:
        return _directory
    from chalicelib.services.triggers import engine_adapters

    return engine_adapters.ENGINE_WORKFLOWS


def run_ledger() -> RunLedger:
    if _ledger is not None:
        return _ledger
    from chalicelib.services.triggers import engine_adapters

    return engine_adapters.ENGINE_RUNS
