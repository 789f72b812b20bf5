"""One path for every way a trigger fires (webhook, cron slot, manual start): gate, admit, record, start.

In one tenant transaction (which, when the engine can start runs inside it,
also creates the run: one commit per accepted delivery):

1. **duplicate** — an accepted delivery with the same dedupe key exists: record
   ``duplicate`` pointing at it (and its run); no second run;
2. **gating** — a deactivated trigger starts nothing, in any mode and by any
   route (``disabled``: its test URL and test-mode starts are refused as its
   production URL is); production mode also needs the workflow enabled and in
   production (``not_production``); recorded, no run;
3. **rate limit** (webhooks) — the tenant's token bucket, spent on its row
   (``rate_limited``, 429 with ``Retry-After`` and RateLimit headers);
4. **admission** — hourly quota (``rate_limited``, 429) or concurrency (the run
   waits, ``queued``), decided under the tenant's slots lock when the run may
   start (:mod:`admission`);
5. **claim** — the accepted delivery is inserted (one statement with the
   bucket, the minute's count and, for a run that waits or starts after
   commit, its ``pending_runs`` outbox row); its unique dedupe key (or cron
   slot) makes a concurrent copy lose here, which then counts as a duplicate
   (or, for a slot, does nothing).

A webhook of a tenant whose previous webhook waited takes the waiting path
first (:func:`_admit_waiting`): the counts and the dedupe lookup unlocked
(waiting never breaks the concurrency limit), then one statement spends the
bucket, records the delivery waiting and rechecks the hourly quota on its
answer, right before the commit; if a slot turns out free it falls back to
the locked path above.

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
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from chalicelib.cache import BoundedCache
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
from chalicelib.tables.triggers import trigger_deliveries, trigger_rate_buckets
from chalicelib.triggers.backpressure import HOUR_SECONDS, AdmissionDecision
from chalicelib.triggers.captured_requests import CapturedRequest
from chalicelib.triggers.dedupe import DedupeKey
from chalicelib.triggers.ratelimit import BucketState

_DELIVERY_COLUMNS = [c.name for c in trigger_deliveries.c if c.name != "created_at"]
# Both ways of admitting a delivery count the minute's admission under its row lock (``counted``, a CTE over the
# inserted delivery ``d``) and answer the hour's count with that minute's latest (rechecked against the quota).
_COUNTED = """counted AS (
        INSERT INTO run_admission_counts (tenant_id, minute, count)
        SELECT CAST(:tenant AS uuid), :minute, 1 FROM d
        ON CONFLICT ON CONSTRAINT pk_run_admission_counts DO UPDATE SET count = run_admission_counts.count + 1
        RETURNING count"""
_HOURS_COUNT = """(SELECT count FROM counted)
           + (SELECT coalesce(sum(count), 0) FROM run_admission_counts
              WHERE tenant_id = CAST(:tenant AS uuid) AND minute > :since AND minute < :minute)"""
# The accepted delivery and everything admission writes with it, in one round trip (``_accept``).
_ACCEPT = text(
    f"""
    WITH d AS (
        INSERT INTO trigger_deliveries ({", ".join(_DELIVERY_COLUMNS)})
        SELECT {", ".join("r." + c for c in _DELIVERY_COLUMNS)}
        FROM jsonb_populate_record(NULL::trigger_deliveries, CAST(:row AS jsonb)) r
        ON CONFLICT DO NOTHING
        RETURNING id, created_at, workspace_id, workflow_id, trigger_id, mode
    ), bucket AS (
        UPDATE trigger_rate_buckets SET tokens = :tokens, updated_at = :bucket_at
        WHERE tenant_id = CAST(:tenant AS uuid) AND CAST(:store AS boolean) AND EXISTS (SELECT 1 FROM d)
    ), {_COUNTED}
    ), pending AS (
        INSERT INTO pending_runs (id, tenant_id, workspace_id, workflow_id, trigger_id, delivery_id, mode, input,
                                  waiting, attempted_at)
        SELECT CAST(:pending_id AS uuid), CAST(:tenant AS uuid), d.workspace_id, d.workflow_id, d.trigger_id, d.id,
               d.mode, CAST(:input AS jsonb), :waiting, :attempted_at
        FROM d WHERE CAST(:outbox AS boolean)
    )
    SELECT created_at,
           {_HOURS_COUNT}
    FROM d
    """
).columns(trigger_deliveries.c.created_at)


class _OverQuota(Exception):
    """The hour's count returned with the admission is past the quota: admissions that hold no slots lock
    (deliveries admitted to wait) filled it meanwhile; the caller rolls back and refuses."""


# A delivery admitted to wait, in one statement: the tenant's bucket refilled and spent (the arithmetic of
# ``RateLimitPolicy.take``; ``allowed`` its answer), and only when allowed the delivery, the minute's
# admission count (returned: the latest, under its row lock) and the waiting ``pending_runs`` row.
_REFILLED = ("least(CAST(:capacity AS float8), greatest(0, b.tokens)"
             " + greatest(0, extract(epoch FROM CAST(:now AS timestamptz) - b.updated_at)) * :rate)")
_ACCEPT_WAITING = text(
    f"""
    WITH b AS (
        INSERT INTO trigger_rate_buckets AS b (tenant_id, tokens, updated_at, allowed)
        VALUES (CAST(:tenant AS uuid), CAST(:capacity AS float8) - 1, :now, true)
        ON CONFLICT (tenant_id) DO UPDATE SET
            tokens = CASE WHEN {_REFILLED} + 1e-9 >= 1 THEN greatest(0, {_REFILLED} - 1) ELSE {_REFILLED} END,
            updated_at = greatest(CAST(:now AS timestamptz), b.updated_at),
            allowed = {_REFILLED} + 1e-9 >= 1
        RETURNING b.tokens, b.updated_at, b.allowed
    ), d AS (
        INSERT INTO trigger_deliveries ({", ".join(_DELIVERY_COLUMNS)})
        SELECT {", ".join("r." + c for c in _DELIVERY_COLUMNS)}
        FROM jsonb_populate_record(NULL::trigger_deliveries, CAST(:row AS jsonb)) r, b WHERE b.allowed
        ON CONFLICT DO NOTHING
        RETURNING id, created_at, workspace_id, workflow_id, trigger_id, mode
    ), {_COUNTED}
    ), pending AS (
        INSERT INTO pending_runs (id, tenant_id, workspace_id, workflow_id, trigger_id, delivery_id, mode, input,
                                  waiting)
        SELECT CAST(:pending_id AS uuid), CAST(:tenant AS uuid), d.workspace_id, d.workflow_id, d.trigger_id, d.id,
               d.mode, CAST(:input AS jsonb), true
        FROM d
    )
    SELECT b.tokens, b.updated_at, b.allowed, (SELECT created_at FROM d),
           {_HOURS_COUNT}
    FROM b
    """
).columns(trigger_rate_buckets.c.tokens, trigger_rate_buckets.c.updated_at, trigger_rate_buckets.c.allowed,
          trigger_deliveries.c.created_at)
# Tenants whose last webhook was admitted to wait: their next one tries the waiting path first.
_WAITING: BoundedCache[str, bool] = BoundedCache(4096, ttl_seconds=5.0)


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
    target: Any = None  # the workflow's state and start reads, when read with the trigger (webhooks)

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


def _accept(uow: UnitOfWork, firing: Firing, outcome: str, now: dt.datetime, *, delivery_id: str,
            bucket: BucketState | None, run_id: str | None = None, waiting: bool = False,
            outbox: bool = True, reason: str | None = None) -> dt.datetime | None:
    """One statement: the accepted delivery, the tenant's spent bucket, the minute's admission count and
    (``outbox``) its ``pending_runs`` row; the delivery's ``created_at``, or ``None`` when a concurrent copy
    claimed the dedupe key (or slot) first (the caller rolls back)."""
    values = _delivery_values(firing, outcome, reason=reason, status_code=202, accepted=True, duplicate_of=None,
                              run_id=run_id, delivery_id=delivery_id)
    values["started_at"] = now if run_id is not None else None
    params = {
        "row": json.dumps(values, default=_json_default), "tenant": firing.tenant_id,
        "store": bucket is not None, "tokens": bucket.tokens if bucket else 0.0,
        "bucket_at": bucket.updated_at if bucket else now, "minute": now.replace(second=0, microsecond=0),
        "outbox": outbox, "pending_id": new_id(), "waiting": waiting, "attempted_at": None if waiting else now,
        "input": None if firing.input is None else json.dumps(firing.input),
        "since": now - dt.timedelta(seconds=HOUR_SECONDS),
    }
    row = uow.execute(_ACCEPT, params).first()
    if row is None:
        return None
    if row[1] > trigger_settings().backpressure.max_runs_per_hour:
        raise _OverQuota()
    return row[0]


def _json_default(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _original(uow: UnitOfWork, firing: Firing) -> Mapping[str, Any] | None:
    if firing.dedupe is None:
        return None
    d = trigger_deliveries.c
    query = select(d.id, d.run_id).where(d.trigger_id == str(firing.trigger["id"]), d.mode == firing.mode,
                                         d.dedupe_key == firing.dedupe.value, d.accepted)
    return uow.execute(query).mappings().first()


def _if_duplicate(uow: UnitOfWork, firing: Firing, now: dt.datetime) -> Admitted | None:
    """Record and commit a duplicate, when the delivery is one."""
    original = _original(uow, firing)
    if original is None:
        return None
    result = _duplicate(uow, firing, original)
    uow.commit()
    return Admitted(firing, now, result)


def _duplicate(uow: UnitOfWork, firing: Firing, original: Mapping[str, Any]) -> FireResult:
    original_id, run_id = str(original["id"]), original["run_id"] and str(original["run_id"])
    delivery_id = record(uow, firing, "duplicate", reason="Already received; no second run.", status_code=200,
                         duplicate_of=original_id, run_id=run_id)
    return FireResult("duplicate", delivery_id, run_id, duplicate_of=original_id)


def _gate(uow: UnitOfWork, firing: Firing) -> FireResult | None:
    """The recorded refusal when gating forbids a run, else None."""
    state = (firing.target.state if firing.target is not None
             else current().workflow_directory().state(uow, str(firing.trigger["workflow_id"])))
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
    # A duplicate is answered as one whatever else would refuse it. Its lookup rides on the statement that
    # locks the tenant's bucket; a delivery refused before that looks it up on its own first.
    policy = trigger_settings().backpressure
    refused = _gate(uow, firing)
    if refused is not None:
        duplicate = _if_duplicate(uow, firing, now)
        if duplicate is not None:
            return duplicate
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
            known = {} if firing.target is None else {"target": firing.target}
            prepared = transactional.prepare(uow, str(firing.trigger["workspace_id"]),
                                             str(firing.trigger["workflow_id"]), mode=firing.mode, input=firing.input,
                                             **known)
        except Exception as exc:
            refusal = refusal_of(exc)
            if refusal is None:
                raise
            duplicate = _if_duplicate(uow, firing, now)
            if duplicate is not None:
                return duplicate
            outcome, error = refusal
            message = getattr(exc, "message", None) or type(exc).__name__
            delivery_id = record(uow, firing, outcome, reason=message, status_code=error.status)
            uow.commit()
            return Admitted(firing, now, FireResult(outcome, delivery_id, reason=message, error=error))
    dedupe = (str(firing.trigger["id"]), firing.mode, firing.dedupe.value) if firing.dedupe else None
    if firing.rate_limited and _WAITING.get(firing.tenant_id):
        waiting = _admit_waiting(uow, firing, now, dedupe)
        if waiting is not None:
            return waiting
    # From here to the commit the tenant's bucket row is locked: one statement locks it, one reads the
    # counts (a fresh snapshot, so a concurrent admission that committed meanwhile is counted), one writes.
    state, original = uow.trigger_admission.lock_bucket_finding(
        firing.tenant_id, float(policy.webhook_rate_limit.capacity), now, dedupe)
    if original is not None:
        result = _duplicate(uow, firing, {"id": original[0], "run_id": original[1]})
        uow.commit()
        return Admitted(firing, now, result)
    headers: dict[str, str] = {}
    spent: BucketState | None = None
    if firing.rate_limited:
        taken = policy.webhook_rate_limit.take(state, now)  # stored with the delivery (a refusal stores nothing)
        headers = policy.webhook_rate_limit.headers(taken.state, now)
        if not taken.allowed:
            error = policy.webhook_rate_limit.rejection(taken, now)
            delivery_id = record(uow, firing, "rate_limited", status_code=429,
                                 reason=f"Tenant webhook rate limit; retry after {error.retry_after} s.")
            uow.commit()
            limited = FireResult("rate_limited", delivery_id, error=error, headers=error.headers)
            return Admitted(firing, now, limited)
        spent = taken.state
    counts = admission.read_counts(uow, firing.tenant_id, now, bound=policy.max_concurrent_runs)
    decision = admission.decide(counts, policy)
    if decision.decision is AdmissionDecision.REJECT:
        error = admission.quota_rejection(counts, decision, policy, headers)
        delivery_id = record(uow, firing, "rate_limited", status_code=429,
                             reason=f"Hourly run quota ({policy.max_runs_per_hour}) reached.")
        uow.commit()
        limited = FireResult("rate_limited", delivery_id, error=error, headers=error.headers)
        return Admitted(firing, now, limited)
    queued = decision.decision is AdmissionDecision.QUEUE
    if firing.rate_limited:
        _WAITING.put(firing.tenant_id, queued)
    try:
        if transactional is not None and prepared is not None and not queued:
            return _admit_and_start(uow, firing, now, transactional, prepared, headers, spent)
        delivery_id = new_id()
        recorded = _accept(uow, firing, "queued" if queued else "started", now, delivery_id=delivery_id,
                           bucket=spent, waiting=queued, reason="Waiting for a free run slot." if queued else None)
    except _OverQuota:
        uow.rollback()
        over = admission.Counts(counts.running, counts.starting, counts.waiting, policy.max_runs_per_hour,
                                counts.oldest_age_seconds)
        return _refused_quota(None, firing, now, over, admission.decide(over, policy), headers)
    if recorded is None:  # a concurrent copy claimed the key or slot: undo this transaction
        uow.rollback()
        return Admitted(firing, now, lost_claim=True)
    uow.commit()
    # Queued behind waiting runs while a slot is free: let the oldest go (never when the tenant is at its
    # limit, the steady state of a backlog: then a finishing run releases it).
    slot_free = admission.free_slots(counts, policy) > 0
    return Admitted(firing, now, delivery_id=delivery_id, queued=queued, headers=headers,
                    waiting_first=decision.reason == "runs_waiting" and slot_free)


def _admit_waiting(uow: UnitOfWork, firing: Firing, now: dt.datetime,
                   dedupe: tuple[str, str, str] | None) -> Admitted | None:
    """A webhook delivery admitted to wait without holding the tenant's row across round trips.

    Waiting never breaks the concurrency limit, so the decision needs no lock: the counts (and the dedupe
    lookup) are read unlocked, and when they say "wait" one statement spends the bucket and records the
    delivery waiting, right before the commit. The hourly quota is checked again on that statement's
    answer (the current minute's count is the latest, read under that minute's row lock): over it, nothing
    is kept and the delivery is refused as it would have been. ``None``: a slot is free, admit it the
    locked way.
    """
    policy = trigger_settings().backpressure
    counts = admission.read_counts(uow, firing.tenant_id, now, bound=policy.max_concurrent_runs, dedupe=dedupe)
    if counts.original is not None:
        result = _duplicate(uow, firing, {"id": counts.original[0], "run_id": counts.original[1]})
        uow.commit()
        return Admitted(firing, now, result)
    decision = admission.decide(counts, policy)
    if decision.decision is AdmissionDecision.START:
        _WAITING.put(firing.tenant_id, False)
        return None
    bucket = policy.webhook_rate_limit
    if decision.decision is AdmissionDecision.REJECT:
        return _refused_quota(uow, firing, now, counts, decision, None)
    delivery_id = new_id()
    values = _delivery_values(firing, "queued", reason="Waiting for a free run slot.", status_code=202,
                              accepted=True, duplicate_of=None, run_id=None, delivery_id=delivery_id)
    minute = now.replace(second=0, microsecond=0)
    row = uow.execute(_ACCEPT_WAITING, {
        "row": json.dumps(values, default=_json_default), "tenant": firing.tenant_id, "now": now,
        "capacity": float(bucket.capacity), "rate": float(bucket.refill_per_second), "minute": minute,
        "since": now - dt.timedelta(seconds=HOUR_SECONDS), "pending_id": new_id(),
        "input": None if firing.input is None else json.dumps(firing.input),
    }).one()
    state = BucketState(float(row[0]), row[1])
    if not row[2]:  # the bucket is empty: nothing kept, refused as the locked way refuses
        uow.rollback()
        error = bucket.rejection(bucket.take(state, now), now)
        with tenant_uow(firing.tenant_id) as refusal:
            refused_id = record(refusal, firing, "rate_limited", status_code=429,
                                reason=f"Tenant webhook rate limit; retry after {error.retry_after} s.")
            refusal.commit()
        return Admitted(firing, now, FireResult("rate_limited", refused_id, error=error, headers=error.headers))
    if row[3] is None:  # a concurrent copy claimed the key: undo this transaction
        uow.rollback()
        return Admitted(firing, now, lost_claim=True)
    if row[4] > policy.max_runs_per_hour:  # concurrent admissions filled the hour meanwhile
        uow.rollback()
        over = admission.Counts(counts.running, counts.starting, counts.waiting, policy.max_runs_per_hour,
                                counts.oldest_age_seconds)
        return _refused_quota(None, firing, now, over, admission.decide(over, policy), bucket.headers(state, now))
    uow.commit()
    slot_free = admission.free_slots(counts, policy) > 0
    return Admitted(firing, now, delivery_id=delivery_id, queued=True, headers=bucket.headers(state, now),
                    waiting_first=decision.reason == "runs_waiting" and slot_free)


def _refused_quota(uow: UnitOfWork | None, firing: Firing, now: dt.datetime, counts: admission.Counts,
                     decision: Any, headers: dict[str, str] | None) -> Admitted:
    """The hourly quota's 429, recorded in ``uow`` (or a new transaction when ``None``)."""
    policy = trigger_settings().backpressure
    error = admission.quota_rejection(counts, decision, policy, headers)
    reason = f"Hourly run quota ({policy.max_runs_per_hour}) reached."
    if uow is None:
        with tenant_uow(firing.tenant_id) as own:
            delivery_id = record(own, firing, "rate_limited", status_code=429, reason=reason)
            own.commit()
    else:
        delivery_id = record(uow, firing, "rate_limited", status_code=429, reason=reason)
        uow.commit()
    return Admitted(firing, now, FireResult("rate_limited", delivery_id, error=error, headers=error.headers))


def _admit_and_start(uow: UnitOfWork, firing: Firing, now: dt.datetime, starter: ports.TransactionalRunStarter,
                     prepared: Any, headers: dict[str, str], spent: BucketState | None) -> Admitted:
    """Record the delivery ``started`` and create its run in ``uow``, then commit and ring the doorbell."""
    delivery_id = new_id()
    run_id = engine_adapters.run_id_of(delivery_id)
    received_at = _accept(uow, firing, "started", now, delivery_id=delivery_id, bucket=spent, run_id=run_id,
                          outbox=False)
    if received_at is None:  # a concurrent copy claimed the key: undo this transaction
        uow.rollback()
        return Admitted(firing, now, lost_claim=True)
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
            try:  # the delivery is accepted whatever happens here: a failed release is retried by the tick
                release(firing.tenant_id, now)
            except Exception:
                logger.exception("releasing waiting runs failed", extra={"tenant_id": firing.tenant_id})
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
