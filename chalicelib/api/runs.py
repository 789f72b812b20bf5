"""``/api/workspaces/{ws}/runs``: runs, their steps, logs and event stream; quarantine; ``/api/metrics``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from chalice import Response
from pydantic import Field

from chalicelib.api.contract import CreatedRange, Query, SortedListQuery, id_param
from chalicelib.api.flow_models import (
    JoinArrivalPage,
    LogPage,
    Metrics,
    QuarantinedStep,
    QuarantinePage,
    RerunBody,
    Run,
    RunDetail,
    RunEvents,
    RunMode,
    RunPage,
    RunStatus,
    RunTrigger,
    StepAttemptPage,
    StepStatus,
    StreamEvent,
)
from chalicelib.db.pagination import parse_time
from chalicelib.errors import BadRequest
from chalicelib.http.access import VIEWER, Access, Ref
from chalicelib.http.responses import json_response
from chalicelib.http.routing import Call, Header, Routes
from chalicelib.identity.roles import Role
from chalicelib.services import tenancy
from chalicelib.services.workflows import metrics, run_queries
from chalicelib.services.workflows import runs as run_service
from chalicelib.tables.workflows import quarantined_steps, runs

routes = Routes("runs")
_EVENT_ID = re.compile(r"^[0-9]{1,18}$")



class RunFilters(SortedListQuery, CreatedRange):
    flow_id: str | None = id_param("Runs of this workflow.")
    status: RunStatus | None = None
    mode: RunMode | None = None
    trigger: RunTrigger | None = None


class StepFilters(Query):
    node_id: str | None = Field(None, max_length=64)
    status: StepStatus | None = None


class LogFilters(Query):
    limit: int | None = Field(None, ge=1, le=200, description="Lines per page (default 50).")
    after: int | None = Field(None, ge=0, le=2**62, description="A log id: lines after it.")
    step_id: str | None = id_param("Lines of this step attempt.")


class EventFilters(Query):
    limit: int | None = Field(None, ge=1, le=200, description="Events per page (default 50).")
    after: int | None = Field(None, ge=0, le=2**62, description="An event seq: events after it.")


class StreamQuery(Query):
    last_event_id: int | None = Field(None, ge=0, le=2**62, description="As the `Last-Event-ID` header (for clients "
                                      "that cannot set headers).")
    wait: float | None = Field(None, ge=0, le=3600, description="Seconds to wait for a first event (at most 25).")


class QuarantineFilters(SortedListQuery):
    run_id: str | None = id_param("Steps of this run.")
    status: Literal["quarantined", "redriven"] | None = None


class MetricsQuery(Query):
    since: dt.datetime | None = Field(None, description="RFC 3339; default: 24 hours ago.")
    workspace_id: str | None = id_param("Figures of this workspace only.")
    bucket_seconds: int | None = Field(None, ge=60, le=86400, description="Width of the `runs_over_time` buckets "
                                       "(default a minute; widened to keep at most 1,440 buckets).")


LAST_EVENT_ID = Header("Last-Event-ID", "Resume after this event seq (sent by browsers' EventSource on reconnect).",
                       {"type": "string", "pattern": "^[0-9]{1,18}$"})
BASE = "/api/workspaces/{ws}/runs"
RUN = {"run_id": Ref(runs)}
VIEW_RUN = Access(Role.VIEWER, ids=RUN)
BUILD_RUN = Access(Role.BUILDER, ids=RUN)
REDRIVE = Access(Role.BUILDER, ids={"quarantine_id": Ref(quarantined_steps)})


@routes.route(BASE, access=VIEWER, response=RunPage, query=RunFilters)
def list_runs(call: Call):
    """Filters: ``flow_id``, ``status``, ``mode``, ``trigger``, ``created_after``, ``created_before``."""
    return run_queries.list_runs(call.principal, call.params["ws"], call.query)


@routes.route(BASE + "/{run_id}", access=VIEW_RUN, response=RunDetail)
def get_run(call: Call):
    return run_queries.get_run(call.principal, call.params["ws"], call.params["run_id"])


@routes.route(BASE + "/{run_id}/steps", access=VIEW_RUN, response=StepAttemptPage, query=StepFilters)
def list_steps(call: Call):
    return run_queries.list_steps(call.principal, call.params["ws"], call.params["run_id"], call.query)


class ArrivalFilters(Query):
    node_id: str | None = Field(None, max_length=64, description="Arrivals at this join node.")


@routes.route(BASE + "/{run_id}/arrivals", access=VIEW_RUN, response=JoinArrivalPage, query=ArrivalFilters)
def list_arrivals(call: Call):
    """Arrivals at the run's joins: wait_all provenance, merge_race winner and dropped arrivals."""
    return run_queries.list_arrivals(call.principal, call.params["ws"], call.params["run_id"], call.query)


@routes.route(BASE + "/{run_id}/logs", access=VIEW_RUN, response=LogPage, query=LogFilters)
def list_logs(call: Call):
    return run_queries.list_logs(call.principal, call.params["ws"], call.params["run_id"], call.query)


@routes.route(BASE + "/{run_id}/events", access=VIEW_RUN, response=RunEvents, query=EventFilters)
def list_events(call: Call):
    """Polling fallback of the stream: ``?after=<seq>``."""
    return run_queries.list_events(call.principal, call.params["ws"], call.params["run_id"], call.query)


@routes.route(BASE + "/{run_id}/stream", access=VIEW_RUN, response=StreamEvent, media_type="text/event-stream",
              query=StreamQuery, headers=(LAST_EVENT_ID,))
def stream(call: Call):
    """Server-sent events after ``Last-Event-ID`` (or ``?last_event_id=``), long-polling up to ``?wait=``.

    Each event has ``id:`` (the run's seq), ``event:`` (its type) and ``data:`` (JSON). The body ends
    after the first events, when the run has ended, or when ``wait`` is over; the client reconnects
    with ``Last-Event-ID``. A browser's ``EventSource`` does that by itself but cannot set an
    ``Authorization`` header: fetch the stream with the header instead (e.g. a fetch-based
    event-source client), or poll ``…/events?after=<seq>``.
    """
    header = call.headers.get("last-event-id")
    if header is not None and not _EVENT_ID.match(header):
        raise BadRequest("Last-Event-ID must be an event id (digits).", code="invalid_event_id")
    last = header if header is not None else call.query.get("last_event_id")
    body = run_queries.stream(call.principal, call.params["ws"], call.params["run_id"], last,
                              call.query.get("wait"))
    return Response(body=body, status_code=200,
                    headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})


@routes.route(BASE + "/{run_id}/cancel", methods=("POST",), access=BUILD_RUN, response=Run)
def cancel(call: Call):
    return run_service.cancel_run(call.principal, call.params["ws"], call.params["run_id"])


@routes.route(BASE + "/{run_id}/rerun", methods=("POST",), access=BUILD_RUN, status=202, body=RerunBody,
              body_required=False, response=Run)
def rerun(call: Call):
    """A new run with the prior input: ``{"from": "start"|"failed"|"node", "version": "same"|"latest"}``.

    ``from: "node"`` with ``node_id`` starts at that node with the input it received in the prior
    (finished) run; what ran before it is carried over, the node and all it reaches run again.
    422 ``rerun_node_unknown`` when the node is not in the version the new run executes,
    422 ``rerun_node_not_run`` when it has no recorded input in the prior run (skipped or never
    reached); 409 ``run_state_conflict`` while the prior run is still running.
    """
    body = call.body(RerunBody) if call.raw_body.strip() else RerunBody()
    ws = call.params["ws"]
    run = run_service.rerun(call.principal, ws, call.params["run_id"], start_from=body.from_, version=body.version,
                            node_id=body.node_id)
    return json_response(run, 202, {"Location": f"/api/workspaces/{ws}/runs/{run['id']}"})


@routes.route("/api/workspaces/{ws}/quarantine", access=VIEWER, response=QuarantinePage, query=QuarantineFilters)
def list_quarantine(call: Call):
    """Steps that exhausted their retries; filters ``run_id``, ``status`` (quarantined | redriven)."""
    return run_queries.list_quarantine(call.principal, call.params["ws"], call.query)


@routes.route("/api/workspaces/{ws}/quarantine/{quarantine_id}/redrive", methods=("POST",), access=REDRIVE,
              response=QuarantinedStep)
def redrive(call: Call):
    return run_service.redrive(call.principal, call.params["ws"], call.params["quarantine_id"])


@routes.route("/api/metrics", access=VIEWER, response=Metrics, query=MetricsQuery)
def get_metrics(call: Call):
    """p50/p95 step latency and error rate per template, run outcomes; ``since`` (default 24 h), ``workspace_id``."""
    since = parse_time(call.query, "since") or dt.datetime.now(dt.UTC) - dt.timedelta(hours=24)
    principal = call.principal
    ws = call.query.get("workspace_id")
    if ws:
        tenancy.check_workspace_visible(principal, ws)
        scope: list[str] | None = [ws]
    else:
        # Members of some workspaces see figures of those only; owners, admins and API tokens of all.
        scope = None if principal.sees_all_workspaces else sorted(principal.workspace_ids)
    bucket = call.query.get("bucket_seconds")
    return metrics.summary(principal.tenant_id, since=since, workspace_ids=scope,
                           bucket_seconds=int(bucket) if bucket else None)
