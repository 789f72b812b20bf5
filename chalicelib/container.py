"""The container of the process's collaborators, and where handlers find it.

:mod:`chalicelib.bootstrap` (the composition root) builds one :class:`Container`
per process and installs it; everything else only reads it with
:func:`current`. This module imports no service, adapter or route, so any
layer may read the container without an import cycle.

A collaborator that is costly or talks to the outside world (the KMS-backed
cipher, the queue client, the sandbox pool) is a :class:`Part`: built on its
first use, then kept while the container is warm. The tables (message kinds,
trigger kinds, tick jobs, run-finished listeners, demo seeders) are plain mappings, written
out in full in ``bootstrap.py`` so a reader sees every entry in one place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from sqlalchemy import Engine

    from chalicelib.adapters.mail import Mailer
    from chalicelib.adapters.queue import StepQueue
    from chalicelib.config import Settings
    from chalicelib.connectors.http_transport import HttpTransport
    from chalicelib.connectors.invoker import ActionInvoker as ConnectorInvoker
    from chalicelib.connectors.oauth2 import StateSigner
    from chalicelib.crypto.envelope import EnvelopeCipher
    from chalicelib.engine.code import CodeRunner
    from chalicelib.engine.step_types import StepCatalog
    from chalicelib.http.routing import IdempotencyStore
    from chalicelib.identity.principal import Principal
    from chalicelib.services.triggers.kinds.base import TriggerKind
    from chalicelib.services.triggers.ports import RunLedger, RunStarter, WorkflowDirectory
    from chalicelib.services.unit_of_work import UnitOfWork
    from chalicelib.services.workflows.ports import (
        ActionDefaults,
        ActionInvoker,
        CredentialResolver,
        ReferenceChecker,
        RunAdmission,
    )


MessageHandler = Callable[[dict[str, Any]], None]
TickJob = Callable[[], object]  # what a job returns (a count, a report) is only logged
RunFinishedListener = Callable[[str, str, str], None]  # (tenant_id, run_id, status)
DemoSeeder = Callable[[Any, dict[str, Any]], None]  # (uow, {slug: {"tenant_id", "workspaces", "users"}})


class Part[T]:
    """A collaborator built on first use (thread-safe, once) and reused while the container is warm."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._built = False
        self._lock = threading.Lock()

    @classmethod
    def of(cls, value: T) -> Part[T]:
        """A part that is already built (tests hand fakes in this way)."""
        part = cls(lambda: value)
        part._value, part._built = value, True
        return part

    def __call__(self) -> T:
        if not self._built:
            with self._lock:
                if not self._built:
                    self._value = self._build()
                    self._built = True
        return self._value  # type: ignore[return-value]

    def forget(self) -> None:
        """Drop the built value; the next use builds it again (tests that change the environment)."""
        with self._lock:
            self._value, self._built = None, False


@dataclass(frozen=True)
class UnitsOfWork:
    """How transactions are opened: in one tenant's scope, or in the system scope (all tenants)."""

    tenant: Callable[..., UnitOfWork]
    system: Callable[..., UnitOfWork]


@dataclass(frozen=True)
class Container:
    """Everything the handlers need from the outside world, and the process's dispatch tables."""

    # The settings and the database engine keep their own process caches (``config``, ``db.database_engine``).
    settings: Callable[[], Settings]
    database: Callable[[], Engine]  # the database engine (connection pool) of the application role
    units_of_work: UnitsOfWork
    step_queue: Part[StepQueue]
    mailer: Part[Mailer]
    cipher: Part[EnvelopeCipher]
    http_client: Part[httpx.Client]  # the pooled client of the ``http_request`` step
    http_transport: Part[HttpTransport]  # the pooled transport of connector actions and OAuth2 token requests
    code_runner: Part[CodeRunner]
    connector_invoker: Part[ConnectorInvoker]
    state_signer: Part[StateSigner]
    # The engine's ports into the connector platform.
    action_invoker: Part[ActionInvoker]
    credential_resolver: Part[CredentialResolver]
    reference_checker: Part[ReferenceChecker]
    action_defaults: Part[ActionDefaults]  # an action's declared retry, node templates' presets
    # The admission of runs started directly (API, rerun): the triggers' quota and concurrency limit.
    run_admission: Part[RunAdmission]
    # The triggers' ports into the engine.
    run_starter: Part[RunStarter]
    workflow_directory: Part[WorkflowDirectory]
    run_ledger: Part[RunLedger]
    clock: Callable[[], datetime]
    step_catalog: StepCatalog  # the step types the engine runs (``step_handlers.CATALOG``)
    # What the HTTP layer is given: who is calling (``Authorization`` → the principal, checked in a
    # transaction of its tenant that the caller goes on using, with the values of the ``checks=`` it asked
    # for read in the same statement), and the ``Idempotency-Key`` store.
    authenticator: Callable[..., AbstractContextManager[tuple[Principal, UnitOfWork, tuple[bool, ...]]]]
    # Spends one request of the principal's API rate limit (in the given transaction, or in one of its own
    # when ``None``): its RateLimit headers, or 429 ``rate_limited``.
    api_rate_limit: Callable[[Any, UnitOfWork | None], dict[str, str]]
    idempotency: IdempotencyStore
    message_kinds: Mapping[str, MessageHandler]
    # The kinds of trigger, by name: what the API accepts, how each is created, shown, rotated and ticked.
    trigger_kinds: Mapping[str, TriggerKind]
    tick_jobs: Mapping[str, TickJob]
    run_finished_listeners: tuple[RunFinishedListener, ...]
    demo_seeders: tuple[DemoSeeder, ...]

    def parts(self) -> list[Part[Any]]:
        return [value for value in vars(self).values() if isinstance(value, Part)]


class NotBootstrapped(RuntimeError):
    """The process has no container: its entry point did not call ``chalicelib.bootstrap.boot()``."""


_CURRENT: Container | None = None


def current() -> Container:
    """The process's container (installed by ``chalicelib.bootstrap``)."""
    if _CURRENT is None:
        raise NotBootstrapped("No container: call chalicelib.bootstrap.boot() in the process's entry point.")
    return _CURRENT


def _install(container: Container | None) -> None:
    """Make ``container`` the process's container (only ``chalicelib.bootstrap`` calls this)."""
    global _CURRENT
    _CURRENT = container
