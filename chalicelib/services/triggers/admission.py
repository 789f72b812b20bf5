"""Per-tenant admission in the database: the token bucket, the hourly quota and the concurrency count.

Everything here runs inside the caller's tenant transaction, after
:func:`lock_tenant` took the tenant's bucket row ``FOR UPDATE``: admissions of
one tenant are serialised, so the counts read and the decision taken agree
(two deliveries cannot both see "one slot left"). Other tenants never wait.

- Token bucket (webhooks): ``RateLimitPolicy.take`` on the stored state.
- Hourly quota: ``run_admission_counts`` holds runs admitted per minute; the
  last 60 minutes are summed (at most 60 rows).
- Concurrency: the engine's running runs plus runs being started right now
  (``pending_runs`` not waiting). Runs already waiting go first: a new run
  queues behind them even when a slot is free, so the order is kept.

Runs started directly (``POST …/flows/{id}/runs``, a rerun) pass the same gate
through :class:`DirectRunAdmission`, the engine's ``RunAdmission`` port, in the
transaction that inserts the run: over the hourly quota they are refused as a
trigger's delivery is (429 ``run_quota_exceeded``); at the concurrency limit,
where a trigger's run would wait, the caller is refused with 429
``concurrency_limit_reached`` and retries (an API call has no delivery to
queue). Both answers carry ``Retry-After`` and the quota's RateLimit headers.

The records are read and written through the unit of work's ``trigger_admission``
repository (PostgreSQL: ``db/trigger_admission.py``), so these rules also run
against the in-memory fake (``tests/unit/services/test_admission_rules.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from chalicelib.container import current
from chalicelib.services.triggers.settings import now as clock_now
from chalicelib.services.triggers.settings import trigger_settings
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.triggers.backpressure import (
    HOUR_SECONDS,
    Admission,
    AdmissionDecision,
    BackpressurePolicy,
    admission,
)
from chalicelib.triggers.errors import ConcurrencyLimitReached, RunQuotaExceeded
from chalicelib.triggers.ratelimit import BucketState, RateLimitPolicy, TakeResult

# Retry-After of a direct start refused at the concurrency limit (runs last seconds to minutes).
CONCURRENCY_RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Counts:
    """What admission read for one tenant."""

    running: int
    starting: int
    waiting: int
    last_hour: int
    oldest_age_seconds: float | None
    original: tuple[str, str | None] | None = None  # a dedupe key's accepted delivery (id, run id), when asked


def lock_tenant(uow: UnitOfWork, tenant_id: str, policy: RateLimitPolicy, now: dt.datetime) -> BucketState:
    """Lock the tenant's bucket row (creating it full) and return its state."""
    return uow.trigger_admission.lock_bucket(tenant_id, float(policy.capacity), now)


def take_token(uow: UnitOfWork, tenant_id: str, policy: RateLimitPolicy, state: BucketState,
               now: dt.datetime) -> TakeResult:
    """Spend one token (stored either way: a refusal stores the refill, which is harmless)."""
    result = policy.take(state, now)
    uow.trigger_admission.store_bucket(tenant_id, result.state)
    return result


def read_counts(uow: UnitOfWork, tenant_id: str, now: dt.datetime, bound: int | None = None,
                dedupe: tuple[str, str, str] | None = None) -> Counts:
    """The tenant's counts; with ``bound`` (a decision's: the concurrency limit) the running, starting and
    waiting runs are counted only up to it, so nothing here grows with a backlog. A ledger that offers its
    count as SQL (``running_sql``) is read in the same statement."""
    ledger = current().run_ledger()
    pending = uow.trigger_admission.pending(tenant_id, now - dt.timedelta(seconds=HOUR_SECONDS), bound=bound,
                                            running=getattr(ledger, "running_sql", None), dedupe=dedupe)
    oldest = pending.oldest_minute
    age = (now - oldest).total_seconds() if oldest is not None else None
    running = pending.running if pending.running is not None else ledger.running(uow, tenant_id)
    return Counts(int(running), pending.starting, pending.waiting, pending.admitted, age, pending.original)


def decide(counts: Counts, policy: BackpressurePolicy) -> Admission:
    """Start, queue or reject; runs already waiting keep their place in line."""
    decision = admission(counts.running + counts.starting, counts.last_hour, policy,
                         oldest_run_age_seconds=counts.oldest_age_seconds)
    if decision.decision is AdmissionDecision.START and counts.waiting > 0:
        return Admission(AdmissionDecision.QUEUE, None, "runs_waiting")
    return decision


def count_admitted(uow: UnitOfWork, tenant_id: str, now: dt.datetime) -> None:
    """One more run admitted in this minute (the hourly quota's counter)."""
    uow.trigger_admission.count_admitted(tenant_id, now.replace(second=0, microsecond=0))


def free_slots(counts: Counts, policy: BackpressurePolicy) -> int:
    return max(0, policy.max_concurrent_runs - counts.running - counts.starting)


def pending_tenants(uow: UnitOfWork) -> list[str]:
    """Tenants with runs waiting or stalled (a system-scope query, for the tick)."""
    return uow.trigger_admission.tenants_pending()


def quota_rejection(counts: Counts, decision: Admission, policy: BackpressurePolicy,
                    headers: dict[str, str] | None = None) -> RunQuotaExceeded:
    """The 429 of the hourly quota, with Retry-After and the quota's RateLimit headers."""
    retry = decision.retry_after_seconds or 1
    return RunQuotaExceeded(retry_after=retry, headers={**(headers or {}),
                                                        **policy.quota_headers(counts.last_hour, retry)})


class DirectRunAdmission:
    """The engine's ``RunAdmission`` port: runs the API starts obey the triggers' quota and concurrency limit."""

    def admit(self, uow: UnitOfWork, tenant_id: str) -> None:
        now = clock_now()
        policy = trigger_settings().backpressure
        lock_tenant(uow, tenant_id, policy.webhook_rate_limit, now)
        counts = read_counts(uow, tenant_id, now)
        decision = decide(counts, policy)
        if decision.decision is AdmissionDecision.REJECT:
            raise quota_rejection(counts, decision, policy)
        if decision.decision is AdmissionDecision.QUEUE:
            retry = CONCURRENCY_RETRY_AFTER_SECONDS
            raise ConcurrencyLimitReached(
                f"The tenant may run {policy.max_concurrent_runs} runs at once; retry when one finishes.",
                retry_after=retry, headers=policy.quota_headers(counts.last_hour, retry))
        count_admitted(uow, tenant_id, now)
