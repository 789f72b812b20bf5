"""Per-tenant admission (``chalicelib/services/triggers/admission.py``) without a database: the webhook token
bucket, the hourly run quota, the concurrency limit and the order of waiting runs, and the gate of runs started
directly. The same rules run against PostgreSQL (with real locks) in tests/integration/triggers."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib import bootstrap
from chalicelib.services.triggers import admission, settings
from chalicelib.triggers.backpressure import AdmissionDecision
from chalicelib.triggers.errors import ConcurrencyLimitReached, RunQuotaExceeded
from tests.fakes.unit_of_work import FakeDatabase, PendingRun

TENANT, OTHER = "00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000b2"
T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


class FakeRunLedger:
    """The engine's count of running runs, per tenant (the ``RunLedger`` port)."""

    def __init__(self) -> None:
        self.by_tenant: dict[str, int] = {}

    def running(self, uow, tenant_id: str) -> int:
        return self.by_tenant.get(tenant_id, 0)


@pytest.fixture
def ledger() -> FakeRunLedger:
    return FakeRunLedger()


@pytest.fixture(autouse=True)
def limits(database: FakeDatabase, ledger: FakeRunLedger):
    """Small limits, the fake database's clock (at ``T0``) and the fake ledger, for one test."""
    database.clock.now = T0
    policy = settings.configure(backpressure={
        "max_concurrent_runs": 2, "max_runs_per_hour": 3,
        "webhook_rate_limit": {"capacity": 2, "refill_per_second": 1.0}}).backpressure
    with bootstrap.replaced(clock=database.clock, run_ledger=ledger):
        yield policy
    settings.reset()


def _tenant_uow(database: FakeDatabase, tenant_id: str = TENANT):
    return database.units_of_work().tenant(tenant_id)


def _admit_counts(database: FakeDatabase, *minutes_after_t0: int, tenant_id: str = TENANT) -> None:
    with _tenant_uow(database, tenant_id) as uow:
        for minutes in minutes_after_t0:
            admission.count_admitted(uow, tenant_id, T0 + dt.timedelta(minutes=minutes, seconds=17))
        uow.commit()


def _decision(database: FakeDatabase, policy, now: dt.datetime):
    with _tenant_uow(database) as uow:
        counts = admission.read_counts(uow, TENANT, now)
    return counts, admission.decide(counts, policy)


def _take(uow, bucket, now: dt.datetime, tenant_id: str = TENANT):
    """One delivery's spend: lock the tenant's bucket, then take a token from it."""
    return admission.take_token(uow, tenant_id, bucket, admission.lock_tenant(uow, tenant_id, bucket, now), now)


def test_the_token_bucket_spends_refills_and_refuses_with_retry_after(database, limits):
    # GIVEN a tenant's full bucket of two tokens
    bucket = limits.webhook_rate_limit
    # WHEN three deliveries arrive at the same instant THEN two pass and the third waits a second
    with _tenant_uow(database) as uow:
        taken = [_take(uow, bucket, T0) for _ in range(3)]
        uow.commit()
    assert [t.allowed for t in taken] == [True, True, False]
    assert taken[2].retry_after_seconds == 1
    # AND a second later one token is back
    later = T0 + dt.timedelta(seconds=1)
    with _tenant_uow(database) as uow:
        assert [_take(uow, bucket, later).allowed for _ in range(2)] == [True, False]
    # AND another tenant's bucket is its own
    with _tenant_uow(database, OTHER) as uow:
        assert admission.lock_tenant(uow, OTHER, bucket, later).tokens == 2.0


def test_tokens_spent_in_a_transaction_that_does_not_commit_are_not_spent(database, limits):
    bucket = limits.webhook_rate_limit
    with _tenant_uow(database) as uow:
        assert [_take(uow, bucket, T0).allowed for _ in range(2)] == [True, True]
        # (no commit: the delivery's transaction failed)
    with _tenant_uow(database) as uow:
        assert admission.lock_tenant(uow, TENANT, bucket, T0).tokens == 2.0


def test_the_hourly_quota_refuses_until_the_oldest_admitted_minute_leaves_the_window(database, limits):
    # GIVEN three runs admitted at 10:00, 10:10 and 10:20 (the quota is three an hour)
    _admit_counts(database, 0, 10, 20)
    # WHEN a fourth comes at 10:30 THEN it is refused until 10:00's minute is an hour old
    counts, decision = _decision(database, limits, T0 + dt.timedelta(minutes=30))
    assert counts.last_hour == 3
    assert decision.decision is AdmissionDecision.REJECT and decision.reason == "hourly_quota"
    assert decision.retry_after_seconds == 30 * 60
    # AND at 11:00:30 the 10:00 minute has left the window: it starts
    _, later = _decision(database, limits, T0 + dt.timedelta(minutes=60, seconds=30))
    assert later.decision is AdmissionDecision.START
    # AND another tenant's admissions never count against this one
    _admit_counts(database, 25, 26, 27, tenant_id=OTHER)
    assert _decision(database, limits, T0 + dt.timedelta(minutes=61))[1].decision is AdmissionDecision.START


def test_the_concurrency_limit_counts_running_and_starting_runs_and_queues_beyond(database, limits, ledger):
    # GIVEN one run running and one being started (the limit is two)
    ledger.by_tenant[TENANT] = 1
    database.records.pending_runs.append(PendingRun(TENANT, waiting=False))
    # WHEN one more arrives THEN it waits for a slot
    counts, decision = _decision(database, limits, T0)
    assert (counts.running, counts.starting, admission.free_slots(counts, limits)) == (1, 1, 0)
    assert decision.decision is AdmissionDecision.QUEUE and decision.reason == "concurrency_limit"
    # WHEN the start finishes (no longer pending) THEN a slot is free and a new run starts
    database.records.pending_runs.clear()
    assert _decision(database, limits, T0)[1].decision is AdmissionDecision.START


def test_a_new_run_queues_behind_runs_already_waiting_even_with_a_free_slot(database, limits):
    # GIVEN a free slot but a run of the tenant still waiting
    database.records.pending_runs.append(PendingRun(TENANT, waiting=True))
    counts, decision = _decision(database, limits, T0)
    # THEN the new run keeps the order: it waits too
    assert admission.free_slots(counts, limits) == 2
    assert decision.decision is AdmissionDecision.QUEUE and decision.reason == "runs_waiting"


def test_a_direct_start_over_the_quota_is_refused_with_retry_after_and_the_quota_headers(database, limits):
    _admit_counts(database, 0, 1, 2)
    database.clock.now = T0 + dt.timedelta(minutes=5)
    with _tenant_uow(database) as uow, pytest.raises(RunQuotaExceeded) as refused:
        admission.DirectRunAdmission().admit(uow, TENANT)
    assert refused.value.retry_after == 55 * 60
    assert refused.value.headers["RateLimit"] == f'"runs";r=0;t={55 * 60}'


def test_a_direct_start_at_the_concurrency_limit_is_refused_not_queued(database, limits, ledger):
    ledger.by_tenant[TENANT] = 2
    with _tenant_uow(database) as uow, pytest.raises(ConcurrencyLimitReached) as refused:
        admission.DirectRunAdmission().admit(uow, TENANT)
    assert refused.value.retry_after == admission.CONCURRENCY_RETRY_AFTER_SECONDS
    assert refused.value.headers["RateLimit-Policy"] == '"runs";q=3;w=3600'
    # AND below the limit it passes
    ledger.by_tenant[TENANT] = 1
    with _tenant_uow(database) as uow:
        admission.DirectRunAdmission().admit(uow, TENANT)


def test_the_tick_sees_each_tenant_with_pending_runs_once(database):
    database.records.pending_runs.extend([PendingRun(TENANT, True), PendingRun(TENANT, False),
                                          PendingRun(OTHER, True)])
    with database.units_of_work().system() as uow:
        assert admission.pending_tenants(uow) == sorted([TENANT, OTHER])
