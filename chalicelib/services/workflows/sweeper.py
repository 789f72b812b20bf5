"""The sweeper (a housekeeping job, every minute): nothing the queue loses stays lost.

- **Run deadlines**: running runs past their deadline fail; their queued
  steps are canceled.
- **Expired leases**: a ``running`` step whose lease passed lost its worker
  (killed, timed out). The same attempt is queued again — same idempotency
  key, so a remote that saw the first call can recognise the repeat — up to
  ``max_reclaims`` times; after that the attempt fails as timed out and the
  retry policy decides.
- **Dead workers**: a ``running`` step claimed by a registered runtime worker
  that stopped beating (or whose process on this host is gone) is taken over
  at once, the same way, without waiting for its lease (see ``workers``).
- **Stale doorbells**: ``queued`` rows that are due and whose doorbell is
  older than ``redispatch_after_seconds`` (a crash between commit and send, a
  lost message, a wait longer than the queue's 15-minute delay) get a new one.
  A duplicate is harmless: the claim admits one worker.

:func:`recover` is what a long-running runtime does at start-up: register,
take over the dead workers' steps and ring every due queued step again (a
doorbell that lived in the dead process's memory or emulator is gone; a
duplicate one is harmless).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from chalicelib.db.uow import system_uow, tenant_uow
from chalicelib.engine.errors import StepTimeout
from chalicelib.observability import logger
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.services.workflows import completion, dispatch, rungraph, runner, workers
from chalicelib.services.workflows import metrics as engine_metrics
from chalicelib.services.workflows.dispatch import Doorbell
from chalicelib.services.workflows.settings import engine_settings
from chalicelib.services.workflows.txn import RunMissing, RunTxn

_EXPIRED_RUNS = text(
    "SELECT id::text, tenant_id::text FROM runs WHERE status = 'running' AND deadline <= now() LIMIT :n"
)
_EXPIRED_LEASES = text(
    """
    SELECT id::text, tenant_id::text, run_id::text, node_id, instance_key, attempt, input, reclaims,
           claim_token::text
    FROM step_runs WHERE status = 'running' AND lease_expires_at < now() ORDER BY lease_expires_at LIMIT :n
    """
)
_REDISPATCH = text(
    """
    UPDATE step_runs SET dispatched_at = now()
    WHERE id IN (
        SELECT id FROM step_runs
        WHERE status = 'queued' AND (not_before IS NULL OR not_before <= now())
          AND (dispatched_at IS NULL
               OR greatest(dispatched_at, coalesce(not_before, dispatched_at))
                  < now() - make_interval(secs => :stale))
        ORDER BY not_before NULLS FIRST LIMIT :n
        FOR UPDATE SKIP LOCKED)
    RETURNING id::text, tenant_id::text, run_id::text
    """
)


_RING_QUEUED = text(
    """
    UPDATE step_runs SET dispatched_at = now()
    WHERE id IN (
        SELECT id FROM step_runs
        WHERE status = 'queued' AND (not_before IS NULL OR not_before <= now())
          AND (dispatched_at IS NULL OR dispatched_at < CAST(:before AS timestamptz))
        LIMIT :n FOR UPDATE SKIP LOCKED)
    RETURNING id::text, tenant_id::text, run_id::text
    """
)


def sweep() -> dict[str, int]:
    """One pass; returns what it did (also logged)."""
    settings = engine_settings()
    report = {"expired_runs": 0, "requeued": 0, "timed_out": 0, "redispatched": 0}
    with system_uow() as uow:
        runs_due = uow.execute(_EXPIRED_RUNS, {"n": settings.sweep_batch}).all()
        leases = uow.execute(_EXPIRED_LEASES, {"n": settings.sweep_batch}).mappings().all()
    for run_id, tenant_id in runs_due:
        report["expired_runs"] += _expire_run(tenant_id, run_id)
    for lease in leases:
        key = "requeued" if lease["reclaims"] < settings.max_reclaims else "timed_out"
        report[key] += _expired_lease(dict(lease), settings.max_reclaims)
    for key, count in reclaim_abandoned().items():
        report[key] += count
    with system_uow() as uow:
        due = uow.execute(_REDISPATCH, {"stale": settings.redispatch_after_seconds,
                                        "n": settings.sweep_batch}).all()
        left = _ring_in(uow, due)
        uow.commit()
    report["redispatched"] = len(due) - len(left) + dispatch.send(left)
    engine_metrics.queue_depth()
    if any(report.values()):
        logger.info("engine sweep", extra=report)
    return report


def _ring_in(uow: UnitOfWork, rows: Any) -> list[Doorbell]:
    """Doorbells for ``(step, tenant, run)`` rows, put into ``uow`` when the queue is transactional; the rest
    are to be sent after commit."""
    return dispatch.enqueue_in(uow, [Doorbell(t, r, s) for s, t, r in rows])


def ring_due_queued(batch: int = 500) -> int:
    """A new doorbell for every due queued step (all of them, in batches); returns how many."""
    with system_uow() as uow:
        before = uow.execute(text("SELECT now()")).scalar()
    total = 0
    while True:
        with system_uow() as uow:
            due = uow.execute(_RING_QUEUED, {"before": before, "n": batch}).all()
            left = _ring_in(uow, due)
            uow.commit()
        total += len(due) - len(left) + dispatch.send(left)
        if len(due) < batch:
            return total


def recover() -> dict[str, int]:
    """At a runtime's start: register, take over dead workers' steps now, ring every due queued step."""
    workers.register()
    report = reclaim_abandoned()
    report["rung"] = ring_due_queued(engine_settings().sweep_batch)
    logger.info("runtime recovery", extra=report)
    return report


def reclaim_abandoned() -> dict[str, int]:
    """Take over the running steps of dead workers now (same attempt, same idempotency key)."""
    settings = engine_settings()
    report = {"requeued": 0, "timed_out": 0}
    dead = workers.dead_workers(settings.worker_stale_seconds)
    if not dead:
        return report
    while True:
        steps = workers.abandoned_steps(dead, settings.sweep_batch)
        for step in steps:
            key = "requeued" if step["reclaims"] < settings.max_reclaims else "timed_out"
            report[key] += _expired_lease(step, settings.max_reclaims, abandoned=True)
        if len(steps) < settings.sweep_batch:
            break
    workers.forget(dead)
    return report


def _expire_run(tenant_id: str, run_id: str) -> int:
    try:
        run = rungraph.load(tenant_id, run_id)
        with tenant_uow(tenant_id) as uow:
            txn = RunTxn.begin(uow, run)
            if run.deadline is None or txn.now < run.deadline or not completion.expire(txn):
                return 0
            txn.write()
            uow.commit()
    except (RunMissing, LookupError):
        return 0
    runner.after_commit(txn)
    return 1


def _expired_lease(lease: dict[str, Any], max_reclaims: int, *, abandoned: bool = False) -> int:
    tenant_id, run_id, step_id = lease["tenant_id"], lease["run_id"], lease["id"]
    try:
        run = rungraph.load(tenant_id, run_id)
    except LookupError:
        return 0
    if lease["reclaims"] < max_reclaims:
        try:
            with tenant_uow(tenant_id) as uow:
                txn = RunTxn.begin(uow, run)
                token = lease["claim_token"] if abandoned else None
                if not completion.requeue_expired_lease(txn, step_id, claim_token=token):
                    return 0
                txn.write()
                uow.commit()
        except RunMissing:
            return 0
        dispatch.send(txn.doorbells)
        return 1
    error = StepTimeout("The step's worker did not finish within its lease.", code="step_lease_expired")
    outcome = completion.Outcome(
        step_id=step_id, node_id=lease["node_id"], instance_key=lease["instance_key"], attempt=lease["attempt"],
        claim_token=lease["claim_token"], input=lease["input"], duration_ms=0.0, error=error,
        error_body=runner.error_body(error),
    )
    completed = runner.complete(run, outcome)
    if completed is None:
        return 0
    dispatch.send(completed.doorbells)
    runner.after_commit(completed)
    return 1
