"""Runs that wait: released as concurrency slots free up, retried when a start stalled.

Accepted deliveries whose run has not started yet are rows of
``pending_runs``:

- ``waiting`` — admitted while the tenant was at its concurrency limit. They
  start oldest first, as many as there are free slots, when :func:`release`
  runs for the tenant: on every housekeeping tick, right after a trigger of
  the tenant fires, and whenever the engine calls it as a run finishes.
- not waiting — a start is in progress. If it is still there
  ``recover_after_seconds`` later, the process died or the engine refused
  transiently; the start is attempted again (at most ``MAX_ATTEMPTS`` times,
  then the delivery is recorded as ``error``). Nothing accepted is dropped
  silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select, update

from chalicelib.container import current
from chalicelib.db.uow import tenant_uow
from chalicelib.services.triggers import admission, engine_adapters, ports
from chalicelib.services.triggers.settings import now as clock_now
from chalicelib.services.triggers.settings import trigger_settings
from chalicelib.services.triggers.starting import SETTLE_STARTED, refusal_of, start
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.triggers import pending_runs, trigger_deliveries

MAX_ATTEMPTS = 10


def _claimable(uow: UnitOfWork, condition: Any, limit: int) -> list[dict[str, Any]]:
    if limit <= 0:
        return []
    d = trigger_deliveries.c
    query = (select(pending_runs, d.kind, d.external_id, d.slot, d.created_at.label("received_at"))
             .join(trigger_deliveries, d.id == pending_runs.c.delivery_id)
             .where(condition).order_by(pending_runs.c.created_at).limit(limit)
             .with_for_update(of=pending_runs, skip_locked=True))
    return [dict(r) for r in uow.execute(query).mappings().all()]


def release(tenant_id: str, now: dt.datetime | None = None) -> int:
    """Start the tenant's waiting runs that fit, and retry stalled starts; returns how many started.

    Waiting runs (never started) start inside the transaction that takes them, under the tenant's lock: the
    run, its start step and doorbell, the delivery ``started`` and its outbox row gone, one commit for the
    batch. A run the engine refuses there, and every retried stalled start, go through :func:`start` after
    commit (each in its own transactions, as a firing's start).
    """
    now = now or clock_now()
    settings = trigger_settings()
    policy = settings.backpressure
    stale_before = now - dt.timedelta(seconds=settings.recover_after_seconds)
    rings: list[Callable[[], None]] = []
    started = 0
    with tenant_uow(tenant_id) as uow:
        admission.lock_tenant(uow, tenant_id, policy.webhook_rate_limit, now)
        counts = admission.read_counts(uow, tenant_id, now, bound=policy.max_concurrent_runs)
        stalled = _claimable(uow, (~pending_runs.c.waiting) & (pending_runs.c.attempted_at < stale_before),
                             settings.release_batch)
        waiting = _claimable(uow, pending_runs.c.waiting,
                             min(admission.free_slots(counts, policy), settings.release_batch))
        exhausted = [r for r in stalled if r["attempts"] >= MAX_ATTEMPTS]
        for row in exhausted:
            why = f"The run could not be started after {MAX_ATTEMPTS} attempts: {row['last_error']}"
            uow.execute(update(trigger_deliveries).where(trigger_deliveries.c.id == row["delivery_id"])
                        .values(outcome="error", accepted=False, reason=why[:300]))
            uow.execute(delete(pending_runs).where(pending_runs.c.id == row["id"]))
        inline, later = _start_inline(uow, waiting, now, rings)
        started += inline
        due = [r for r in stalled if r["attempts"] < MAX_ATTEMPTS] + later
        if due:
            uow.execute(update(pending_runs).where(pending_runs.c.id.in_([r["id"] for r in due])).values(
                waiting=False, attempted_at=now, attempts=pending_runs.c.attempts + 1))
        uow.commit()
    for ring in rings:
        ring()
    for row in due:
        trigger = {"id": row["trigger_id"], "tenant_id": row["tenant_id"],
                   "workspace_id": row["workspace_id"], "workflow_id": row["workflow_id"]}
        result = start(trigger, str(row["delivery_id"]), row["mode"], row["input"], kind=row["kind"],
                       recoverable=True, now=now)
        started += result.outcome == "started"
    return started


def _start_inline(uow: UnitOfWork, rows: list[dict[str, Any]], now: dt.datetime,
                  rings: list[Callable[[], None]]) -> tuple[int, list[dict[str, Any]]]:
    """Start waiting runs in ``uow`` (a waiting row was never started: its run cannot exist yet); returns how
    many, and the rows left for :func:`start` (the engine refused them here, or it cannot start inside a
    transaction)."""
    starter = current().run_starter()
    if not rows or not isinstance(starter, ports.TransactionalRunStarter):
        return 0, rows
    targets: dict[tuple[str, str], Any] = {}
    later: list[dict[str, Any]] = []
    for row in rows:
        workflow_id, mode = str(row["workflow_id"]), str(row["mode"])
        key = (workflow_id, mode)
        if key not in targets:  # one read per workflow of the batch
            targets[key] = engine_adapters.load_start_target(uow, workflow_id, draft=mode != ports.PRODUCTION)
        try:
            prepared = starter.prepare(uow, str(row["workspace_id"]), workflow_id, mode=mode, input=row["input"],
                                       target=targets[key])
        except Exception as exc:
            if refusal_of(exc) is None:
                raise
            later.append(row)  # recorded as a refusal by start(), as before
            continue
        delivery_id = str(row["delivery_id"])
        run_id = engine_adapters.run_id_of(delivery_id)
        info = engine_adapters.info_of(str(row["trigger_id"]), str(row["kind"]), delivery_id, row["external_id"],
                                       row["slot"], row["received_at"])
        rings.append(starter.launch(uow, prepared, run_id=run_id, kind=str(row["kind"]), trigger_info=info))
        uow.execute(SETTLE_STARTED, {"d": delivery_id, "run": run_id, "at": now})
    return len(rows) - len(later), later


def release_after_run(tenant_id: str, run_id: str, status: str) -> None:
    """Engine listener: when a run ends, start the tenant's waiting runs (cheap when none wait)."""
    with tenant_uow(tenant_id) as uow:
        waiting = uow.execute(select(pending_runs.c.tenant_id).where(pending_runs.c.waiting).limit(1)).first()
    if waiting is not None:
        release(tenant_id)
