"""One path for every way a trigger fires (webhook, cron slot, manual start): gate, admit, record, start.

In one tenant transaction (which, when the engine can start runs inside it,
also creates the run: one commit per accepted delivery):

1. **duplicate** — an accepted delivery with the same dedupe key exists: record
   ``duplicate`` pointing at it (and its run); no second run;
2. **gating** — a deactivated trigger starts nothing, in any mode and by any
   route (``disabled``: its test URL and test-mode starts are refused as its
   production URL is); production mode also needs the workflow enabled and in
   production (``not_production``); recorded, no run;
3. **rate limit** (webhooks) — the tenant's token bucket, under its row lock
   (``rate_limited``, 429 with ``Retry-After`` and RateLimit headers);
4. **admission** — hourly quota (``rate_limited``, 429) or concurrency (the run
   waits, ``queued``);
5. **claim** — the accepted delivery is inserted; its unique dedupe key (or
   cron slot) makes a concurrent copy lose here, which then counts as a
   duplicate (or, for a slot, does nothing). A ``pending_runs`` row is written
   with it: the outbox that guarantees the run starts even if this process
   dies before it does.

When the engine could not start the run inside that transaction, it is
started after commit (:mod:`starting`, shared with the release of waiting
runs) and the delivery gets its run id (``started``). A refusal by the engine (workflow not
runnable, input invalid) is recorded and releases the dedupe claim; a
transient failure keeps the outbox row for the recovery job when
``recoverable`` (cron), and otherwise releases the claim so the sender retries
(webhook: 503).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from chalicelib.container import current
from chalicelib.db.uow import tenant_uow
from chalicelib.errors import Conflict, DependencyUnavailable, NotFound, SteplineError
from chalicelib.ids import new_id
from chalicelib.observability import logger
from chalicelib.services.triggers import admission, engine_adapters, ports
from chalicelib.services.triggers.release import release
from chalicelib.services.triggers.settings import trigger_settings
from chalicelib.services.triggers.starting import (
    REASON_LIMIT,
    FireResult,
    WorkflowNotInProduction,
    refusal_of,
    start,
)
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.triggers import pending_runs, trigger_deliveries
from chalicelib.triggers.backpressure import AdmissionDecision
from chalicelib.triggers.captured_requests import CapturedRequest
from chalicelib.triggers.dedupe import DedupeKey


class TriggerDisabled(Conflict):
    """The trigger is deactivated: the delivery was recorded and no run started."""

    code, default_message = "trigger_disabled", "This trigger is deactivated."


@dataclass(frozen=True)
class Firing:
    """One attempt to start a run from a trigger."""

    trigger: Mapping[str, Any]
    kind: str  # how it fired: the name of its kind (services/triggers/kinds)
    mode: str = ports.PRODUCTION
    input: Any = None
    dedupe: DedupeKey | None = None
    external_id: str | None = None
    slot: dt.datetime | None = None
    body_bytes: int | None = None
    actor_id: str | None = None
    request: CapturedRequest | None = None  # webhooks: the request as received, masked (kept with the delivery)
    rate_limited: bool = False  # spend a token of the tenant's webhook bucket
    gated: bool = True  # the workflow must run in production (test deliveries run the draft)
    recoverable: bool = False  # on a transient start failure keep the run for the recovery job

    @property
    def tenant_id(self) -> str:
        return str(self.trigger["tenant_id"])


def _delivery_values(firing: Firing, outcome: str, *, reason: str | None, status_code: int | None,
                     accepted: bool, duplicate_of: str | None, run_id: str | None, delivery_id: str) -> dict[str, Any]:
    trigger = firing.trigger
    return dict(
        id=delivery_id, tenant_id=firing.tenant_id, workspace_id=str(trigger["workspace_id"]),
        trigger_id=str(trigger["id"]), workflow_id=str(trigger["workflow_id"]), kind=firing.kind,
        mode=firing.mode, outcome=outcome, reason=(reason or None) and reason[:REASON_LIMIT],
        accepted=accepted,
        dedupe_key=firing.dedupe.value if firing.dedupe else None,
        dedupe_source=firing.dedupe.source.value if firing.dedupe else None,
        external_id=(firing.external_id or None) and firing.external_id[:200], slot=firing.slot,
        run_id=run_id, duplicate_of=duplicate_of, status_code=status_code, body_bytes=firing.body_bytes,
        actor_id=firing.actor_id,
        **(firing.request.columns() if firing.request is not None else {}),
    )


def record(uow: UnitOfWork, firing: Firing, outcome: str, *, reason: str | None = None,
           status_code: int | None = None, accepted: bool = False, duplicate_of: str | None = None,
           run_id: str | None = None, delivery_id: str | None = None) -> str | None:
    """Insert one delivery row; ``None`` when its cron slot or dedupe claim was taken by another."""
    delivery_id = delivery_id or new_id()
    values = _delivery_values(firing, outcome, reason=reason, status_code=status_code, accepted=accepted,
                              duplicate_of=duplicate_of, run_id=run_id, delivery_id=delivery_id)
    if firing.slot is None and not accepted:
        uow.execute(insert(trigger_deliveries).values(**values))
        return delivery_id
    stmt = pg_insert(trigger_deliveries).values(**values).on_conflict_do_nothing().returning(trigger_deliveries.c.id)
    return delivery_id if uow.execute(stmt).first() is not None else None


def _record_started(uow: UnitOfWork, firing: Firing, delivery_id: str, run_id: str,
                    now: dt.datetime) -> dt.datetime | None:
    """Insert the accepted delivery already ``started`` with its run; its ``created_at``, or ``None``
    when a concurrent copy claimed the dedupe key (or slot) first."""
    values = _delivery_values(firing, "started", reason=None, status_code=202, accepted=True, duplicate_of=None,
                              run_id=run_id, delivery_id=delivery_id)
    stmt = pg_insert(trigger_deliveries).values(**values, started_at=now).on_conflict_do_nothing()
    row = uow.execute(stmt.returning(trigger_deliveries.c.created_at)).first()
    return None if row is None else row[0]


def _original(uow: UnitOfWork, firing: Firing) -> Mapping[str, Any] | None:
    if firing.dedupe is None:
        return None
    d = trigger_deliveries.c
    query = select(d.id, d.run_id).where(d.trigger_id == str(firing.trigger["id"]), d.mode == firing.mode,
                                         d.dedupe_key == firing.dedupe.value, d.accepted)
    return uow.execute(query).mappings().first()


def _duplicate(uow: UnitOfWork, firing: Firing, original: Mapping[str, Any]) -> FireResult:
    original_id, run_id = str(original["id"]), original["run_id"] and str(original["run_id"])
    delivery_id = record(uow, firing, "duplicate", reason="Already received; no second run.", status_code=200,
                         duplicate_of=original_id, run_id=run_id)
    return FireResult("duplicate", delivery_id, run_id, duplicate_of=original_id)


def _gate(uow: UnitOfWork, firing: Firing) -> FireResult | None:
    """The recorded refusal when gating forbids a run, else None."""
    state = current().workflow_directory().state(uow, str(firing.trigger["workflow_id"]))
    if state is None:
        return FireResult("invalid", reason="The workflow no longer exists.",
                          error=NotFound("The trigger's workflow no longer exists."))
    # The trigger's own switch binds every mode: a deactivated trigger's test URL must not become a
    # way to run the workflow (with its real connections) that nobody can turn off.
    if not firing.trigger["enabled"]:
        return FireResult("disabled", reason="The trigger is deactivated.", error=TriggerDisabled())
    if not firing.gated:
        return None
    if not state.runs_in_production:
        why = f"The workflow is {state.status}" + ("" if state.enabled else " and not enabled") + "."
        return FireResult("not_production", reason=why, error=WorkflowNotInProduction(why))
    return None


@dataclass
class Admitted:
    """What :func:`admit` decided inside the transaction; :func:`follow_through` acts on it after commit."""

    firing: Firing
    now: dt.datetime
    result: FireResult | None = None  # final already (duplicate, gated, limited)
    delivery_id: str | None = None
    queued: bool = False
    waiting_first: bool = False  # queued behind waiting runs: a slot may be free
    lost_claim: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def fire(firing: Firing, now: dt.datetime) -> FireResult:
    """Gate, admit, record and start; see the module docstring."""
    with tenant_uow(firing.tenant_id) as uow:
        admitted = admit(uow, firing, now)
    return follow_through(admitted)


def admit(uow: UnitOfWork, firing: Firing, now: dt.datetime) -> Admitted:
    """Steps 1–5 in ``uow`` (the tenant's, open), which is committed or rolled back here.

    The caller must close ``uow`` before :func:`follow_through`: starting the
    run takes connections of its own, and holding one meanwhile could starve
    the pool under load.
    """
    policy = trigger_settings().backpressure
    original = _original(uow, firing)
    if original is not None:
        result = _duplicate(uow, firing, original)
        uow.commit()
        return Admitted(firing, now, result)
    refused = _gate(uow, firing)
    if refused is not None:
        refused.delivery_id = record(uow, firing, refused.outcome, reason=refused.reason,
                                     status_code=refused.error.status if refused.error else None)
        uow.commit()
        return Admitted(firing, now, refused)
    # A start in this very transaction (one commit per delivery, no outbox row): its reads and checks
    # come first, before the tenant's bucket row is locked, so the lock is held for as little as possible.
    starter = current().run_starter()
    transactional = starter if isinstance(starter, ports.TransactionalRunStarter) else None
    prepared: Any = None
    if not firing.recoverable and transactional is not None:
        try:
            prepared = transactional.prepare(uow, str(firing.trigger["workspace_id"]),
                                             str(firing.trigger["workflow_id"]), mode=firing.mode, input=firing.input)
        except Exception as exc:
            refusal = refusal_of(exc)
            if refusal is None:
                raise
            outcome, error = refusal
            message = getattr(exc, "message", None) or type(exc).__name__
            delivery_id = record(uow, firing, outcome, reason=message, status_code=error.status)
            uow.commit()
            return Admitted(firing, now, FireResult(outcome, delivery_id, reason=message, error=error))
    state = admission.lock_tenant(uow, firing.tenant_id, policy.webhook_rate_limit, now)
    headers: dict[str, str] = {}
    if firing.rate_limited:
        taken = admission.take_token(uow, firing.tenant_id, policy.webhook_rate_limit, state, now)
        headers = policy.webhook_rate_limit.headers(taken.state, now)
        if not taken.allowed:
            error = policy.webhook_rate_limit.rejection(taken, now)
            delivery_id = record(uow, firing, "rate_limited", status_code=429,
                                 reason=f"Tenant webhook rate limit; retry after {error.retry_after} s.")
            uow.commit()
            limited = FireResult("rate_limited", delivery_id, error=error, headers=error.headers)
            return Admitted(firing, now, limited)
    counts = admission.read_counts(uow, firing.tenant_id, now)
    decision = admission.decide(counts, policy)
    if decision.decision is AdmissionDecision.REJECT:
        error = admission.quota_rejection(counts, decision, policy, headers)
        delivery_id = record(uow, firing, "rate_limited", status_code=429,
                             reason=f"Hourly run quota ({policy.max_runs_per_hour}) reached.")
        uow.commit()
        limited = FireResult("rate_limited", delivery_id, error=error, headers=error.headers)
        return Admitted(firing, now, limited)
    queued = decision.decision is AdmissionDecision.QUEUE
    if transactional is not None and prepared is not None and not queued:
        return _admit_and_start(uow, firing, now, transactional, prepared, headers)
    delivery_id = record(uow, firing, "queued" if queued else "started", status_code=202, accepted=True,
                         reason="Waiting for a free run slot." if queued else None)
    if delivery_id is None:  # a concurrent copy claimed the key or slot: undo this transaction
        uow.rollback()
        return Admitted(firing, now, lost_claim=True)
    admission.count_admitted(uow, firing.tenant_id, now)
    uow.execute(insert(pending_runs).values(
        id=new_id(), tenant_id=firing.tenant_id, workspace_id=str(firing.trigger["workspace_id"]),
        workflow_id=str(firing.trigger["workflow_id"]), trigger_id=str(firing.trigger["id"]),
        delivery_id=delivery_id, mode=firing.mode, input=firing.input, waiting=queued,
        attempted_at=None if queued else now))
    uow.commit()
    return Admitted(firing, now, delivery_id=delivery_id, queued=queued, headers=headers,
                    waiting_first=decision.reason == "runs_waiting")


def _admit_and_start(uow: UnitOfWork, firing: Firing, now: dt.datetime, starter: ports.TransactionalRunStarter,
                     prepared: Any, headers: dict[str, str]) -> Admitted:
    """Record the delivery ``started`` and create its run in ``uow``, then commit and ring the doorbell."""
    delivery_id = new_id()
    run_id = engine_adapters.run_id_of(delivery_id)
    received_at = _record_started(uow, firing, delivery_id, run_id, now)
    if received_at is None:  # a concurrent copy claimed the key: undo this transaction
        uow.rollback()
        return Admitted(firing, now, lost_claim=True)
    admission.count_admitted(uow, firing.tenant_id, now)
    info = engine_adapters.info_of(str(firing.trigger["id"]), firing.kind, delivery_id, firing.external_id
                                   and firing.external_id[:200], firing.slot, received_at)
    try:
        ring = starter.launch(uow, prepared, run_id=run_id, kind=firing.kind, trigger_info=info)
        uow.commit()
    except Exception as exc:  # nothing of this delivery was kept: record why, and let the sender retry
        uow.rollback()
        return Admitted(firing, now, _not_started(firing, exc))
    ring()
    return Admitted(firing, now, FireResult("started", delivery_id, run_id, headers=headers))


def _not_started(firing: Firing, exc: BaseException) -> FireResult:
    """The run could not be created with its delivery: an ``error`` delivery (not accepted), 503."""
    if not isinstance(exc, SteplineError):
        logger.error("run start failed", exc_info=exc, extra={"trigger_id": str(firing.trigger["id"])})
    error = exc if isinstance(exc, DependencyUnavailable) else DependencyUnavailable(
        "The run could not be started; please retry.")
    message = getattr(exc, "message", None) or type(exc).__name__
    with tenant_uow(firing.tenant_id) as uow:
        delivery_id = record(uow, firing, "error", reason=message, status_code=error.status)
        uow.commit()
    return FireResult("error", delivery_id, reason=message, error=error)


def follow_through(admitted: Admitted) -> FireResult:
    """After commit: start the run (or let waiting runs go first); no connection may be held here."""
    firing, now = admitted.firing, admitted.now
    if admitted.result is not None:
        return admitted.result
    if admitted.lost_claim:
        return _after_lost_claim(firing)
    if admitted.queued:
        if admitted.waiting_first:
            release(firing.tenant_id, now)
        return FireResult("queued", admitted.delivery_id, reason="Waiting for a free run slot.",
                          headers=admitted.headers)
    assert admitted.delivery_id is not None  # admitted and not a lost claim: the delivery was recorded
    result = start(firing.trigger, admitted.delivery_id, firing.mode, firing.input, kind=firing.kind,
                   recoverable=firing.recoverable, now=now)
    result.headers = admitted.headers
    return result


def _after_lost_claim(firing: Firing) -> FireResult:
    if firing.slot is not None:
        return FireResult("duplicate", reason="Another tick fired this slot.")
    with tenant_uow(firing.tenant_id) as uow:
        original = _original(uow, firing)
        if original is None:  # the winner was released meanwhile (its start failed): let the sender retry
            return FireResult("error", error=DependencyUnavailable("Please retry this delivery."))
        result = _duplicate(uow, firing, original)
        uow.commit()
    return result
