"""Token bucket: exhaustion, refill, Retry-After and RateLimit headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import RateLimited
from chalicelib.triggers.errors import InvalidTriggerPolicy
from chalicelib.triggers.ratelimit import BucketState, RateLimitPolicy

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_burst_up_to_capacity_then_refused_with_retry_after() -> None:
    # GIVEN a bucket of 3 refilling 1 token per second, never used
    policy = RateLimitPolicy(capacity=3, refill_per_second=1)
    state = None
    # WHEN 3 requests arrive at once THEN all pass
    for _ in range(3):
        allowed, state, retry = policy.take(state, T0)
        assert allowed and retry == 0
    # AND the 4th is refused, told to retry in 1 s, with nothing deducted
    allowed, refused_state, retry = policy.take(state, T0)
    assert not allowed and retry == 1
    assert refused_state.tokens == pytest.approx(0.0)


def test_refill_after_retry_after_lets_the_next_request_through() -> None:
    policy = RateLimitPolicy(capacity=2, refill_per_second=0.5)
    state = None
    for _ in range(2):
        state = policy.take(state, T0).state
    refused = policy.take(state, T0)
    assert not refused.allowed and refused.retry_after_seconds == 2
    # One second is not enough; after Retry-After it is.
    assert not policy.take(refused.state, at(1)).allowed
    assert policy.take(refused.state, at(refused.retry_after_seconds)).allowed


def test_fractional_wait_rounds_up() -> None:
    policy = RateLimitPolicy(capacity=1, refill_per_second=0.3)
    state = policy.take(None, T0).state
    result = policy.take(state, at(1))  # 0.3 tokens; 0.7 / 0.3 = 2.33 s more
    assert not result.allowed and result.retry_after_seconds == 3


def test_refill_never_exceeds_capacity() -> None:
    policy = RateLimitPolicy(capacity=5, refill_per_second=10)
    state = BucketState(0.0, T0)
    assert policy.refilled(state, at(3600)).tokens == 5


def test_clock_stepping_back_neither_refills_nor_rewinds() -> None:
    policy = RateLimitPolicy(capacity=1, refill_per_second=1)
    state = policy.take(None, at(10)).state
    earlier = policy.take(state, at(0))
    assert not earlier.allowed and earlier.state.updated_at == at(10)


def test_cost_counts_several_tokens() -> None:
    policy = RateLimitPolicy(capacity=10, refill_per_second=1)
    result = policy.take(None, T0, cost=7)
    assert result.allowed and result.state.tokens == pytest.approx(3)
    assert policy.take(result.state, T0, cost=4).retry_after_seconds == 1
    with pytest.raises(ValueError):
        policy.take(None, T0, cost=11)
    with pytest.raises(ValueError):
        policy.take(None, T0, cost=0)


def test_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError):
        RateLimitPolicy(1, 1).take(None, datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"capacity": 0, "refill_per_second": 1}, "/capacity"),
        ({"capacity": 1.5, "refill_per_second": 1}, "/capacity"),
        ({"capacity": True, "refill_per_second": 1}, "/capacity"),
        ({"capacity": 5, "refill_per_second": 0}, "/refill_per_second"),
        ({"capacity": 5, "refill_per_second": float("inf")}, "/refill_per_second"),
        ({"capacity": 5, "refill_per_second": 1, "name": "Bad Name"}, "/name"),
    ],
)
def test_policy_is_validated_on_creation(kwargs, path) -> None:
    with pytest.raises(InvalidTriggerPolicy) as caught:
        RateLimitPolicy(**kwargs)
    assert [d["path"] for d in caught.value.details] == [path]


def test_ratelimit_headers_follow_the_ietf_draft_format() -> None:
    policy = RateLimitPolicy(capacity=10, refill_per_second=2, name="webhooks")
    assert policy.policy_header() == '"webhooks";q=10;w=5'
    state = None
    for _ in range(4):
        state = policy.take(state, T0).state
    # 6 tokens left; 4 missing at 2/s → full in 2 s
    assert policy.headers(state, T0) == {
        "RateLimit-Policy": '"webhooks";q=10;w=5',
        "RateLimit": '"webhooks";r=6;t=2',
    }
    assert policy.status_header(None, T0) == '"webhooks";r=10;t=0'


def test_rejection_is_a_429_with_retry_after_and_ratelimit_headers() -> None:
    policy = RateLimitPolicy(capacity=1, refill_per_second=0.25, name="webhooks")
    state = policy.take(None, T0).state
    refused = policy.take(state, T0)
    error = policy.rejection(refused, T0)
    assert isinstance(error, RateLimited) and error.status == 429
    assert error.retry_after == 4
    assert error.headers == {
        "Retry-After": "4",
        "RateLimit-Policy": '"webhooks";q=1;w=4',
        "RateLimit": '"webhooks";r=0;t=4',
    }
    with pytest.raises(ValueError):
        policy.rejection(policy.take(None, T0), T0)


@settings(max_examples=60, deadline=None)
@given(
    capacity=st.integers(1, 20),
    rate=st.sampled_from([0.1, 0.5, 1, 3, 10]),
    gaps=st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=80),
)
def test_never_more_than_capacity_plus_refill_over_any_run(capacity: int, rate: float, gaps) -> None:
    # Property: in [0, t] at most capacity + rate * t requests are allowed.
    policy = RateLimitPolicy(capacity=capacity, refill_per_second=rate)
    state, elapsed, allowed = None, 0.0, 0
    for gap in gaps:
        elapsed += gap
        result = policy.take(state, at(elapsed))
        state = result.state
        allowed += result.allowed
        assert allowed <= capacity + rate * elapsed + 1e-6
        assert 0 <= state.tokens <= capacity
        assert result.allowed or result.retry_after_seconds >= 1
