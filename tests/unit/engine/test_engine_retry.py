from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.engine.errors import ConfigInvalid, NonRetryableStepError, StepFailed
from chalicelib.engine.retry import PLATFORM_RETRY, RetryPolicy, StepTimeouts, is_retryable
from chalicelib.errors import NotFound, RateLimited


def test_defaults():
    assert RetryPolicy() == RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=300.0, multiplier=2.0)


def test_policies_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PLATFORM_RETRY.max_attempts = 9  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"max_attempts": 0}, "/retry/max_attempts"),
        ({"max_attempts": 26}, "/retry/max_attempts"),
        ({"max_attempts": 2.5}, "/retry/max_attempts"),
        ({"max_attempts": True}, "/retry/max_attempts"),
        ({"base_delay": -1}, "/retry/base_delay"),
        ({"max_delay": float("inf")}, "/retry/max_delay"),
        ({"multiplier": 0.5}, "/retry/multiplier"),
        ({"base_delay": 10, "max_delay": 5}, "/retry/max_delay"),
    ],
)
def test_invalid_policies_are_refused_on_creation(fields, path):
    with pytest.raises(ConfigInvalid) as err:
        RetryPolicy(**fields)
    assert err.value.details[0]["path"] == path


def test_cap_grows_exponentially_up_to_max_delay():
    policy = RetryPolicy(base_delay=1, multiplier=2, max_delay=10)
    assert [policy.cap(a) for a in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert policy.cap(10_000) == 10  # no overflow for absurd attempts
    with pytest.raises(ValueError):
        policy.cap(0)


@given(attempt=st.integers(min_value=1, max_value=60), seed=st.integers(min_value=0, max_value=2**32))
def test_backoff_is_full_jitter_within_the_cap(attempt, seed):
    policy = RetryPolicy(base_delay=0.5, max_delay=120, multiplier=3)
    delay = policy.backoff(attempt, random.Random(seed))
    assert 0 <= delay <= policy.cap(attempt)


def test_backoff_spreads_over_the_whole_range():
    rng = random.Random(7)
    delays = [RetryPolicy(base_delay=8, max_delay=8).backoff(1, rng) for _ in range(2000)]
    assert min(delays) < 0.5 and max(delays) > 7.5  # full jitter, not equal jitter
    assert 3.5 < sum(delays) / len(delays) < 4.5


def test_should_retry_respects_attempts_and_retryability():
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(StepFailed("x"), 1)
    assert policy.should_retry(StepFailed("x"), 2)
    assert not policy.should_retry(StepFailed("x"), 3)
    assert not policy.should_retry(NonRetryableStepError("x"), 1)
    assert not policy.should_retry(NotFound(), 1)
    assert policy.should_retry(RateLimited(), 1)
    assert policy.should_retry(RuntimeError("unexpected"), 1)  # unknown faults are presumed transient
    assert is_retryable(TimeoutError()) is True


def test_delay_honours_the_remote_retry_after_within_max_delay():
    policy = RetryPolicy(base_delay=1, max_delay=60)
    rng = random.Random(1)
    assert policy.delay_for(StepFailed("x", retry_after=30), 1, rng) == 30
    assert policy.delay_for(StepFailed("x", retry_after=3600), 1, rng) == 60
    assert policy.delay_for(StepFailed("x"), 1, rng) <= 1


def test_from_config_layers_node_over_action_over_platform():
    platform = RetryPolicy(max_attempts=2, base_delay=1, max_delay=100, multiplier=2)
    merged = RetryPolicy.from_config(
        {"max_attempts": 7}, action={"max_attempts": 4, "max_delay": 50}, platform=platform
    )
    assert merged == RetryPolicy(max_attempts=7, base_delay=1, max_delay=50, multiplier=2)
    assert RetryPolicy.from_config(None) == PLATFORM_RETRY
    assert RetryPolicy.from_config({"max_attempts": None}, action={"max_attempts": 4}).max_attempts == 4


def test_from_config_refuses_unknown_settings_and_bad_values():
    with pytest.raises(ConfigInvalid) as err:
        RetryPolicy.from_config({"attempts": 3})
    assert err.value.details == [{"path": "/attempts", "issue": "unknown setting"}]
    with pytest.raises(ConfigInvalid):
        RetryPolicy.from_config({"max_attempts": "3"})
    with pytest.raises(ConfigInvalid):
        RetryPolicy.from_config([1])  # type: ignore[arg-type]


def test_step_timeouts():
    assert StepTimeouts() == StepTimeouts(step_seconds=60, run_seconds=31 * 86400)
    for bad in ({"step_seconds": 0}, {"step_seconds": 901}, {"run_seconds": 30, "step_seconds": 60},
                {"run_seconds": 36 * 86400}):  # fmt: skip
        with pytest.raises(ConfigInvalid):
            StepTimeouts(**bad)
    assert StepTimeouts.from_config({"step_seconds": 5}, action={"step_seconds": 9}).step_seconds == 5
    with pytest.raises(ConfigInvalid):
        StepTimeouts.from_config({"seconds": 5})
