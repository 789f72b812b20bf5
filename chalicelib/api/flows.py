"""``/api/workspaces/{ws}/flows``: workflows, their graph and versions, and starting runs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.api.contract import SortedListQuery
from chalicelib.api.flow_models import (
    CreateFlowBody,
    Flow,
    FlowPage,
    FlowStatus,
    FlowVersion,
    FlowVersionPage,
    GraphDocument,
    PublishBody,
    Run,
    StartRunBody,
    UpdateFlowBody,
    settings_fields,
)
from chalicelib.http.access import BUILDER, VIEWER, Access, Ref
from chalicelib.http.responses import json_response
from chalicelib.http.routing import Call, Routes
from chalicelib.identity.roles import Role
from chalicelib.services.triggers import manual
from chalicelib.services.workflows import definitions
from chalicelib.services.workflows import runs as run_service
from chalicelib.tables.workflows import workflows as workflows_table

routes = Routes("flows")

BASE = "/api/workspaces/{ws}/flows"
FLOW = {"flow_id": Ref(workflows_table)}


class FlowFilters(SortedListQuery):
    status: FlowStatus | None = None
    enabled: Literal["true", "false"] | None = None
    q: str | None = Field(None, max_length=200, description="Words in the title.")


VIEW_FLOW = Access(Role.VIEWER, ids=FLOW)
BUILD_FLOW = Access(Role.BUILDER, ids=FLOW)


@routes.route(BASE, access=VIEWER, response=FlowPage, query=FlowFilters, one_transaction=True)
def list_flows(call: Call):
    return definitions.list_(call.principal, call.params["ws"], call.query)


@routes.route(BASE, methods=("POST",), access=BUILDER, status=201, body=CreateFlowBody, response=Flow)
def create_flow(call: Call):
    """Create a workflow (201 with Location); the start payload is kept exactly as sent."""
    return definitions.create(call.principal, call.params["ws"], settings_fields(call.body(CreateFlowBody)))


@routes.route(BASE + "/{flow_id}", access=VIEW_FLOW, response=Flow, one_transaction=True)
def get_flow(call: Call):
    return definitions.get(call.principal, call.params["ws"], call.params["flow_id"])


@routes.route(BASE + "/{flow_id}", methods=("PATCH",), access=BUILD_FLOW, body=UpdateFlowBody, response=Flow)
def update_flow(call: Call):
    fields = settings_fields(call.body(UpdateFlowBody))
    return definitions.update_(call.principal, call.params["ws"], call.params["flow_id"], fields)


@routes.route(BASE + "/{flow_id}", methods=("DELETE",), access=BUILD_FLOW, status=204)
def delete_flow(call: Call):
    definitions.remove(call.principal, call.params["ws"], call.params["flow_id"])


@routes.route(BASE + "/{flow_id}/graph", methods=("PUT",), access=BUILD_FLOW, body=GraphDocument,
              response=Flow)
def put_graph(call: Call):
    """Replace the draft graph; 422 with a JSON pointer to each failing node or edge."""
    return definitions.put_graph(call.principal, call.params["ws"], call.params["flow_id"], call.json())


@routes.route(BASE + "/{flow_id}/publish", methods=("POST",), access=BUILD_FLOW, status=201, body=PublishBody,
              body_required=False, response=FlowVersion)
def publish(call: Call):
    """Freeze the draft as the next immutable version (201 with the version)."""
    body = call.body(PublishBody) if call.raw_body.strip() else PublishBody()
    ws, flow_id = call.params["ws"], call.params["flow_id"]
    version = definitions.publish(call.principal, ws, flow_id, body.note)
    return json_response(version, 201, {"Location": f"/api/workspaces/{ws}/flows/{flow_id}/versions"})


@routes.route(BASE + "/{flow_id}/versions", access=VIEW_FLOW, response=FlowVersionPage, query=SortedListQuery)
def list_versions(call: Call):
    return definitions.list_versions(call.principal, call.params["ws"], call.params["flow_id"], call.query)


@routes.route(BASE + "/{flow_id}/runs", methods=("POST",), access=BUILD_FLOW, status=202, body=StartRunBody,
              body_required=False, response=Run)
def start_run(call: Call):
    """Start a run (202): follow it at ``…/runs/{id}`` or its ``…/stream``."""
    body = call.body(StartRunBody) if call.raw_body.strip() else StartRunBody()
    ws = call.params["ws"]
    run = manual.start_directly(
        call.principal, ws, call.params["flow_id"], mode=body.mode,
        input=body.input if "input" in body.model_fields_set else run_service.NO_INPUT, version=body.version,
    )
    return json_response(run, 202, {"Location": f"/api/workspaces/{ws}/runs/{run['id']}"})
