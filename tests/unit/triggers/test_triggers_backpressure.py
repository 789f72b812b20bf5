"""Backpressure policy values and the start/queue/reject admission rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import PayloadTooLarge, RateLimited
from chalicelib.triggers.backpressure import (
    Admission,
    AdmissionDecision,
    BackpressurePolicy,
    admission,
)
from chalicelib.triggers.errors import InvalidTriggerPolicy, RunQuotaExceeded
from chalicelib.triggers.ratelimit import RateLimitPolicy

POLICY = BackpressurePolicy(max_concurrent_runs=3, max_runs_per_hour=10)


def test_documented_defaults() -> None:
    policy = BackpressurePolicy()
    assert policy.max_concurrent_runs == 25
    assert policy.max_runs_per_hour == 10_000
    assert policy.max_webhook_body_bytes == 1024 * 1024
    assert policy.webhook_rate_limit == RateLimitPolicy(capacity=100, refill_per_second=10, name="webhooks")
    assert policy.quota_retry_after_seconds == 60


def test_invalid_values_are_all_reported() -> None:
    with pytest.raises(InvalidTriggerPolicy) as caught:
        BackpressurePolicy(
            max_concurrent_runs=0,
            max_runs_per_hour=-1,
            max_webhook_body_bytes=10 * 1024 * 1024,
            webhook_rate_limit="fast",  # type: ignore[arg-type]
            quota_retry_after_seconds=True,
        )
    assert [d["path"] for d in caught.value.details] == [
        "/max_concurrent_runs",
        "/max_runs_per_hour",
        "/max_webhook_body_bytes",
        "/webhook_rate_limit",
        "/quota_retry_after_seconds",
    ]
    assert caught.value.status == 422


def test_below_the_limits_a_run_starts() -> None:
    assert admission(0, 0, POLICY) == Admission(AdmissionDecision.START)
    assert admission(2, 9, POLICY).decision is AdmissionDecision.START


def test_at_the_concurrency_limit_a_run_queues() -> None:
    result = admission(3, 5, POLICY)
    assert result.decision is AdmissionDecision.QUEUE and result.reason == "concurrency_limit"
    assert result.raise_if_rejected() is result


def test_over_the_hourly_quota_a_run_is_rejected_even_when_it_could_queue() -> None:
    # Quota first: queueing must not become a way around the hourly quota.
    for running in (0, 3, 50):
        result = admission(running, 10, POLICY)
        assert result.decision is AdmissionDecision.REJECT and result.reason == "hourly_quota"
        assert result.retry_after_seconds == POLICY.quota_retry_after_seconds


def test_retry_after_uses_the_oldest_run_in_the_window_when_known() -> None:
    assert admission(0, 10, POLICY, oldest_run_age_seconds=3500.2).retry_after_seconds == 100
    assert admission(0, 10, POLICY, oldest_run_age_seconds=4000).retry_after_seconds == 1
    assert admission(0, 10, POLICY, oldest_run_age_seconds=0).retry_after_seconds == 3600


def test_rejection_raises_a_429_with_retry_after() -> None:
    with pytest.raises(RunQuotaExceeded) as caught:
        admission(0, 10, POLICY, oldest_run_age_seconds=3590).raise_if_rejected()
    assert isinstance(caught.value, RateLimited) and caught.value.status == 429
    assert caught.value.code == "run_quota_exceeded" and caught.value.headers["Retry-After"] == "10"


def test_negative_counts_are_a_caller_bug() -> None:
    with pytest.raises(ValueError):
        admission(-1, 0, POLICY)


def test_webhook_body_limit_is_inclusive() -> None:
    policy = BackpressurePolicy(max_webhook_body_bytes=2048)
    policy.check_webhook_body(2048)
    with pytest.raises(PayloadTooLarge) as caught:
        policy.check_webhook_body(2049)
    assert caught.value.status == 413


@given(running=st.integers(0, 100), last_hour=st.integers(0, 100))
def test_decision_rule(running: int, last_hour: int) -> None:
    decision = admission(running, last_hour, POLICY).decision
    if last_hour >= POLICY.max_runs_per_hour:
        assert decision is AdmissionDecision.REJECT
    elif running >= POLICY.max_concurrent_runs:
        assert decision is AdmissionDecision.QUEUE
    else:
        assert decision is AdmissionDecision.START
