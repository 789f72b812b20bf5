"""The composition root: the one place that wires the process's collaborators.

``app.py`` calls :func:`boot` once at import; the local runtime, the
operator commands and the benchmarks reach it through ``app.py`` or call it
themselves. Everything else reads what is wired here with
``chalicelib.container.current()``; nothing registers itself on import.

Costly parts (the KMS-backed cipher, queue and mail clients, the sandbox
pool) are built on first use and kept while the container is warm. Tests
build the container with fakes (:func:`boot` with parts, or :func:`replaced`
around one test) or with the local stack (:func:`boot` after the
environment points at it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx

import step_handlers
from chalicelib import container as registry
from chalicelib.adapters import aws
from chalicelib.adapters.code_sandbox import default_runner
from chalicelib.adapters.egress import outbound_client
from chalicelib.adapters.mail import CapturingMailer, Mailer, SesMailer
from chalicelib.adapters.pg_queue import PostgresStepQueue
from chalicelib.adapters.queue import SqsStepQueue, StepQueue
from chalicelib.config import Settings, get_settings
from chalicelib.connectors.http_transport import default_transport
from chalicelib.connectors.invoker import ActionInvoker as ConnectorInvoker
from chalicelib.connectors.oauth2 import StateSigner
from chalicelib.container import (
    Container,
    DemoSeeder,
    MessageHandler,
    Part,
    RunFinishedListener,
    TickJob,
    UnitsOfWork,
)
from chalicelib.crypto.kek import build_cipher
from chalicelib.db.database_engine import get_db_engine
from chalicelib.db.uow import system_uow, tenant_uow
from chalicelib.errors import ConfigurationError
from chalicelib.services import idempotency, messages, tenant_limits
from chalicelib.services.authentication import authenticated
from chalicelib.services.connectors import demo_data as connector_demo_data
from chalicelib.services.connectors.engine_bridge import (
    ConnectorActionDefaults,
    ConnectorActionInvoker,
    ConnectorCredentialResolver,
    ConnectorReferenceChecker,
)
from chalicelib.services.triggers import engine_adapters
from chalicelib.services.triggers.admission import DirectRunAdmission
from chalicelib.services.triggers.jobs import housekeeping_job
from chalicelib.services.triggers.kinds import cron, manual, webhook
from chalicelib.services.triggers.kinds.base import TriggerKind
from chalicelib.services.triggers.release import release_after_run
from chalicelib.services.workflows import demo_flows
from chalicelib.services.workflows.dispatch import MESSAGE_KIND
from chalicelib.services.workflows.ports import ProbedListener
from chalicelib.services.workflows.retention import queue_retention_job, retention_job
from chalicelib.services.workflows.runner import handle_step_message
from chalicelib.services.workflows.sweeper import sweep

__all__ = ["Container", "boot", "build", "container", "override", "replaced", "reset"]

# The step queue's message kinds and their handlers.
MESSAGE_KINDS: Mapping[str, MessageHandler] = {
    "probe": messages.probe,  # a round trip through the real queue (diagnostics, tests)
    MESSAGE_KIND: handle_step_message,  # run one workflow step
}

# The kinds of trigger, by name (one module each in services/triggers/kinds).
TRIGGER_KINDS: Mapping[str, TriggerKind] = {
    kind.name: kind for kind in (
        manual.KIND,  # started by hand
        webhook.KIND,  # a signed HTTP endpoint per trigger
        cron.KIND,  # the slots of a cron schedule, fired by the tick
    )
}

# The jobs of the scheduled tick, run in this order.
TICK_JOBS: Mapping[str, TickJob] = {
    "engine_sweeper": sweep,  # lost doorbells, expired leases, run timeouts
    "idempotency_keys": idempotency.purge_job,  # expired Idempotency-Key answers
    "triggers": housekeeping_job,  # cron slots, waiting runs, delivery retention
    "run_retention": retention_job,  # finished runs past ENGINE_RUN_RETENTION_DAYS, with their history
    "queue_retention": queue_retention_job,  # the embedded step queue's messages past retention (SQS: itself)
}

# Whether the tenant has runs waiting for a concurrency slot: evaluated by the statement that ends a run
# (index ix_pending_runs_tenant), so a run of a tenant with none waiting costs no transaction to find out.
WAITING_RUNS_PROBE = "EXISTS (SELECT 1 FROM pending_runs WHERE tenant_id = CAST(:tenant AS uuid) AND waiting)"

# Called after a run's final transaction commits (a ``ProbedListener`` only when its probe held there).
RUN_FINISHED_LISTENERS: tuple[RunFinishedListener, ...] = (
    # a finished run frees a slot for the tenant's waiting runs
    ProbedListener(WAITING_RUNS_PROBE, release_after_run),
)

# Each area's demo samples, added by ``demo.seed_if_empty`` / ``demo.reset`` after the tenants.
DEMO_SEEDERS: tuple[DemoSeeder, ...] = (connector_demo_data.seed, demo_flows.seed)


def _state_signer(settings: Callable[[], Settings]) -> Callable[[], StateSigner]:
    def build() -> StateSigner:
        key = settings().state_signing_key
        if not key or len(key.encode("utf-8")) < 32:
            raise ConfigurationError("STATE_SIGNING_KEY must be set (at least 32 characters) to use OAuth2.")
        return StateSigner(key.encode("utf-8"))

    return build


def _mailer(settings: Callable[[], Settings]) -> Callable[[], Mailer]:
    def build() -> Mailer:
        current = settings()
        if current.mail_backend == "ses":
            return SesMailer(aws.client("ses"), current.mail_sender)
        return CapturingMailer()

    return build


def _step_queue(settings: Callable[[], Settings]) -> Callable[[], StepQueue]:
    def build() -> StepQueue:
        current = settings()
        if current.step_queue_backend == "postgres":
            return PostgresStepQueue(current.step_queue_name, system_uow, dead_letter_queue=current.step_dlq_name)
        return SqsStepQueue(aws.client("sqs"), current.step_queue_name)

    return build


def _system_clock() -> datetime:
    return datetime.now(UTC)


def _as_part(value: Any) -> Part[Any]:
    return value if isinstance(value, Part) else Part.of(value)


def _constant(value: Any) -> Callable[[], Any]:
    return value if callable(value) else lambda: value


def build(**parts: Any) -> Container:
    """The container of this process: the given parts (values or :class:`Part`), the rest from the settings."""
    settings: Callable[[], Settings] = _constant(parts.pop("settings")) if "settings" in parts else get_settings
    http_client: Part[httpx.Client] = _as_part(parts.pop("http_client")) if "http_client" in parts \
        else Part(outbound_client)
    http_transport = Part(default_transport)
    defaults = Container(
        settings=settings,
        database=get_db_engine,
        units_of_work=UnitsOfWork(tenant=tenant_uow, system=system_uow),
        step_queue=Part(_step_queue(settings)),
        mailer=Part(_mailer(settings)),
        cipher=Part(build_cipher),
        http_client=http_client,
        http_transport=http_transport,
        code_runner=Part(default_runner),
        connector_invoker=Part(lambda: ConnectorInvoker(http_transport())),
        state_signer=Part(_state_signer(settings)),
        action_invoker=Part(ConnectorActionInvoker),
        credential_resolver=Part(ConnectorCredentialResolver),
        reference_checker=Part(ConnectorReferenceChecker),
        action_defaults=Part(ConnectorActionDefaults),
        run_admission=Part(DirectRunAdmission),
        run_starter=Part(engine_adapters.EngineRunStarter),
        workflow_directory=Part(engine_adapters.EngineWorkflows),
        run_ledger=Part(engine_adapters.EngineRuns),
        clock=_system_clock,
        step_catalog=step_handlers.CATALOG,
        authenticator=authenticated,
        api_rate_limit=tenant_limits.take_api_token,
        idempotency=idempotency.IdempotencyKeys(),
        message_kinds=MESSAGE_KINDS,
        trigger_kinds=TRIGGER_KINDS,
        tick_jobs=TICK_JOBS,
        run_finished_listeners=RUN_FINISHED_LISTENERS,
        demo_seeders=DEMO_SEEDERS,
    )
    return _with(defaults, parts)


def _with(base: Container, parts: dict[str, Any]) -> Container:
    unknown = set(parts) - set(vars(base))
    if unknown:
        raise TypeError(f"unknown container parts: {sorted(unknown)}")
    wrapped: dict[str, Any] = {name: _as_part(value) if isinstance(getattr(base, name), Part)
               else _constant(value) if name in ("settings", "database") else value
               for name, value in parts.items()}
    return replace(base, **wrapped)


_LOCK = threading.RLock()


def boot(**parts: Any) -> Container:
    """Build and install the process's container, once; with parts, (re)build it with them (tests)."""
    with _LOCK:
        if parts or registry._CURRENT is None:
            registry._install(build(**parts))
        return registry.current()


def container() -> Container:
    """The installed container."""
    return registry.current()


def override(**parts: Any) -> Container:
    """Replace parts of the installed container (tests, benchmarks)."""
    with _LOCK:
        registry._install(_with(boot(), parts))
        return registry.current()


@contextmanager
def replaced(**parts: Any) -> Iterator[Container]:
    """The installed container with some parts replaced for the duration of the block (tests)."""
    with _LOCK:
        before = boot()
        registry._install(_with(before, parts))
    try:
        yield registry.current()
    finally:
        with _LOCK:
            registry._install(before)


def reset() -> None:
    """Rebuild the installed container from the environment, without the parts tests replaced (tests)."""
    with _LOCK:
        if registry._CURRENT is not None:
            registry._install(build())
