"""Starting runs and the operations on them: cancel, rerun (from the start, the failed step or a node), redrive.

``start_run`` is the one way a run begins — the runs API, and the triggers
(manual, webhook, cron) call it. In one transaction it picks the graph (test:
the draft, snapshotted; production: a published version), validates the
input against the runtime input schema, stores the run with the exact graph
it executes, queues the start step and records the first events; after
commit it rings the start step's doorbell.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import Interval, func, insert, literal, select, text, update

from chalicelib.container import current
from chalicelib.db.uow import tenant_uow
from chalicelib.engine.config_schema import pointer
from chalicelib.engine.retry import MAX_RUN_SECONDS
from chalicelib.engine.run_transitions import RUNNING, check_cancel, check_node_rerun, check_resume, plan_redrive
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.ids import new_id
from chalicelib.services import audit
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.services.workflows import definitions, dispatch, rungraph
from chalicelib.services.workflows.completion import cancel as cancel_in_txn
from chalicelib.services.workflows.rungraph import RunContext
from chalicelib.services.workflows.settings import engine_settings
from chalicelib.services.workflows.txn import RunTxn
from chalicelib.tables.workflows import quarantined_steps, runs, step_runs

MODES = ("test", "production")
RERUN = "rerun"  # the trigger label of a rerun of another run


class _NoInput:
    def __repr__(self) -> str:
        return "NO_INPUT"


NO_INPUT: Any = _NoInput()
"""Pass as ``input`` to start with the workflow's stored start payload."""


class WorkflowNotRunnable(Conflict):
    """The workflow cannot start a run in this mode (disabled, not in production, nothing published)."""

    code = "workflow_not_runnable"


def start_run(
    tenant_id: str,
    workspace_id: str,
    workflow_id: str,
    *,
    mode: str = "test",
    input: Any = NO_INPUT,
    version: int | None = None,
    trigger: str = "manual",
    actor: Any = None,
    run_id: str | None = None,
    trigger_info: dict[str, Any] | None = None,
    admitted: bool = False,
) -> dict[str, Any]:
    """Start a run and return it (as ``GET …/runs/{id}`` shows it, without steps).

    Unless ``admitted`` (a trigger's run, admitted when its delivery was), the
    tenant's admission (the container's ``run_admission``) decides in the transaction that
    inserts the run: 429 past the hourly quota or the concurrency limit.

    ``run_id`` makes the start idempotent: a caller that retries with the same
    id (a trigger re-driving one delivery after a crash) gets the run that
    already exists instead of a second one.

    ``mode`` ``test`` runs the draft graph (or ``version`` when given) whatever
    the workflow's status; ``production`` requires the workflow enabled and in
    ``production`` and runs ``version`` or the latest published version.
    ``input`` becomes the start step's payload; ``NO_INPUT`` uses the stored
    start payload's ``payload``. Raises ``NotFound``, ``WorkflowNotRunnable``
    (409) or ``ValidationFailed`` (422, input against the input schema).
    ``actor`` (a principal) is audited when given. ``trigger_info`` is what a
    trigger knows of the start (id, delivery, slot): kept beside the input and
    seen by expressions as ``$trigger``, never mixed into the input.
    """
    with tenant_uow(tenant_id) as uow:
        if run_id is not None:
            existing = uow.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
            if existing is not None:
                return present_run(existing)
        prepared = prepare(uow, workspace_id, workflow_id, mode=mode, input=input, version=version)
        if not admitted:
            current().run_admission().admit(uow, tenant_id)
        row, txn = launch(uow, prepared, run_id=run_id or new_id(), trigger=trigger, actor=actor,
                          trigger_info=trigger_info)
        if actor is not None:
            audit.record(uow, actor, "run.started", "run", row["id"],
                         after={"workflow_id": workflow_id, "mode": mode})
        uow.commit()
    dispatch.send(txn.doorbells)
    return present_run({**row, "event_seq": txn.seq})


@dataclass(frozen=True)
class PreparedRun:
    """What a run will execute, checked: the workflow, its graph source, the input (see :func:`prepare`)."""

    flow: dict[str, Any]
    source: dict[str, Any]
    mode: str
    payload: Any


def prepare(uow: UnitOfWork, workspace_id: str, workflow_id: str, *, mode: str, input: Any = NO_INPUT,
            version: int | None = None, flow: dict[str, Any] | None = None,
            published: dict[str, Any] | None = None) -> PreparedRun:
    """The reads and checks of a start, in ``uow`` (the tenant's), writing nothing.

    ``flow`` (the workflow's row) and ``published`` (its latest published version's row) skip those
    reads when the caller has them already (a webhook reads them with its trigger in one statement).
    Raises what :func:`start_run` raises: ``NotFound``, ``WorkflowNotRunnable``, ``ValidationFailed``.
    """
    if mode not in MODES:
        raise ValidationFailed("Unknown run mode.", details=[{"path": "/mode", "issue": f"one of {MODES}"}])
    flow = flow if flow is not None else definitions.load(uow, workspace_id, workflow_id)
    source = _source(uow, flow, mode, version, published)
    source["graph"] = definitions.with_presets(uow, source["graph"])
    payload = copy.deepcopy(flow["start_payload"]).get("payload") if input is NO_INPUT else input
    _check_input(source["input_schema"], payload)
    return PreparedRun(flow, source, mode, payload)


def launch(uow: UnitOfWork, prepared: PreparedRun, *, run_id: str, trigger: str, actor: Any = None,
           trigger_info: dict[str, Any] | None = None) -> tuple[dict[str, Any], RunTxn]:
    """Insert a prepared run and queue its start step in ``uow``; the caller commits, then sends
    ``txn.doorbells`` (``dispatch.send``)."""
    txn, row = _insert_run(uow, prepared.flow, prepared.source, run_id=run_id, mode=prepared.mode,
                           payload=prepared.payload, trigger=trigger, actor=actor, trigger_info=trigger_info)
    txn.queue_step(txn.run.graph.start_id, "", 1, prepared.payload)
    txn.write()
    return row, txn


def _source(uow: UnitOfWork, flow: dict[str, Any], mode: str, number: int | None,
            published: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a run executes: a published version, or the draft (test mode without a version)."""
    if mode == "production":
        if flow["status"] != "production" or not flow["enabled"]:
            raise WorkflowNotRunnable("Production runs need the workflow enabled and in production.")
    if number is not None or mode == "production":
        found = published if number is None and published is not None else definitions.version(
            uow, flow["id"], number)
        if found is None:
            raise WorkflowNotRunnable("No such published version." if number is not None
                                      else "The workflow has no published version.")
        return {"graph": found["graph"], "version_id": found["id"], "version_number": found["number"],
                "input_schema": found["input_schema"], "env": found["env"], "secrets": found["secrets"],
                "run_timeout_seconds": found["run_timeout_seconds"]}
    if flow["graph"] is None:
        raise WorkflowNotRunnable("The workflow has no graph yet.", code="no_graph")
    return {"graph": flow["graph"], "version_id": None, "version_number": None,
            "input_schema": flow["input_schema"], "env": flow["env"], "secrets": flow["secrets"],
            "run_timeout_seconds": flow["run_timeout_seconds"]}


def _check_input(schema: Any, payload: Any) -> None:
    if schema is None:
        return
    errors = sorted(Draft202012Validator(schema).iter_errors(payload), key=lambda e: list(map(str, e.path)))
    if errors:
        raise ValidationFailed("The run input does not match the workflow's input schema.",
                               details=[{"path": "/input" + pointer(e.absolute_path), "issue": e.message[:200]}
                                        for e in errors[:20]])


def _insert_run(uow: UnitOfWork, flow: dict[str, Any], source: dict[str, Any], *, run_id: str, mode: str, payload: Any,
                trigger: str, actor: Any, rerun_of: str | None = None,
                trigger_info: dict[str, Any] | None = None) -> tuple[RunTxn, dict[str, Any]]:
    """Insert the run row (running; the insert holds its lock), cache its context, open its transaction."""
    graph = rungraph.graph_of(source["graph"])  # validated when saved; parsed once per process
    seconds = min(source["run_timeout_seconds"] or engine_settings().timeouts.run_seconds, MAX_RUN_SECONDS)
    row = dict(uow.execute(insert(runs).values(
        id=run_id, tenant_id=flow["tenant_id"], workspace_id=flow["workspace_id"], workflow_id=flow["id"],
        version_id=source["version_id"], version_number=source["version_number"], mode=mode, status="running",
        trigger=trigger, input=payload, trigger_info=trigger_info, graph=source["graph"], env=source["env"] or {},
        secret_refs=source["secrets"] or {}, rerun_of=rerun_of, started_at=func.now(),
        deadline=func.now() + literal(dt.timedelta(seconds=seconds), Interval),
        created_by=getattr(actor, "actor_id", None) if _uuid_like(getattr(actor, "actor_id", None)) else None,
    ).returning(*runs.c)).mappings().one())
    context = RunContext(run_id=run_id, tenant_id=str(flow["tenant_id"]), workspace_id=str(flow["workspace_id"]),
                         workflow_id=str(flow["id"]), mode=mode, graph=graph, env=dict(source["env"] or {}),
                         secret_refs=dict(source["secrets"] or {}), deadline=row["deadline"],
                         started_at=row["started_at"], trigger=trigger,
                         version_number=source["version_number"], input=payload, trigger_info=trigger_info)
    rungraph.remember(context)
    txn = RunTxn(uow=uow, run=context, status="running", seq=0, now=row["started_at"])
    txn.event("run.started", mode=mode, trigger=trigger, version=source["version_number"], rerun_of=rerun_of)
    return txn, row


def get_run_row(tenant_id: str, run_id: str) -> dict[str, Any]:
    with tenant_uow(tenant_id) as uow:
        row = uow.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
    if row is None:
        raise NotFound("No such run.")
    return present_run(row)


def present_run(row: Any, *, with_graph: bool = False) -> dict[str, Any]:
    data = dict(row)
    for hidden in ("tenant_id", "event_seq", "env", "secret_refs"):
        data.pop(hidden, None)
    if not with_graph:
        data.pop("graph", None)
    data["last_event_id"] = row["event_seq"]
    return data


def _locked_run(uow: UnitOfWork, ws: str, run_id: str) -> tuple[dict[str, Any], RunTxn]:
    row = uow.execute(select(runs.c.tenant_id, runs.c.workspace_id).where(
        runs.c.id == run_id, runs.c.workspace_id == ws)).first()
    if row is None:
        raise NotFound("No such run.")
    context = rungraph.load(str(row[0]), run_id, uow)
    txn = RunTxn.begin(uow, context)
    return {"tenant_id": str(row[0])}, txn


def cancel_run(principal: Any, ws: str, run_id: str) -> dict[str, Any]:
    """Queued steps are canceled at once; a running step may finish but enqueues nothing."""
    with tenant_uow(principal.tenant_id) as uow:
        _, txn = _locked_run(uow, ws, run_id)
        check_cancel(txn.status)
        cancel_in_txn(txn)
        txn.write()
        audit.record(uow, principal, "run.canceled", "run", run_id)
        uow.commit()
    return get_run_row(principal.tenant_id, run_id)


def rerun(principal: Any, ws: str, run_id: str, *, start_from: str = "start", version: str = "same",
          node_id: str | None = None) -> dict:
    """A new run with the prior input: from the start, resuming at the failed step(s), or at ``node_id``.

    ``node`` and ``failed`` share one mechanism (:func:`_resume`): what the prior run finished is carried
    over and the rest queued again with the input it received; from a node, that node and everything
    it reaches are not carried over, and the node is queued with its prior input.
    """
    with tenant_uow(principal.tenant_id) as uow:
        old = uow.execute(select(runs).where(runs.c.id == run_id, runs.c.workspace_id == ws)).mappings().first()
        if old is None:
            raise NotFound("No such run.")
        flow = definitions.load(uow, ws, str(old["workflow_id"]))
        if version == "same":
            source = {"graph": old["graph"], "version_id": old["version_id"],
                      "version_number": old["version_number"], "input_schema": None, "env": old["env"],
                      "secrets": old["secret_refs"], "run_timeout_seconds": flow["run_timeout_seconds"]}
        else:
            source = _source(uow, flow, old["mode"], None)
            source["graph"] = definitions.with_presets(uow, source["graph"])
        if start_from == "failed":
            check_resume(old["status"], version=version)
        elif start_from == "node":
            check_node_rerun(old["status"])
        current().run_admission().admit(uow, principal.tenant_id)
        new_id_ = new_id()
        txn, _ = _insert_run(uow, flow, source, run_id=new_id_, mode=old["mode"], payload=old["input"],
                             trigger=RERUN, actor=principal, rerun_of=run_id)
        if start_from == "failed":
            _resume(txn, run_id)
        elif start_from == "node":
            _resume(txn, run_id, restart_at=str(node_id))
        else:
            txn.queue_step(txn.run.graph.start_id, "", 1, old["input"])
        txn.settle()
        audit.record(uow, principal, "run.rerun", "run", new_id_,
                     after={"rerun_of": run_id, "from": start_from, "version": version,
                            **({"node_id": node_id} if start_from == "node" else {})})
        uow.commit()
    dispatch.send(txn.doorbells)
    return get_run_row(principal.tenant_id, new_id_)


class RerunNodeUnknown(ValidationFailed):
    """The node to re-run from is not in the graph the new run executes."""

    code = "rerun_node_unknown"


class RerunNodeDidNotRun(ValidationFailed):
    """The node to re-run from has no recorded input in the prior run (it was skipped or never reached)."""

    code = "rerun_node_not_run"


# The newest attempt of every step instance of the prior run; ``:redo`` (the nodes a restart runs again)
# and ``:known`` (the nodes of the new run's graph) choose what is carried over.
_COPY_DONE = text(
    """
    INSERT INTO step_runs (id, tenant_id, run_id, node_id, instance_key, attempt, node_type, template, status,
                           input, output, error, lease_seconds, duration_ms, started_at, finished_at, created_at)
    SELECT gen_random_uuid(), s.tenant_id, CAST(:new AS uuid), s.node_id, s.instance_key, 1, s.node_type,
           s.template, s.status, s.input, s.output, s.error, s.lease_seconds, s.duration_ms, s.started_at,
           s.finished_at, s.created_at
    FROM (SELECT DISTINCT ON (node_id, instance_key) * FROM step_runs WHERE run_id = CAST(:old AS uuid)
          ORDER BY node_id, instance_key, attempt DESC) s
    WHERE s.status IN ('success', 'skipped')
      AND s.node_id = ANY(CAST(:known AS text[])) AND NOT s.node_id = ANY(CAST(:redo AS text[]))
    """
)
_COPY_ARRIVALS = text(
    """
    INSERT INTO join_arrivals (tenant_id, run_id, to_node, to_key, from_node, from_key, kind, payload, dropped,
                               created_at)
    SELECT tenant_id, CAST(:new AS uuid), to_node, to_key, from_node, from_key, kind, payload, dropped, created_at
    FROM join_arrivals WHERE run_id = CAST(:old AS uuid)
      AND to_node = ANY(CAST(:known AS text[])) AND from_node = ANY(CAST(:known AS text[]))
      AND NOT from_node = ANY(CAST(:redo AS text[]))
    ORDER BY seq
    """
)
_COPY_FAN_INS = text(
    """
    INSERT INTO fan_ins (tenant_id, run_id, join_node, join_key, for_each, expected_instances, created_at)
    SELECT tenant_id, CAST(:new AS uuid), join_node, join_key, for_each, expected_instances, created_at
    FROM fan_ins WHERE run_id = CAST(:old AS uuid)
      AND for_each = ANY(CAST(:known AS text[])) AND join_node = ANY(CAST(:known AS text[]))
      AND NOT for_each = ANY(CAST(:redo AS text[]))
    """
)
_UNFINISHED = text(
    """
    SELECT node_id, instance_key, input FROM (
        SELECT DISTINCT ON (node_id, instance_key) node_id, instance_key, input, status
        FROM step_runs WHERE run_id = CAST(:old AS uuid) ORDER BY node_id, instance_key, attempt DESC) s
    WHERE s.status NOT IN ('success', 'skipped')
      AND s.node_id = ANY(CAST(:known AS text[])) AND NOT s.node_id = ANY(CAST(:redo AS text[]))
    """
)
_RAN = text(
    """
    SELECT instance_key, input FROM (
        SELECT DISTINCT ON (instance_key) instance_key, input, status
        FROM step_runs WHERE run_id = CAST(:old AS uuid) AND node_id = :node ORDER BY instance_key, attempt DESC) s
    WHERE s.status <> 'skipped'
    ORDER BY instance_key
    """
)


def _resume(txn: RunTxn, old_run_id: str, *, restart_at: str | None = None) -> None:
    """Carry over what succeeded (steps, arrivals, fan-ins); queue again what did not finish.

    With ``restart_at``, that node and every node it reaches run again: nothing of theirs is carried
    over, and each instance of the node is queued with the input it received in the prior run.
    """
    graph = txn.run.graph
    redo: frozenset[str] = frozenset()
    restart: list[tuple[str, Any]] = []
    if restart_at is not None:
        if restart_at not in graph.nodes:
            raise RerunNodeUnknown("The node to re-run from is not in this version of the workflow.",
                                   details=[{"path": "/node_id", "issue": "no such node in the graph"}])
        restart = [(key, payload) for key, payload in
                   txn.uow.execute(_RAN, {"old": old_run_id, "node": restart_at}).all()]
        if not restart:
            raise RerunNodeDidNotRun("The node did not run in that run, so there is no input to re-run it with.",
                                     details=[{"path": "/node_id", "issue": "no recorded input in the prior run"}])
        redo = graph.downstream_of(restart_at)
    params = {"new": txn.run.run_id, "old": old_run_id, "redo": sorted(redo), "known": sorted(graph.nodes)}
    for statement in (_COPY_DONE, _COPY_ARRIVALS, _COPY_FAN_INS):
        txn.uow.execute(statement, params)
    for node_id, instance_key, payload in txn.uow.execute(_UNFINISHED, params).all():
        txn.queue_step(node_id, instance_key, 1, payload)
    for instance_key, payload in restart:
        txn.queue_step(str(restart_at), instance_key, 1, payload)


def redrive(principal: Any, ws: str, quarantine_id: str) -> dict[str, Any]:
    """Give a quarantined step one more attempt; a failed run becomes running again."""
    with tenant_uow(principal.tenant_id) as uow:
        item = uow.execute(select(quarantined_steps).where(
            quarantined_steps.c.id == quarantine_id, quarantined_steps.c.workspace_id == ws)).mappings().first()
        if item is None:
            raise NotFound("No such quarantined step.")
        _, txn = _locked_run(uow, ws, str(item["run_id"]))
        latest = uow.execute(select(step_runs.c.id, step_runs.c.attempt, step_runs.c.input).where(
            step_runs.c.run_id == item["run_id"], step_runs.c.node_id == item["node_id"],
            step_runs.c.instance_key == item["instance_key"]).order_by(step_runs.c.attempt.desc()).limit(1)).first()
        plan = plan_redrive(
            quarantine_status=item["status"], quarantined_step_id=str(item["step_id"]),
            latest_step_id=None if latest is None else str(latest[0]),
            latest_attempt=0 if latest is None else int(latest[1]),
            run_status=txn.status, deadline=txn.run.deadline, now=txn.now)
        if plan.reopen:
            txn.status = RUNNING
            txn.set_run(status=RUNNING, finished_at=None, error=None)
            txn.event("run.reopened", reason="redrive")
        step_id = txn.queue_step(item["node_id"], item["instance_key"], plan.attempt, latest[2])
        txn.event("step.redriven", step_id=step_id, node_id=item["node_id"], quarantine_id=quarantine_id)
        uow.execute(update(quarantined_steps).where(quarantined_steps.c.id == quarantine_id).values(
            status="redriven", redriven_step_id=step_id, redriven_at=txn.now,
            redriven_by=principal.actor_id if _uuid_like(principal.actor_id) else None))
        txn.write()
        audit.record(uow, principal, "step.redriven", "quarantined_step", quarantine_id,
                     after={"run_id": str(item["run_id"]), "node_id": item["node_id"]})
        result = dict(uow.execute(select(quarantined_steps).where(quarantined_steps.c.id == quarantine_id))
                      .mappings().one())
        uow.commit()
    dispatch.send(txn.doorbells)
    result.pop("tenant_id", None)
    return result


def _uuid_like(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 36
