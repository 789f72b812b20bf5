"""Trigger management: create, change, (de)activate, rotate a webhook secret, delete, list.

Every function takes the authenticated principal, the workspace and the flow
(both already resolved by the route's access policy) and runs in one unit of
work scoped to the tenant; every mutation is audited in that transaction,
with secrets masked. A trigger id that belongs to another flow answers 404.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from chalicelib.db.pagination import paginate, parse_time
from chalicelib.db.uow import tenant_uow
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.ids import new_id
from chalicelib.json_codec import dumps
from chalicelib.services import audit
from chalicelib.services.triggers.kinds import TriggerKind, check_sections, kind_of, kind_of_trigger
from chalicelib.services.triggers.models import (
    RotateSecretBody,
    TriggerBody,
    TriggerChanges,
)
from chalicelib.services.triggers.settings import now as clock_now
from chalicelib.services.triggers.settings import trigger_settings
from chalicelib.services.triggers.views import (
    DELIVERY_FIELDS,
    present_delivery,
    present_delivery_detail,
    present_trigger,
)
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.triggers import trigger_deliveries, triggers
from chalicelib.triggers.cron import parse_schedule, upcoming_slots

SECRET_KEYS = ("secret", "new_secret")
OUTCOMES = ("started", "queued", "duplicate", "bad_signature", "stale_timestamp", "disabled",
            "not_production", "rate_limited", "too_large", "invalid", "error")


class WebhookPathTaken(Conflict):
    """Another trigger of the workspace already listens on this webhook path."""

    code = "webhook_path_taken"


def _plain(view: dict[str, Any]) -> dict[str, Any]:
    """A view as JSON-ready data for the audit log (timestamps as RFC 3339 text)."""
    return json.loads(dumps(view))


def _invalid(path: str, issue: str) -> ValidationFailed:
    return ValidationFailed("The trigger is invalid.", details=[{"path": path, "issue": issue}])


def _load(uow: UnitOfWork, ws: str, flow_id: str, trigger_id: str, *, lock: bool = False) -> dict[str, Any]:
    query = select(triggers).where(triggers.c.id == trigger_id, triggers.c.workspace_id == ws,
                                   triggers.c.workflow_id == flow_id)
    row = uow.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise NotFound("No such trigger.")
    return dict(row)


def _write(uow: UnitOfWork, statement: Any) -> Any:
    try:
        with uow.connection.begin_nested():
            return uow.execute(statement)
    except IntegrityError as exc:
        if "uq_triggers_webhook_path" in str(exc.orig):
            raise WebhookPathTaken("Another trigger in this workspace uses this webhook path.") from None
        raise


def _section(kind: TriggerKind, body: TriggerBody | TriggerChanges) -> Any:
    """The kind's settings section of the body, validated against the kind's model (None: not given)."""
    return body.sections.get(kind.section) if kind.section else None


def create(principal: Any, ws: str, flow_id: str, body: TriggerBody) -> dict[str, Any]:
    check_sections(body.kind, body.sections)
    kind = kind_of(body.kind)
    now = clock_now()
    trigger_id = new_id()
    values: dict[str, Any] = {
        "id": trigger_id, "tenant_id": principal.tenant_id, "workspace_id": ws, "workflow_id": flow_id,
        "kind": body.kind, "name": body.name, "enabled": body.enabled, "input": body.input,
        "created_by": principal.user_id, "config": {},
    }
    kind_values, new_secret = kind.create(principal.tenant_id, trigger_id, _section(kind, body),
                                          enabled=body.enabled, now=now)
    values.update(kind_values)
    with tenant_uow(principal.tenant_id) as uow:
        _write(uow, insert(triggers).values(**values))
        row = _load(uow, ws, flow_id, trigger_id)
        view = present_trigger(row, now=now)
        audit.record(uow, principal, "trigger.created", "trigger", trigger_id, after=_plain(view),
                     secret_keys=SECRET_KEYS)
        uow.commit()
    return present_trigger(row, now=now, new_secret=new_secret)


def get(principal: Any, ws: str, flow_id: str, trigger_id: str) -> dict[str, Any]:
    """One trigger, with diagnostics: its deliveries of the last 24 h by outcome, and the latest one."""
    now = clock_now()
    with tenant_uow(principal.tenant_id) as uow:
        row = _load(uow, ws, flow_id, trigger_id)
        d = trigger_deliveries.c
        counts = uow.execute(select(d.outcome, func.count(), func.max(d.created_at)).where(
            d.trigger_id == trigger_id, d.created_at > now - dt.timedelta(hours=24),
        ).group_by(d.outcome)).all()
    view = present_trigger(row, now=now, upcoming=3)
    view["deliveries_24h"] = {outcome: int(n) for outcome, n, _ in counts}
    view["last_delivery_at"] = max((at for _, _, at in counts), default=None)
    return view


def list_for_flow(principal: Any, ws: str, flow_id: str, params: dict[str, str]) -> dict[str, Any]:
    return _list(principal, {**params, "flow_id": flow_id}, ws)


def list_for_workspace(principal: Any, ws: str, params: dict[str, str]) -> dict[str, Any]:
    return _list(principal, params, ws)


def _list(principal: Any, params: dict[str, str], ws: str) -> dict[str, Any]:
    query = select(triggers).where(triggers.c.workspace_id == ws)
    if params.get("flow_id"):
        query = query.where(triggers.c.workflow_id == params["flow_id"])
    if params.get("kind"):
        query = query.where(triggers.c.kind == params["kind"])
    if params.get("enabled") in ("true", "false"):
        query = query.where(triggers.c.enabled.is_(params["enabled"] == "true"))
    with tenant_uow(principal.tenant_id) as uow:
        page = paginate(uow, query, triggers, params)
    now = clock_now()
    items = [present_trigger(row, now=now) for row in page["items"]]
    return {"items": items, "next_cursor": page["next_cursor"]}


def update_trigger(principal: Any, ws: str, flow_id: str, trigger_id: str,
                   body: TriggerChanges) -> dict[str, Any]:
    now = clock_now()
    sent = body.model_fields_set
    with tenant_uow(principal.tenant_id) as uow:
        row = _load(uow, ws, flow_id, trigger_id, lock=True)
        kind = kind_of_trigger(row)
        check_sections(row["kind"], body.sections)
        before = _plain(present_trigger(row, now=now))
        changes: dict[str, Any] = {}
        if body.name is not None:
            changes["name"] = body.name
        if "input" in sent:
            changes["input"] = body.input
        enabled = row["enabled"] if body.enabled is None else body.enabled
        if enabled != row["enabled"]:
            changes.update(_activation(row, enabled, now))
        kind_changes, new_secret = kind.change(row, _section(kind, body), enabled=enabled, now=now)
        changes.update(kind_changes)
        if changes:
            _write(uow, update(triggers).where(triggers.c.id == trigger_id).values(**changes, updated_at=now))
            row = _load(uow, ws, flow_id, trigger_id)
            audit.record(uow, principal, "trigger.updated", "trigger", trigger_id, before=before,
                         after=_plain(present_trigger(row, now=now)), secret_keys=SECRET_KEYS)
            uow.commit()
    return present_trigger(row, now=now, upcoming=3, new_secret=new_secret)


def _activation(row: dict[str, Any], enabled: bool, now: dt.datetime) -> dict[str, Any]:
    return kind_of_trigger(row).activation(row, enabled=enabled, now=now)


def set_enabled(principal: Any, ws: str, flow_id: str, trigger_id: str, enabled: bool) -> dict[str, Any]:
    now = clock_now()
    with tenant_uow(principal.tenant_id) as uow:
        row = _load(uow, ws, flow_id, trigger_id, lock=True)
        if row["enabled"] != enabled:
            uow.execute(update(triggers).where(triggers.c.id == trigger_id)
                        .values(**_activation(row, enabled, now), updated_at=now))
            audit.record(uow, principal, "trigger.activated" if enabled else "trigger.deactivated", "trigger",
                         trigger_id, before={"enabled": row["enabled"]}, after={"enabled": enabled})
            row = _load(uow, ws, flow_id, trigger_id)
            uow.commit()
    return present_trigger(row, now=now, upcoming=3)


def rotate_secret(principal: Any, ws: str, flow_id: str, trigger_id: str,
                  body: RotateSecretBody) -> dict[str, Any]:
    """Install a new secret; the old one keeps verifying for ``overlap_seconds`` (default: the setting)."""
    now = clock_now()
    overlap = body.overlap_seconds
    if overlap is None:
        overlap = trigger_settings().rotation_overlap_seconds
    with tenant_uow(principal.tenant_id) as uow:
        row = _load(uow, ws, flow_id, trigger_id, lock=True)
        expires = now + dt.timedelta(seconds=overlap) if overlap > 0 else None
        changes, new_secret = kind_of_trigger(row).rotate_secret(row, body.secret, keep_previous_until=expires)
        uow.execute(update(triggers).where(triggers.c.id == trigger_id).values(**changes, updated_at=now))
        audit.record(uow, principal, "trigger.secret_rotated", "trigger", trigger_id,
                     after={"secret": "rotated",
                            "previous_secret_expires_at": expires and expires.isoformat()},
                     secret_keys=SECRET_KEYS)
        row = _load(uow, ws, flow_id, trigger_id)
        uow.commit()
    return present_trigger(row, now=now, new_secret=new_secret)


def delete_trigger(principal: Any, ws: str, flow_id: str, trigger_id: str) -> None:
    with tenant_uow(principal.tenant_id) as uow:
        row = _load(uow, ws, flow_id, trigger_id, lock=True)
        uow.execute(delete(triggers).where(triggers.c.id == trigger_id))
        audit.record(uow, principal, "trigger.deleted", "trigger", trigger_id,
                     before=_plain(present_trigger(row)), secret_keys=SECRET_KEYS)
        uow.commit()


def list_deliveries(principal: Any, ws: str, flow_id: str, trigger_id: str, params: dict[str, str]) -> dict:
    """Delivery history, newest first; filters: outcome, mode, created_after, created_before."""
    # The light columns only: a page of deliveries never reads their request bodies.
    light = [trigger_deliveries.c[name] for name in DELIVERY_FIELDS]
    query = select(*light).where(trigger_deliveries.c.trigger_id == trigger_id)
    if params.get("outcome"):
        if params["outcome"] not in OUTCOMES:
            raise _invalid("/outcome", f"one of {list(OUTCOMES)}")
        query = query.where(trigger_deliveries.c.outcome == params["outcome"])
    if params.get("mode") in ("production", "test"):
        query = query.where(trigger_deliveries.c.mode == params["mode"])
    after, before = parse_time(params, "created_after"), parse_time(params, "created_before")
    if after:
        query = query.where(trigger_deliveries.c.created_at >= after)
    if before:
        query = query.where(trigger_deliveries.c.created_at < before)
    with tenant_uow(principal.tenant_id) as uow:
        _load(uow, ws, flow_id, trigger_id)
        page = paginate(uow, query, trigger_deliveries, params)
    return {"items": [present_delivery(row) for row in page["items"]], "next_cursor": page["next_cursor"]}


def get_delivery(principal: Any, ws: str, flow_id: str, trigger_id: str, delivery_id: str) -> dict[str, Any]:
    """One delivery of the trigger with its request (headers and body, stored masked); 404 for any other id."""
    d = trigger_deliveries.c
    with tenant_uow(principal.tenant_id) as uow:
        _load(uow, ws, flow_id, trigger_id)
        row = uow.execute(select(trigger_deliveries).where(
            d.id == delivery_id, d.trigger_id == trigger_id, d.workspace_id == ws)).mappings().first()
    if row is None:
        raise NotFound("No such delivery.")
    return present_delivery_detail(row)


def preview_schedule(expression: str, timezone: str, count: int = 5) -> dict[str, Any]:
    """The next fire times of a schedule before it is saved (422 with ``/cron`` or ``/timezone`` if invalid)."""
    schedule = parse_schedule(expression, timezone)
    return {"cron": schedule.expression, "timezone": timezone,
            "upcoming": upcoming_slots(schedule.expression, timezone, clock_now(), count)}
