"""The audit log: every configuration change, recorded in the transaction that makes it.

One mechanism for every area: ``record(uow, actor, action, target_type,
target_id, before=…, after=…)``. The stored change set is the field-level
diff with secrets masked (``chalicelib.masking.diff``), so nothing secret ever
reaches the log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from chalicelib import observability
from chalicelib.db.pagination import paginate, parse_time
from chalicelib.db.uow import tenant_uow
from chalicelib.ids import new_id
from chalicelib.masking import diff, mask_secrets
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.identity import audit_events


def record(
    uow: UnitOfWork,
    actor: Any,
    action: str,
    target_type: str,
    target_id: str | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    tenant_id: str | None = None,
    secret_keys: tuple[str, ...] = (),
) -> None:
    """Record one change. ``actor`` is a Principal (or None for the system)."""
    changes = diff(before or {}, after or {}, secret_keys=secret_keys)
    uow.execute(insert(audit_events).values(
        id=new_id(),
        tenant_id=tenant_id or actor.tenant_id,
        actor_id=getattr(actor, "actor_id", None),
        actor_kind=getattr(actor, "kind", "system"),
        action=action,
        target_type=target_type,
        target_id=target_id,
        changes=mask_secrets(changes, secret_keys),
        request_id=observability.logger.get_current_keys().get("request_id"),
    ))


def list_events(tenant_id: str, params: dict[str, str]) -> dict[str, Any]:
    """One page of the tenant's audit events (see :func:`query`)."""
    with tenant_uow(tenant_id) as uow:
        return query(uow, params)


def query(uow: UnitOfWork, params: dict[str, str]) -> dict[str, Any]:
    """Audit events of the current tenant, filtered by actor, action, target and time."""
    q = select(audit_events)
    for field in ("actor_id", "action", "target_type", "target_id"):
        if params.get(field):
            q = q.where(audit_events.c[field] == params[field])
    after, before = parse_time(params, "created_after"), parse_time(params, "created_before")
    if after:
        q = q.where(audit_events.c.created_at >= after)
    if before:
        q = q.where(audit_events.c.created_at < before)
    return paginate(uow, q, audit_events, params)
