"""The immutable facts of a run, parsed once per process and cached.

A run's graph, environment, secret references, mode and deadline never change
after it starts, so the runner parses them once (on a cache miss) instead of
per step. Per-node retry and timeout policies are computed on first use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from chalicelib.cache import BoundedCache
from chalicelib.container import current
from chalicelib.db.uow import tenant_uow
from chalicelib.engine.errors import ConfigInvalid
from chalicelib.engine.graph import Graph, parse_graph
from chalicelib.engine.node_config import step_policies
from chalicelib.engine.retry import RetryPolicy, StepTimeouts
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.services.workflows.settings import EngineSettings, engine_settings
from chalicelib.tables.workflows import runs


@dataclass
class RunContext:
    """What every step of one run shares."""

    run_id: str
    tenant_id: str
    workspace_id: str
    workflow_id: str
    mode: str
    graph: Graph
    env: dict[str, Any]
    secret_refs: dict[str, Any]
    deadline: dt.datetime | None
    started_at: dt.datetime | None
    # How the run began (manual, webhook, schedule, rerun), its version and its input: what
    # expressions see as $trigger and $run.
    trigger: str = "manual"
    version_number: int | None = None
    input: Any = None
    trigger_info: dict[str, Any] | None = None
    _policies: dict[str, tuple[RetryPolicy, StepTimeouts]] = field(default_factory=dict, repr=False)
    _retries: dict[str, RetryPolicy] = field(default_factory=dict, repr=False)

    def policies(self, node_id: str) -> tuple[RetryPolicy, StepTimeouts]:
        """The node's retry policy and timeouts (node config over the platform's, per engine settings).

        A node whose settings are invalid (validated at save time, so only an
        old graph) runs with the platform's policies; its config error surfaces
        when the handler renders it.
        """
        found = self._policies.get(node_id)
        if found is None:
            found = _graph_policies(self.graph, node_id)
            self._policies[node_id] = found
        return found

    def retry_policy(self, node_id: str) -> RetryPolicy:
        """The node's retry policy: its own ``retry`` over its action's declared defaults over the platform's.

        Looked up (through the ``ActionDefaults`` port) only when an attempt failed, outside any
        transaction; kept for the run's later attempts.
        """
        found = self._retries.get(node_id)
        if found is None:
            node = self.graph.node(node_id)
            declared = None
            if node.type == "action" and node.template:
                declared = current().action_defaults().retry(self.tenant_id, self.workspace_id, node.template)
            settings = engine_settings()
            try:
                found = step_policies(dict(node.config), {"retry": declared} if declared else None,
                                      platform_retry=settings.retry, platform_timeouts=settings.timeouts)[0]
            except ConfigInvalid:
                found = self.policies(node_id)[0]
            self._retries[node_id] = found
        return found

    def lease_seconds(self, node_id: str) -> float:
        return self.policies(node_id)[1].step_seconds + engine_settings().lease_grace_seconds


# A node's policies depend on its config and the engine's settings only: computed once per graph (every run
# of a published version shares its parsed graph) and settings object, not once per run.
_POLICIES: weakref.WeakKeyDictionary[Graph, dict[str, tuple[EngineSettings, tuple[RetryPolicy, StepTimeouts]]]] = (
    weakref.WeakKeyDictionary())
_POLICIES_LOCK = threading.Lock()


def _graph_policies(graph: Graph, node_id: str) -> tuple[RetryPolicy, StepTimeouts]:
    settings = engine_settings()
    with _POLICIES_LOCK:
        known = _POLICIES.setdefault(graph, {}).get(node_id)
    if known is not None and known[0] is settings:
        return known[1]
    try:
        found = step_policies(dict(graph.node(node_id).config), platform_retry=settings.retry,
                              platform_timeouts=settings.timeouts)
    except ConfigInvalid:
        found = (settings.retry, settings.timeouts)
    with _POLICIES_LOCK:
        _POLICIES.setdefault(graph, {})[node_id] = (settings, found)
    return found


def _cache_size() -> int:
    return engine_settings().graph_cache_size


_CONTEXTS: BoundedCache[str, RunContext] = BoundedCache(_cache_size)
_GRAPHS: BoundedCache[str, Graph] = BoundedCache(_cache_size)


def graph_of(document: Any) -> Graph:
    """The parsed graph of a stored document, shared by every run of the same graph.

    Validation walks every node's config schema, which costs far more than a
    step; runs of one workflow version share one document, so it is parsed
    once per process and found again by the document's digest.
    """
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    found = _GRAPHS.get(digest)
    if found is not None:
        return found
    # A stored graph saved before the $secrets placement rule still runs; the runner never renders
    # a misplaced reference, so skipping that one rule here leaks nothing.
    graph = parse_graph(document, catalog=current().step_catalog, secret_placement=False)
    _GRAPHS.put(digest, graph)
    return graph


def load(tenant_id: str, run_id: str, uow: UnitOfWork | None = None) -> RunContext:
    """The run's context, from the cache or (once) from its row (in ``uow``, else a new unit of work)."""
    found = _CONTEXTS.get(run_id)
    if found is not None:
        return found
    if uow is None:
        with tenant_uow(tenant_id) as own:
            return load(tenant_id, run_id, own)
    row = uow.execute(
        select(runs.c.tenant_id, runs.c.workspace_id, runs.c.workflow_id, runs.c.mode, runs.c.graph, runs.c.env,
               runs.c.secret_refs, runs.c.deadline, runs.c.started_at, runs.c.trigger, runs.c.version_number,
               runs.c.input, runs.c.trigger_info).where(runs.c.id == run_id)
    ).mappings().first()
    if row is None:
        raise LookupError(f"run {run_id} not found")
    context = RunContext(
        run_id=run_id, tenant_id=str(row["tenant_id"]), workspace_id=str(row["workspace_id"]),
        workflow_id=str(row["workflow_id"]), mode=row["mode"], graph=graph_of(row["graph"]),
        env=dict(row["env"] or {}), secret_refs=dict(row["secret_refs"] or {}), deadline=row["deadline"],
        started_at=row["started_at"], trigger=row["trigger"], version_number=row["version_number"],
        input=row["input"], trigger_info=row["trigger_info"],
    )
    _CONTEXTS.put(run_id, context)
    return context


def remember(context: RunContext) -> None:
    """Cache a run's context made by its starter (the worker in this process then skips loading it)."""
    _CONTEXTS.put(context.run_id, context)
