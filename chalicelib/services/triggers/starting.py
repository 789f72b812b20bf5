"""Starting the run of an accepted delivery, after the transaction that accepted it committed.

Shared by the firing path (:mod:`firing`, a start that could not happen inside
the accepting transaction) and the release of waiting runs (:mod:`release`):
the engine starts the run through the ``RunStarter`` port, then the delivery
gets its run and leaves the outbox in one statement. A refusal by the engine
that retrying cannot fix (workflow not runnable, input invalid) is recorded and
releases the dedupe claim; a transient failure keeps the outbox row for the
recovery job when ``recoverable``, and otherwise releases the claim so the
sender retries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, text, update

from chalicelib.container import current
from chalicelib.db.uow import tenant_uow
from chalicelib.errors import Conflict, DependencyUnavailable, NotFound, SteplineError, ValidationFailed
from chalicelib.observability import logger
from chalicelib.services.triggers import engine_adapters
from chalicelib.tables.triggers import pending_runs, trigger_deliveries

REASON_LIMIT = 300
# The delivery gets its run and leaves the outbox, in one statement.
SETTLE_STARTED = text(
    "WITH gone AS (DELETE FROM pending_runs WHERE delivery_id = CAST(:d AS uuid)) "
    "UPDATE trigger_deliveries SET outcome = 'started', reason = NULL, run_id = CAST(:run AS uuid), "
    "started_at = :at WHERE id = CAST(:d AS uuid)"
)


class WorkflowNotInProduction(Conflict):
    """Production runs need the workflow enabled and in production: recorded, no run."""

    code, default_message = "workflow_not_in_production", "The workflow is not enabled and in production."


@dataclass
class FireResult:
    """What happened; ``error`` is what the caller answers with when no run was accepted."""

    outcome: str
    delivery_id: str | None = None
    run_id: str | None = None
    duplicate_of: str | None = None
    reason: str | None = None
    error: SteplineError | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.outcome in ("started", "queued", "duplicate")


def refusal_of(exc: BaseException) -> tuple[str, SteplineError] | None:
    """The recorded outcome of an engine refusal that retrying cannot fix, else None."""
    if isinstance(exc, engine_adapters.NOT_RUNNABLE_ERRORS):
        return "not_production", WorkflowNotInProduction(getattr(exc, "message", None))
    if isinstance(exc, NotFound):
        return "invalid", NotFound("The trigger's workflow no longer exists.")
    if isinstance(exc, ValidationFailed):
        return "invalid", exc
    return None


def start(trigger: Mapping[str, Any], delivery_id: str, mode: str, payload: Any, *, kind: str,
          recoverable: bool, now: dt.datetime) -> FireResult:
    """Start the run of an accepted delivery and settle the delivery and its outbox row."""
    tenant_id = str(trigger["tenant_id"])
    try:
        run_id = current().run_starter().start(
            tenant_id, str(trigger["workspace_id"]), str(trigger["workflow_id"]), mode=mode, input=payload,
            trigger_id=str(trigger["id"]), delivery_id=delivery_id, kind=kind)
    except Exception as exc:  # every failure is settled on the delivery; see refusal_of for which are final
        return _start_failed(tenant_id, delivery_id, exc, recoverable=recoverable, now=now)
    with tenant_uow(tenant_id) as uow:
        uow.execute(SETTLE_STARTED, {"d": delivery_id, "run": run_id, "at": now})
        uow.commit()
    return FireResult("started", delivery_id, run_id)


def _start_failed(tenant_id: str, delivery_id: str, exc: BaseException, *, recoverable: bool,
                  now: dt.datetime) -> FireResult:
    refusal = refusal_of(exc)
    message = getattr(exc, "message", None) or type(exc).__name__
    with tenant_uow(tenant_id) as uow:
        if refusal is None and recoverable:
            logger.warning("run start failed; the recovery job will retry",
                           extra={"delivery_id": delivery_id, "error_type": type(exc).__name__})
            uow.execute(update(pending_runs).where(pending_runs.c.delivery_id == delivery_id).values(
                last_error=message[:300], attempted_at=now))
            uow.execute(update(trigger_deliveries).where(trigger_deliveries.c.id == delivery_id).values(
                outcome="queued", reason=f"Start will be retried: {message}"[:REASON_LIMIT]))
            uow.commit()
            return FireResult("queued", delivery_id, reason=message)
        if refusal is None:
            if not isinstance(exc, SteplineError):
                logger.error("run start failed", exc_info=exc, extra={"delivery_id": delivery_id})
            error: SteplineError = exc if isinstance(exc, DependencyUnavailable) else DependencyUnavailable(
                "The run could not be started; please retry.")
            outcome = "error"
        else:
            outcome, error = refusal
        # The claim is released: a later copy of this delivery is not a duplicate of one that never ran.
        uow.execute(update(trigger_deliveries).where(trigger_deliveries.c.id == delivery_id).values(
            outcome=outcome, reason=message[:REASON_LIMIT], accepted=False, status_code=error.status))
        uow.execute(delete(pending_runs).where(pending_runs.c.delivery_id == delivery_id))
        uow.commit()
    return FireResult(outcome, delivery_id, reason=message, error=error)
