"""Reading runs: lists, one run with its attempts, steps, logs, events, quarantine, the SSE body."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import select

from chalicelib.db.pagination import paginate, parse_limit, parse_time
from chalicelib.db.uow import tenant_uow
from chalicelib.engine.context import default_idempotency_key
from chalicelib.errors import BadRequest, NotFound
from chalicelib.json_codec import dumps
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.services.workflows.runs import present_run
from chalicelib.tables.workflows import join_arrivals, quarantined_steps, run_events, runs, step_logs, step_runs

RUN_STATUSES = ("running", "success", "failed", "canceled")
STREAM_RETRY_MS = 1000
MAX_STREAM_WAIT = 25.0  # below API Gateway's 29 s integration timeout
_STEP_COLUMNS = [c for c in step_runs.c if c.name not in ("tenant_id", "claim_token", "claimed_by")]


def list_runs(principal: Any, ws: str, params: dict[str, str]) -> dict[str, Any]:
    query = select(runs).where(runs.c.workspace_id == ws)
    if params.get("flow_id"):
        query = query.where(runs.c.workflow_id == _uuid_param(params["flow_id"], "flow_id"))
    if params.get("status"):
        if params["status"] not in RUN_STATUSES:
            raise BadRequest(f"status must be one of {', '.join(RUN_STATUSES)}.", code="invalid_filter")
        query = query.where(runs.c.status == params["status"])
    if params.get("mode"):
        query = query.where(runs.c.mode == params["mode"])
    if params.get("trigger"):
        query = query.where(runs.c.trigger == params["trigger"])
    after, before = parse_time(params, "created_after"), parse_time(params, "created_before")
    if after:
        query = query.where(runs.c.created_at >= after)
    if before:
        query = query.where(runs.c.created_at < before)
    with tenant_uow(principal.tenant_id) as uow:
        page = paginate(uow, query, runs, params)
    page["items"] = [present_run(r) for r in page["items"]]
    return page


def _uuid_param(value: str, name: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise BadRequest(f"{name} must be an id.", code="invalid_filter") from None


def _run(uow: UnitOfWork, ws: str, run_id: str) -> Any:
    row = uow.execute(select(runs).where(runs.c.id == run_id, runs.c.workspace_id == ws)).mappings().first()
    if row is None:
        raise NotFound("No such run.")
    return row


def get_run(principal: Any, ws: str, run_id: str) -> dict[str, Any]:
    """The run, the graph it executes, and every step attempt (oldest first)."""
    with tenant_uow(principal.tenant_id) as uow:
        row = _run(uow, ws, run_id)
        steps = uow.execute(select(*_STEP_COLUMNS).where(step_runs.c.run_id == run_id)
                            .order_by(step_runs.c.created_at, step_runs.c.attempt)).mappings().all()
    result = present_run(row, with_graph=True)
    result["steps"] = [_step(s) for s in steps]
    return result


def _step(row: Any) -> dict[str, Any]:
    """A step attempt as answered, with the idempotency key its action calls carry."""
    step = dict(row)
    step["idempotency_key"] = default_idempotency_key(str(step["run_id"]), step["node_id"], step["attempt"],
                                                      step["instance_key"])
    return step


def list_steps(principal: Any, ws: str, run_id: str, params: dict[str, str]) -> dict[str, Any]:
    query = select(*_STEP_COLUMNS).where(step_runs.c.run_id == run_id)
    for name in ("node_id", "status"):
        if params.get(name):
            query = query.where(step_runs.c[name] == params[name])
    with tenant_uow(principal.tenant_id) as uow:
        _run(uow, ws, run_id)
        rows = uow.execute(query.order_by(step_runs.c.created_at, step_runs.c.attempt)).mappings().all()
    return {"items": [_step(r) for r in rows], "next_cursor": None}


MAX_ARRIVALS = 5000


def list_arrivals(principal: Any, ws: str, run_id: str, params: dict[str, str]) -> dict[str, Any]:
    """What reached the run's joins, in the order recorded: who arrived (or was skipped) at which
    wait_all / merge_race instance, and which arrivals a race dropped. Payloads stay with the steps."""
    query = select(join_arrivals.c.seq, join_arrivals.c.to_node, join_arrivals.c.to_key, join_arrivals.c.from_node,
                   join_arrivals.c.from_key, join_arrivals.c.kind, join_arrivals.c.dropped,
                   join_arrivals.c.created_at).where(join_arrivals.c.run_id == run_id)
    if params.get("node_id"):
        query = query.where(join_arrivals.c.to_node == params["node_id"])
    with tenant_uow(principal.tenant_id) as uow:
        _run(uow, ws, run_id)
        rows = uow.execute(query.order_by(join_arrivals.c.seq).limit(MAX_ARRIVALS)).mappings().all()
    return {"items": [dict(r) for r in rows], "next_cursor": None}


def list_logs(principal: Any, ws: str, run_id: str, params: dict[str, str]) -> dict[str, Any]:
    """Step log lines in order; ``after`` (a log id) pages forward."""
    limit = parse_limit(params)
    query = select(step_logs.c.id, step_logs.c.step_id, step_logs.c.node_id, step_logs.c.level,
                   step_logs.c.message, step_logs.c.fields, step_logs.c.at).where(step_logs.c.run_id == run_id)
    if params.get("after"):
        if not params["after"].isdigit():
            raise BadRequest("after must be a log id.", code="invalid_cursor")
        query = query.where(step_logs.c.id > int(params["after"]))
    if params.get("step_id"):
        query = query.where(step_logs.c.step_id == _uuid_param(params["step_id"], "step_id"))
    with tenant_uow(principal.tenant_id) as uow:
        _run(uow, ws, run_id)
        rows = uow.execute(query.order_by(step_logs.c.id).limit(limit + 1)).mappings().all()
    items = [dict(r) for r in rows[:limit]]
    return {"items": items, "next_cursor": str(items[-1]["id"]) if len(rows) > limit else None}


def events_after(tenant_id: str, ws: str, run_id: str, after: int, limit: int = 500) -> tuple[list[dict], str]:
    with tenant_uow(tenant_id) as uow:
        status = _run(uow, ws, run_id)["status"]
        rows = uow.execute(
            select(run_events.c.seq, run_events.c.type, run_events.c.step_id, run_events.c.node_id,
                   run_events.c.data, run_events.c.created_at)
            .where(run_events.c.run_id == run_id, run_events.c.seq > after)
            .order_by(run_events.c.seq).limit(limit)
        ).mappings().all()
    return [dict(r) for r in rows], status


def list_events(principal: Any, ws: str, run_id: str, params: dict[str, str]) -> dict[str, Any]:
    """The polling fallback of the stream: events after ``after`` (a seq)."""
    after = _seq(params.get("after"))
    events, status = events_after(principal.tenant_id, ws, run_id, after, parse_limit(params))
    return {"items": events, "run_status": status,
            "last_event_id": events[-1]["seq"] if events else after}


def _seq(raw: str | None) -> int:
    if raw in (None, ""):
        return 0
    if not str(raw).strip().isdigit():
        raise BadRequest("The last event id must be a non-negative integer.", code="invalid_event_id")
    return int(str(raw).strip())


def stream(principal: Any, ws: str, run_id: str, last_event_id: str | None, wait: str | None) -> str:
    """An SSE body: the events after ``last_event_id``, waiting up to ``wait`` seconds for the first one.

    Lambda answers whole bodies, so each response is one long poll: it returns
    as soon as there are events (or the run has ended, or the wait is over),
    and the client reconnects with ``Last-Event-ID`` — every event carries its
    ``id:`` (the run's seq), so the next body starts right after it, with no
    gap and no duplicate.
    """
    after = _seq(last_event_id)
    try:
        budget = min(MAX_STREAM_WAIT, max(0.0, float(wait))) if wait not in (None, "") else 10.0
    except ValueError:
        raise BadRequest("wait must be a number of seconds.", code="invalid_wait") from None
    deadline = time.monotonic() + budget
    pause = 0.05
    while True:
        events, status = events_after(principal.tenant_id, ws, run_id, after)
        if events or status != "running" or time.monotonic() >= deadline:
            break
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.5, 0.5)
    lines = [f"retry: {STREAM_RETRY_MS}", ""]
    for event in events:
        data = {"seq": event["seq"], "type": event["type"], "step_id": event["step_id"],
                "node_id": event["node_id"], "data": event["data"], "at": event["created_at"]}
        lines += [f"id: {event['seq']}", f"event: {event['type']}", f"data: {dumps(data)}", ""]
    if not events and status != "running":
        lines += [": run finished", ""]
    return "\n".join(lines) + "\n"


def list_quarantine(principal: Any, ws: str, params: dict[str, str]) -> dict[str, Any]:
    query = select(quarantined_steps).where(quarantined_steps.c.workspace_id == ws)
    if params.get("run_id"):
        query = query.where(quarantined_steps.c.run_id == _uuid_param(params["run_id"], "run_id"))
    if params.get("status"):
        query = query.where(quarantined_steps.c.status == params["status"])
    with tenant_uow(principal.tenant_id) as uow:
        page = paginate(uow, query, quarantined_steps, params)
    for item in page["items"]:
        item.pop("tenant_id", None)
    return page

