"""``/api/workspaces/{ws}/flows/{flow_id}/triggers``: a workflow's triggers, their history, manual starts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.api.contract import CreatedRange, Query, SortedListQuery, id_param
from chalicelib.api.trigger_models import (
    DeliveryDetail,
    DeliveryPage,
    Fired,
    Outcome,
    SchedulePreview,
    Trigger,
    TriggerDetail,
    TriggerPage,
)
from chalicelib.http.access import VIEWER, Access, Ref
from chalicelib.http.responses import json_response
from chalicelib.http.routing import Call, Routes
from chalicelib.identity.roles import Role
from chalicelib.services.triggers import manage, manual
from chalicelib.services.triggers.models import FireBody, Kind, RotateSecretBody, TriggerBody, TriggerChanges
from chalicelib.tables.triggers import trigger_deliveries, triggers
from chalicelib.tables.workflows import workflows

routes = Routes("triggers")



class TriggerFilters(SortedListQuery):
    kind: Kind | None = None
    enabled: Literal["true", "false"] | None = None


class WorkspaceTriggerFilters(TriggerFilters):
    flow_id: str | None = id_param("Triggers of this workflow.")


class DeliveryFilters(SortedListQuery, CreatedRange):
    outcome: Outcome | None = None
    mode: Literal["production", "test"] | None = None


class PreviewQuery(Query):
    cron: str = Field(min_length=1, max_length=200, description="A cron expression (five fields or an alias).")
    timezone: str = Field("UTC", min_length=1, max_length=64, description="An IANA timezone.")
    count: int | None = Field(None, ge=1, le=20, description="How many fire times (default 5).")


BASE = "/api/workspaces/{ws}/flows/{flow_id}/triggers"
ONE = BASE + "/{trigger_id}"
FLOW = {"flow_id": Ref(workflows)}
TRIGGER = {**FLOW, "trigger_id": Ref(triggers)}
VIEW_FLOW, BUILD_FLOW = Access(Role.VIEWER, ids=FLOW), Access(Role.BUILDER, ids=FLOW)
VIEW_TRIGGER, BUILD_TRIGGER = Access(Role.VIEWER, ids=TRIGGER), Access(Role.BUILDER, ids=TRIGGER)
VIEW_DELIVERY = Access(Role.VIEWER, ids={**TRIGGER, "delivery_id": Ref(trigger_deliveries)})


def _ids(call: Call) -> tuple[str, str, str]:
    return call.params["ws"], call.params["flow_id"], call.params["trigger_id"]


@routes.route("/api/workspaces/{ws}/triggers", access=VIEWER, response=TriggerPage, query=WorkspaceTriggerFilters)
def list_workspace_triggers(call: Call):
    """Every trigger of the workspace (filters: flow_id, kind, enabled)."""
    return manage.list_for_workspace(call.principal, call.params["ws"], call.query)


@routes.route("/api/cron-preview", access=VIEWER, response=SchedulePreview, query=PreviewQuery)
def preview_cron(call: Call):
    """The next fire times of a cron expression in a timezone, computed as the scheduler does (DST included)."""
    count = call.query.get("count")
    return manage.preview_schedule(call.query.get("cron", ""), call.query.get("timezone") or "UTC",
                                   int(count) if count else 5)


@routes.route(BASE, access=VIEW_FLOW, response=TriggerPage, query=TriggerFilters)
def list_triggers(call: Call):
    """The workflow's triggers (filters: kind, enabled)."""
    return manage.list_for_flow(call.principal, call.params["ws"], call.params["flow_id"], call.query)


@routes.route(BASE, methods=("POST",), access=BUILD_FLOW, status=201, body=TriggerBody, response=Trigger)
def create_trigger(call: Call):
    """Create a trigger; a generated webhook secret is in ``webhook.new_secret``, shown this once."""
    return manage.create(call.principal, call.params["ws"], call.params["flow_id"], call.body(TriggerBody))


@routes.route(ONE, access=VIEW_TRIGGER, response=TriggerDetail)
def get_trigger(call: Call):
    """One trigger, with its webhook URLs or its next fire times."""
    return manage.get(call.principal, *_ids(call))


@routes.route(ONE, methods=("PATCH",), access=BUILD_TRIGGER, body=TriggerChanges, response=Trigger)
def update_trigger(call: Call):
    """Change a trigger (name, enabled, input, webhook settings, schedule)."""
    return manage.update_trigger(call.principal, *_ids(call), call.body(TriggerChanges))


@routes.route(ONE, methods=("DELETE",), access=BUILD_TRIGGER, status=204)
def delete_trigger(call: Call):
    """Delete a trigger and its delivery history."""
    manage.delete_trigger(call.principal, *_ids(call))


@routes.route(ONE + "/activate", methods=("POST",), access=BUILD_TRIGGER, response=Trigger)
def activate_trigger(call: Call):
    """Activate: deliveries start runs again; a cron trigger fires from its next slot."""
    return manage.set_enabled(call.principal, *_ids(call), True)


@routes.route(ONE + "/deactivate", methods=("POST",), access=BUILD_TRIGGER, response=Trigger)
def deactivate_trigger(call: Call):
    """Deactivate: deliveries are recorded as ``disabled`` and start nothing."""
    return manage.set_enabled(call.principal, *_ids(call), False)


@routes.route(ONE + "/rotate-secret", methods=("POST",), access=BUILD_TRIGGER, body=RotateSecretBody,
              body_required=False, response=Trigger)
def rotate_secret(call: Call):
    """New webhook secret (returned once in ``webhook.new_secret`` when generated); the old one overlaps."""
    body = call.body(RotateSecretBody) if call.raw_body.strip() else RotateSecretBody()
    return manage.rotate_secret(call.principal, *_ids(call), body)


@routes.route(ONE + "/deliveries", access=VIEW_TRIGGER, response=DeliveryPage, query=DeliveryFilters)
def list_deliveries(call: Call):
    """Delivery history and diagnostics (filters: outcome, mode, created_after, created_before)."""
    return manage.list_deliveries(call.principal, *_ids(call), call.query)


@routes.route(ONE + "/deliveries/{delivery_id}", access=VIEW_DELIVERY, response=DeliveryDetail)
def get_delivery(call: Call):
    """One delivery with the request as received: method, headers and body (bounded, secrets masked)."""
    return manage.get_delivery(call.principal, *_ids(call), call.params["delivery_id"])


@routes.route(ONE + "/fire", methods=("POST",), access=BUILD_TRIGGER, status=202, body=FireBody,
              body_required=False, response=Fired)
def fire_trigger(call: Call):
    """Start a run by hand (production: gated like any delivery; test: the draft)."""
    body = call.body(FireBody) if call.raw_body.strip() else FireBody()
    return json_response(manual.fire_by_hand(call.principal, *_ids(call), body), 202)
