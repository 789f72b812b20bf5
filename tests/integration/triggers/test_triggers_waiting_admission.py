"""A tenant at its concurrency limit: deliveries are admitted to wait in one statement without holding the
tenant's row across round trips (``firing._admit_waiting``), and the limits still hold exactly as on the locked
path: the token bucket (same arithmetic, 429 with Retry-After and RateLimit headers), the hourly quota, dedupe,
and the order (a free slot goes to the oldest waiting run)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from chalicelib import bootstrap
from chalicelib.db.uow import tenant_uow
from chalicelib.services.triggers import firing
from chalicelib.tables.triggers import pending_runs, trigger_rate_buckets
from chalicelib.triggers.ratelimit import BucketState, RateLimitPolicy
from tests.integration.triggers.trigger_support import GENEROUS, T0, Ledger, deliver, delivery_rows


@pytest.fixture
def at_limit(trigger_limits):
    """The tenant runs 2 runs, its limit: every delivery waits."""
    ledger = Ledger(2)
    firing._WAITING.clear()
    with bootstrap.replaced(run_ledger=ledger):
        yield ledger
    firing._WAITING.clear()


def _webhook(tenant):
    flow = tenant.make_flow()
    trigger = tenant.make_trigger(flow["id"])
    return trigger, trigger["webhook"]["new_secret"]


def _waiting_rows(tenant_id: str) -> int:
    with tenant_uow(tenant_id) as uow:
        return int(uow.execute(select(func.count()).select_from(pending_runs).where(pending_runs.c.waiting)).scalar())


def test_the_bucket_refuses_on_the_waiting_path_as_on_the_locked_one(acme, clock, doorbells, trigger_limits,
                                                                      at_limit, monkeypatch):
    # GIVEN a bucket of 3 refilling one per second, and a tenant at its concurrency limit
    trigger_limits.configure(backpressure={**GENEROUS, "max_concurrent_runs": 2,
                                           "webhook_rate_limit": {"capacity": 3, "refill_per_second": 1}})
    trigger, secret = _webhook(acme)
    waited: list[bool] = []
    real = firing._admit_waiting
    monkeypatch.setattr(firing, "_admit_waiting", lambda *a: waited.append(True) or real(*a))
    # WHEN four deliveries arrive at once
    replies = [deliver(acme.api, trigger, {"n": i}, secret) for i in range(4)]
    # THEN three wait (all but the first through the waiting path), the fourth is refused and recorded
    assert [r.status for r in replies] == [202, 202, 202, 429]
    assert [r.body["status"] for r in replies[:3]] == ["queued"] * 3 and len(waited) == 3
    refused = replies[-1]
    assert refused.error_code == "rate_limited" and refused.headers["Retry-After"] == "1"
    assert refused.headers["RateLimit-Policy"] == '"webhooks";q=3;w=3'
    assert refused.headers["RateLimit"].startswith('"webhooks";r=0;')
    assert [r.headers["RateLimit"].split(";")[1] for r in replies[:3]] == ["r=2", "r=1", "r=0"]
    outcomes = [r["outcome"] for r in delivery_rows(acme.tenant_id, trigger["id"])]
    assert sorted(outcomes) == ["queued", "queued", "queued", "rate_limited"]
    assert _waiting_rows(acme.tenant_id) == 3 and acme.run_count(trigger["flow_id"]) == 0
    # AND the stored bucket is what the policy's own arithmetic gives
    policy = RateLimitPolicy(capacity=3, refill_per_second=1, name="webhooks")
    state = None
    for _ in range(3):
        state = policy.take(state, T0).state
    with tenant_uow(acme.tenant_id) as uow:
        tokens, updated_at = uow.execute(select(trigger_rate_buckets.c.tokens, trigger_rate_buckets.c.updated_at)).one()
    assert BucketState(tokens, updated_at) == state
    # WHEN 1.5 s later two more arrive: one token refilled (and a half), one passes
    clock.set(T0 + dt.timedelta(seconds=1.5))
    later = [deliver(acme.api, trigger, {"n": 9 + i}, secret, at=clock.now).status for i in range(2)]
    assert later == [202, 429]
    with tenant_uow(acme.tenant_id) as uow:
        tokens = uow.execute(select(trigger_rate_buckets.c.tokens)).scalar()
    assert tokens == pytest.approx(0.5)


def test_the_hourly_quota_and_dedupe_hold_on_the_waiting_path(acme, clock, doorbells, trigger_limits, at_limit):
    trigger_limits.configure(backpressure={**GENEROUS, "max_concurrent_runs": 2, "max_runs_per_hour": 3})
    trigger, secret = _webhook(acme)
    replies = [deliver(acme.api, trigger, {"n": i}, secret, delivery_id=f"msg_quota_{i}") for i in range(3)]
    assert [(r.status, r.body["status"]) for r in replies] == [(202, "queued")] * 3
    # a repeat is a duplicate of the waiting delivery, not a quota refusal
    again = deliver(acme.api, trigger, {"n": 0}, secret, delivery_id="msg_quota_0")
    assert again.status == 200 and again.body["duplicate_of"] == replies[0].body["delivery_id"]
    over = deliver(acme.api, trigger, {"n": 4}, secret, delivery_id="msg_quota_4")
    assert over.status == 429 and over.error_code == "run_quota_exceeded"
    assert _waiting_rows(acme.tenant_id) == 3


def test_the_quota_rechecked_on_the_statement_refuses_what_concurrent_admissions_filled(
        acme, clock, doorbells, trigger_limits, at_limit, monkeypatch):
    # GIVEN counts read before two other admissions filled the hour (the quota is 2)
    trigger_limits.configure(backpressure={**GENEROUS, "max_concurrent_runs": 2, "max_runs_per_hour": 2})
    trigger, secret = _webhook(acme)
    assert deliver(acme.api, trigger, {"n": 0}, secret).body["status"] == "queued"  # now on the waiting path
    assert deliver(acme.api, trigger, {"n": 1}, secret).body["status"] == "queued"
    from chalicelib.services.triggers import admission

    real = admission.read_counts

    def stale(*args, **kwargs):  # the hour as it was before those two
        counts = real(*args, **kwargs)
        return admission.Counts(counts.running, counts.starting, counts.waiting, 0, None, counts.original)

    monkeypatch.setattr(admission, "read_counts", stale)
    # WHEN a third arrives THEN the statement's own count refuses it, and nothing of it is kept
    over = deliver(acme.api, trigger, {"n": 2}, secret)
    assert over.status == 429 and over.error_code == "run_quota_exceeded", over.body
    assert _waiting_rows(acme.tenant_id) == 2
    outcomes = sorted(r["outcome"] for r in delivery_rows(acme.tenant_id, trigger["id"]))
    assert outcomes == ["queued", "queued", "rate_limited"]


def test_the_quota_is_rechecked_on_the_locked_path_too(acme, clock, doorbells, trigger_limits, monkeypatch):
    # GIVEN a quota of 2 filled by two started runs, and counts read as if the hour were empty (what a start
    # sees when deliveries admitted to wait, which take no slots lock, filled it meanwhile)
    firing._WAITING.clear()
    trigger_limits.configure(backpressure={**GENEROUS, "max_runs_per_hour": 2})
    trigger, secret = _webhook(acme)
    assert [deliver(acme.api, trigger, {"n": i}, secret).body["status"] for i in range(2)] == ["started"] * 2
    from chalicelib.services.triggers import admission

    real = admission.read_counts

    def stale(*args, **kwargs):
        counts = real(*args, **kwargs)
        return admission.Counts(counts.running, counts.starting, counts.waiting, 0, None, counts.original)

    monkeypatch.setattr(admission, "read_counts", stale)
    # WHEN a third arrives THEN the hour's count returned with its admission refuses it, and no run starts
    over = deliver(acme.api, trigger, {"n": 2}, secret)
    assert over.status == 429 and over.error_code == "run_quota_exceeded", over.body
    assert acme.run_count(trigger["flow_id"]) == 2
    outcomes = sorted(r["outcome"] for r in delivery_rows(acme.tenant_id, trigger["id"]))
    assert outcomes == ["rate_limited", "started", "started"]
