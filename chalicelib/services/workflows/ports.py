"""What the engine needs from the connector platform, as small ports with safe defaults.

The connector platform (apps, actions, connections, the action invoker) plugs
in through three hooks, each a protocol with one method:

- :class:`CredentialResolver` — ``resolve(CredentialRequest) -> ResolvedCredentials``:
  a node's connection, else the template's default connection; whether the
  template needs one at all. Also resolves workflow secret references.
- :class:`ActionInvoker` — ``invoke(ActionCall) -> dict``: calls an app action.
- :class:`ActionDefaults` — ``retry(tenant, workspace, template)``: the retry
  defaults the action a template names declares (they feed the step's policy);
  ``presets(uow, refs)``: the preset config of the node templates (``tpl:``)
  a graph names, applied to its nodes (``chalicelib.engine.presets``).
- :class:`RunAdmission` — ``admit(uow, tenant_id)``: in the transaction that
  inserts a run started directly (API, rerun), refuse it (429) past the
  tenant's hourly quota or concurrency limit (the triggers' admission).
- :class:`ReferenceChecker` — ``missing(tenant, workspace, templates, connections)``:
  which of a graph's templates and connections do not exist (graph validation);
  ``secret_fields(tenant, workspace, connections)``: the fields a workflow
  secret reference may read from each existing connection.

``chalicelib/bootstrap.py`` plugs the connector platform's adapters in
(``services/connectors/engine_bridge.py``). Without a connector platform (a
container built with the ``No*`` ports below), a node that needs a connection
or an action fails without retry with ``no_connector_platform``;
``http_request`` nodes without a connection work regardless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.container import current
from chalicelib.engine.errors import NonRetryableStepError
from chalicelib.observability import logger
from chalicelib.services.unit_of_work import UnitOfWork


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


class ActionDefaults(Protocol):
    def retry(self, tenant_id: str, workspace_id: str, template: str) -> Mapping[str, Any] | None: ...

    def presets(self, uow: UnitOfWork, refs: set[str]) -> dict[str, dict[str, Any]]: ...


class RunAdmission(Protocol):
    def admit(self, uow: UnitOfWork, tenant_id: str) -> None: ...


class ReferenceChecker(Protocol):
    def missing(self, tenant_id: str, workspace_id: str, templates: set[str],
                connections: set[str]) -> tuple[set[str], set[str]]: ...

    def secret_fields(self, tenant_id: str, workspace_id: str,
                      connections: set[str]) -> dict[str, frozenset[str]]: ...


class NoCredentialResolver:
    """Without a connector platform: nodes without a connection or template need nothing; anything else is refused."""

    def resolve(self, request: CredentialRequest) -> ResolvedCredentials:
        if request.connection_id is None and request.template is None:
            return ResolvedCredentials(None, required=False)
        raise NoConnectorPlatform("This step needs a connection, and no connector platform is configured.")


class NoActionInvoker:
    """Without a connector platform: app actions cannot be called."""

    def invoke(self, call: ActionCall) -> dict[str, Any]:
        raise NoConnectorPlatform("App actions cannot run: no connector platform is configured.")


class NoReferenceChecker:
    """Without a connector platform: no template or connection exists, so graphs naming one fail validation clearly."""

    def missing(self, tenant_id: str, workspace_id: str, templates: set[str],
                connections: set[str]) -> tuple[set[str], set[str]]:
        return set(templates), set(connections)

    def secret_fields(self, tenant_id: str, workspace_id: str,
                      connections: set[str]) -> dict[str, frozenset[str]]:
        return {}  # no connection exists, so ``missing`` reports every one


class NoActionDefaults:
    """Without a connector platform: no action declares anything, so steps use the platform's policy."""

    def retry(self, tenant_id: str, workspace_id: str, template: str) -> Mapping[str, Any] | None:
        return None

    def presets(self, uow: UnitOfWork, refs: set[str]) -> dict[str, dict[str, Any]]:
        return {}


class AdmitEveryRun:
    """Without the triggers' admission: no tenant limits on runs started directly."""

    def admit(self, uow: UnitOfWork, tenant_id: str) -> None:
        return None


@dataclass(frozen=True)
class ProbedListener:
    """A run-finished listener with a *probe*: an SQL condition (it may use ``:tenant``, the run's tenant id as
    text) that the statement ending the run evaluates in the same transaction. The listener is called only
    when it held, so a listener with nothing to do (no waiting runs, say) costs no transaction of its own.
    """

    probe: str
    listener: Callable[[str, str, str], None]

    def __call__(self, tenant_id: str, run_id: str, status: str) -> None:
        self.listener(tenant_id, run_id, status)


def notify_run_finished(tenant_id: str, run_id: str, status: str, *, probed: Mapping[str, bool] | None = None) -> None:
    """Call the container's run-finished listeners after a run's final transaction commits.

    ``probed``: the probes the ending statement evaluated; a :class:`ProbedListener` whose probe was
    found false is not called (one whose probe was not evaluated is). Listeners run on the step path:
    keep them short; a failing one is logged and ignored (the triggers' tick catches up with anything
    a listener missed).
    """
    for listener in current().run_finished_listeners:
        if isinstance(listener, ProbedListener) and probed is not None and probed.get(listener.probe) is False:
            continue
        try:
            listener(tenant_id, run_id, status)
        except Exception:
            logger.exception("run-finished listener failed", extra={"run_id": run_id})
