"""Trigger management: create, change, (de)activate, rotate a webhook secret, delete, list.

Every function takes the authenticated principal, the workspace and the flow
(both already resolved by the route's access policy) and runs in one unit of
work scoped to the tenant; every mutation is audited in that transaction,
with secrets masked. A trigger id that belongs to another flow answers 404.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets as _random
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from chalicelib.db.pagination import paginate, parse_time
from chalicelib.db.uow import tenant_uow
from chalicelib.errors import Conflict, NotFound, SteplineError, ValidationFailed
from chalicelib.ids import new_id
from chalicelib.json_codec import dumps
from chalicelib.services import audit
from chalicelib.services.triggers import secrets
from chalicelib.services.triggers.models import (
    RotateSecretBody,
    ScheduleSettings,
    TriggerBody,
    TriggerChanges,
    WebhookSettings,
)
from chalicelib.services.triggers.settings import now as clock_now
from chalicelib.services.triggers.settings import trigger_settings
from chalicelib.services.triggers.views import present_delivery, present_trigger
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.triggers import trigger_deliveries, triggers
from chalicelib.triggers.cron import next_fire_at, parse_schedule, upcoming_slots
from chalicelib.triggers.dedupe import validate_correlation_expression
from chalicelib.triggers.signatures import SignatureScheme, generate_secret, validate_secret

GENERATED_SCHEMES = (SignatureScheme.STANDARD_WEBHOOKS, SignatureScheme.GITHUB)
# Where the sender puts its event id when it sends no delivery-id header.
DEFAULT_CORRELATION = {SignatureScheme.STRIPE: "body.id", SignatureScheme.SLACK: "body.event_id"}
SECRET_KEYS = ("secret", "new_secret")
OUTCOMES = ("started", "queued", "duplicate", "bad_signature", "stale_timestamp", "disabled",
            "not_production", "rate_limited", "too_large", "invalid", "error")


class WebhookPathTaken(Conflict):
    """Another trigger of the workspace already listens on this webhook path."""

    code = "webhook_path_taken"


class NotAWebhook(Conflict):
    """Only webhook triggers have a signing secret."""

    code = "not_a_webhook"


def _plain(view: dict[str, Any]) -> dict[str, Any]:
    """A view as JSON-ready data for the audit log (timestamps as RFC 3339 text)."""
    return json.loads(dumps(view))


def _prefixed(exc: SteplineError, prefix: str) -> SteplineError:
    exc.details = [{**d, "path": prefix + d.get("path", "")} for d in exc.details]
    return exc


def _invalid(path: str, issue: str) -> ValidationFailed:
    return ValidationFailed("The trigger is invalid.", details=[{"path": path, "issue": issue}])


def _secret_for(scheme: SignatureScheme, given: str | None) -> tuple[str, str | None]:
    """(secret to store, the generated secret to show once or None when the caller gave it)."""
    if given is not None:
        try:
            validate_secret(scheme, given)
        except SteplineError as exc:
            raise _prefixed(exc, "/webhook") from None
        return given, None
    if scheme is SignatureScheme.STANDARD_WEBHOOKS:
        fresh = generate_secret()
    elif scheme is SignatureScheme.GITHUB:
        fresh = _random.token_hex(32)
    else:
        raise _invalid("/webhook/secret", f"required: {scheme.value} issues the signing secret")
    return fresh, fresh


def _correlation(scheme: SignatureScheme, expression: str | None) -> str | None:
    if expression is None:
        return DEFAULT_CORRELATION.get(scheme)
    try:
        return validate_correlation_expression(expression)
    except SteplineError as exc:
        raise _prefixed(exc, "/webhook") from None


def _schedule_values(schedule: ScheduleSettings, enabled: bool, now: dt.datetime) -> dict[str, Any]:
    parsed = parse_schedule(schedule.cron, schedule.timezone, pointer="/schedule")
    return {"cron_expression": parsed.expression, "timezone": parsed.timezone,
            "missed_slot_policy": schedule.missed_slot_policy, "last_slot": None,
            "next_fire_at": next_fire_at(parsed.expression, parsed.timezone, now) if enabled else None}


def _check_sections(kind: str, webhook: Any, schedule: Any) -> None:
    if webhook is not None and kind != "webhook":
        raise _invalid("/webhook", f"only webhook triggers have webhook settings (this one is {kind})")
    if schedule is not None and kind != "cron":
        raise _invalid("/schedule", f"only cron triggers have a schedule (this one is {kind})")


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


def create(principal: Any, ws: str, flow_id: str, body: TriggerBody) -> dict[str, Any]:
    _check_sections(body.kind, body.webhook, body.schedule)
    now = clock_now()
    trigger_id = new_id()
    values: dict[str, Any] = {
        "id": trigger_id, "tenant_id": principal.tenant_id, "workspace_id": ws, "workflow_id": flow_id,
        "kind": body.kind, "name": body.name, "enabled": body.enabled, "input": body.input,
        "created_by": principal.user_id, "config": {},
    }
    new_secret = None
    if body.kind == "webhook":
        hook = body.webhook or WebhookSettings()
        scheme = SignatureScheme(hook.signature_scheme)
        secret, new_secret = _secret_for(scheme, hook.secret)
        values.update(
            webhook_path=hook.path or _random.token_hex(16), signature_scheme=scheme.value,
            secret=secrets.seal(principal.tenant_id, trigger_id, secret), secret_hint=secrets.hint(secret),
            secret_version=1,
            config={"correlation_key": _correlation(scheme, hook.correlation_key), "payload": hook.payload},
        )
    elif body.kind == "cron":
        if body.schedule is None:
            raise _invalid("/schedule", "required for cron triggers")
        values.update(_schedule_values(body.schedule, body.enabled, now))
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
        _check_sections(row["kind"], body.webhook, body.schedule)
        before = _plain(present_trigger(row, now=now))
        changes: dict[str, Any] = {}
        if body.name is not None:
            changes["name"] = body.name
        if "input" in sent:
            changes["input"] = body.input
        enabled = row["enabled"] if body.enabled is None else body.enabled
        if enabled != row["enabled"]:
            changes.update(_activation(row, enabled, now))
        new_secret = None
        if body.webhook is not None:
            hook_changes, new_secret = _webhook_changes(row, body.webhook)
            changes.update(hook_changes)
        if body.schedule is not None:
            merged = ScheduleSettings(
                cron=body.schedule.cron or row["cron_expression"],
                timezone=body.schedule.timezone or row["timezone"],
                missed_slot_policy=body.schedule.missed_slot_policy or row["missed_slot_policy"],
            )
            changes.update(_schedule_values(merged, enabled, now))
        if changes:
            _write(uow, update(triggers).where(triggers.c.id == trigger_id).values(**changes, updated_at=now))
            row = _load(uow, ws, flow_id, trigger_id)
            audit.record(uow, principal, "trigger.updated", "trigger", trigger_id, before=before,
                         after=_plain(present_trigger(row, now=now)), secret_keys=SECRET_KEYS)
            uow.commit()
    return present_trigger(row, now=now, upcoming=3, new_secret=new_secret)


def _webhook_changes(row: dict[str, Any], hook: Any) -> tuple[dict[str, Any], str | None]:
    changes: dict[str, Any] = {}
    config = dict(row["config"] or {})
    scheme = SignatureScheme(hook.signature_scheme or row["signature_scheme"])
    if hook.path is not None:
        changes["webhook_path"] = hook.path
    new_secret = None
    if hook.secret is not None or scheme.value != row["signature_scheme"]:
        secret, new_secret = _secret_for(scheme, hook.secret)
        # Replacing the secret here takes effect at once; rotate-secret keeps the old one for an overlap.
        sealed = secrets.seal(row["tenant_id"], row["id"], secret)
        changes.update(signature_scheme=scheme.value, secret=sealed,
                       secret_hint=secrets.hint(secret), previous_secret=None,
                       previous_secret_expires_at=None, secret_version=row["secret_version"] + 1)
    if "correlation_key" in hook.model_fields_set or scheme.value != row["signature_scheme"]:
        config["correlation_key"] = _correlation(scheme, hook.correlation_key)
    if hook.payload is not None:
        config["payload"] = hook.payload
    if config != (row["config"] or {}):
        changes["config"] = config
    return changes, new_secret


def _activation(row: dict[str, Any], enabled: bool, now: dt.datetime) -> dict[str, Any]:
    """A cron trigger starts afresh when activated: no slot from before it was active fires."""
    changes: dict[str, Any] = {"enabled": enabled}
    if row["kind"] == "cron":
        changes["last_slot"] = None
        expression, tz = row["cron_expression"], row["timezone"]
        changes["next_fire_at"] = next_fire_at(expression, tz, now) if enabled else None
    return changes


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
        if row["kind"] != "webhook":
            raise NotAWebhook("Only webhook triggers have a signing secret to rotate.")
        scheme = SignatureScheme(row["signature_scheme"])
        secret, new_secret = _secret_for(scheme, body.secret)
        expires = now + dt.timedelta(seconds=overlap) if overlap > 0 else None
        uow.execute(update(triggers).where(triggers.c.id == trigger_id).values(
            secret=secrets.seal(principal.tenant_id, trigger_id, secret), secret_hint=secrets.hint(secret),
            previous_secret=row["secret"] if expires else None, previous_secret_expires_at=expires,
            secret_version=row["secret_version"] + 1, updated_at=now))
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
    query = select(trigger_deliveries).where(trigger_deliveries.c.trigger_id == trigger_id)
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


def preview_schedule(expression: str, timezone: str, count: int = 5) -> dict[str, Any]:
    """The next fire times of a schedule before it is saved (422 with ``/cron`` or ``/timezone`` if invalid)."""
    schedule = parse_schedule(expression, timezone)
    return {"cron": schedule.expression, "timezone": timezone,
            "upcoming": upcoming_slots(schedule.expression, timezone, clock_now(), count)}
