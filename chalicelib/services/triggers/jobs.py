"""The triggers' share of the housekeeping tick: each kind's (cron slots), waiting runs, retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, exists, select

from chalicelib.db.uow import system_uow
from chalicelib.observability import logger
from chalicelib.services.triggers import admission, release
from chalicelib.services.triggers.kinds import registered
from chalicelib.services.triggers.settings import now as clock_now
from chalicelib.services.triggers.settings import trigger_settings
from chalicelib.tables.triggers import pending_runs, run_admission_counts, trigger_deliveries

CLEANUP_BATCH = 5000


def tick(now: dt.datetime | None = None) -> dict[str, Any]:
    """Each kind's share (a scheduled kind's due slots), release waiting runs, drop expired history."""
    now = now or clock_now()
    fired = sum(kind.tick(now) for kind in registered().values())
    with system_uow() as uow:
        tenants = admission.pending_tenants(uow)
    started = 0
    for tenant_id in tenants:
        try:
            started += release.release(tenant_id, now)
        except Exception:
            logger.exception("releasing waiting runs failed", extra={"tenant_id": tenant_id})
    removed = clean_up(now)
    outcome = {"fired": fired, "released": started, "deliveries_removed": removed}
    if fired or started or removed:
        logger.info("trigger housekeeping", extra=outcome)
    return outcome


def clean_up(now: dt.datetime) -> int:
    """Delete deliveries past retention (never one whose run still waits) and old quota counters."""
    cutoff = now - dt.timedelta(days=trigger_settings().retention_days)
    with system_uow() as uow:
        old = (select(trigger_deliveries.c.id).where(
            trigger_deliveries.c.created_at < cutoff,
            ~exists().where(pending_runs.c.delivery_id == trigger_deliveries.c.id)).limit(CLEANUP_BATCH))
        removed = uow.execute(delete(trigger_deliveries).where(trigger_deliveries.c.id.in_(old))).rowcount
        stale_minutes = run_admission_counts.c.minute < now - dt.timedelta(hours=2)
        uow.execute(delete(run_admission_counts).where(stale_minutes))
        uow.commit()
    return int(removed or 0)


def housekeeping_job() -> None:
    tick()
