"""What the engine needs from the connector platform, as small ports with safe defaults.

The connector platform (apps, actions, connections, the action invoker) plugs
in through three hooks, each a protocol with one method:

- :class:`CredentialResolver` — ``resolve(CredentialRequest) -> ResolvedCredentials``:
  a node's connection, else the template's default connection; whether the
  template needs one at all. Also resolves workflow secret references.
- :class:`ActionInvoker` — ``invoke(ActionCall) -> dict``: calls an app action.
- :class:`ReferenceChecker` — ``missing(tenant, workspace, templates, connections)``:
  which of a graph's templates and connections do not exist (graph validation).

Until they are set (``set_credential_resolver``, ``set_action_invoker``,
``set_reference_checker``), the defaults refuse clearly: a node that needs a
connection or an action fails without retry with ``no_connector_platform``;
``http_request`` nodes without a connection work regardless. The HTTP client
the ``http_request`` step uses is created here once and reused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from chalicelib.adapters.egress import outbound_client
from chalicelib.engine.code import CodeRunner
from chalicelib.engine.errors import NonRetryableStepError


class NoConnectorPlatform(NonRetryableStepError):
    """A node needs connections or app actions and no connector platform is configured."""

    code, default_message = "no_connector_platform", "No connector platform is configured."


@dataclass(frozen=True)
class CredentialRequest:
    """Which credentials a node needs: its own connection, or its template's default."""

    tenant_id: str
    workspace_id: str
    node_type: str
    connection_id: str | None = None
    template: str | None = None


@dataclass(frozen=True)
class ResolvedCredentials:
    """The credentials (``None`` when none apply) and whether the node's template requires them."""

    credentials: Mapping[str, Any] | None = None
    required: bool = False


@dataclass(frozen=True)
class ActionCall:
    """One app action call; ``credentials`` travel beside the input, never inside it."""

    tenant_id: str
    workspace_id: str
    template: str
    input: dict[str, Any]
    credentials: Mapping[str, Any] | None
    idempotency_key: str
    deadline: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class CredentialResolver(Protocol):
    def resolve(self, request: CredentialRequest) -> ResolvedCredentials: ...


class ActionInvoker(Protocol):
    def invoke(self, call: ActionCall) -> dict[str, Any]: ...


class ReferenceChecker(Protocol):
    def missing(self, tenant_id: str, workspace_id: str, templates: set[str],
                connections: set[str]) -> tuple[set[str], set[str]]: ...


class NoCredentialResolver:
    """Default: nodes without a connection or template need nothing; anything else is refused."""

    def resolve(self, request: CredentialRequest) -> ResolvedCredentials:
        if request.connection_id is None and request.template is None:
            return ResolvedCredentials(None, required=False)
        raise NoConnectorPlatform("This step needs a connection, and no connector platform is configured.")


class NoActionInvoker:
    """Default: app actions cannot be called."""

    def invoke(self, call: ActionCall) -> dict[str, Any]:
        raise NoConnectorPlatform("App actions cannot run: no connector platform is configured.")


class NoReferenceChecker:
    """Default: no template or connection exists, so graphs naming one fail validation clearly."""

    def missing(self, tenant_id: str, workspace_id: str, templates: set[str],
                connections: set[str]) -> tuple[set[str], set[str]]:
        return set(templates), set(connections)


_LOCK = threading.Lock()
_resolver: CredentialResolver = NoCredentialResolver()
_invoker: ActionInvoker = NoActionInvoker()
_checker: ReferenceChecker = NoReferenceChecker()
_http: httpx.Client | None = None
_code: CodeRunner | None = None


def set_credential_resolver(resolver: CredentialResolver | None) -> None:
    """Plug in the connector platform's resolver (``None`` restores the default)."""
    global _resolver
    _resolver = resolver or NoCredentialResolver()


def set_action_invoker(invoker: ActionInvoker | None) -> None:
    """Plug in the connector platform's action invoker (``None`` restores the default)."""
    global _invoker
    _invoker = invoker or NoActionInvoker()


def set_reference_checker(checker: ReferenceChecker | None) -> None:
    """Plug in the lookup of templates and connections used by graph validation."""
    global _checker
    _checker = checker or NoReferenceChecker()


def credential_resolver() -> CredentialResolver:
    return _resolver


def action_invoker() -> ActionInvoker:
    return _invoker


def reference_checker() -> ReferenceChecker:
    return _checker


def http_client() -> httpx.Client:
    """One pooled client per process (connections reused while the container is warm)."""
    global _http
    if _http is None:
        with _LOCK:
            if _http is None:
                _http = outbound_client()
    return _http


def code_runner() -> CodeRunner:
    """The sandbox that runs code steps (a pool of V8 processes, started on first use)."""
    global _code
    if _code is None:
        with _LOCK:
            if _code is None:
                from chalicelib.adapters.code_sandbox import default_runner

                _code = default_runner()
    return _code


def set_code_runner(runner: CodeRunner | None) -> None:
    """Use another code runner (``None`` restores the default sandbox pool)."""
    global _code
    with _LOCK:
        _code = runner


def set_http_client(client: httpx.Client | None) -> None:
    global _http
    with _LOCK:
        _http = client


RunFinishedListener = Callable[[str, str, str], None]
_run_finished_listeners: list[RunFinishedListener] = []


def on_run_finished(listener: RunFinishedListener) -> None:
    """Call ``listener(tenant_id, run_id, status)`` after a run's final transaction commits.

    Listeners run on the step path: keep them short; a failing one is logged and ignored
    (the triggers' tick catches up with anything a listener missed).
    """
    if listener not in _run_finished_listeners:
        _run_finished_listeners.append(listener)


def notify_run_finished(tenant_id: str, run_id: str, status: str) -> None:
    from chalicelib.observability import logger

    for listener in list(_run_finished_listeners):
        try:
            listener(tenant_id, run_id, status)
        except Exception:
            logger.exception("run-finished listener failed", extra={"run_id": run_id})
