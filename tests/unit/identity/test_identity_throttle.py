"""Login throttling decisions: per account, per address, exponential lock-out within the window."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import RateLimited
from chalicelib.identity.errors import LoginThrottled
from chalicelib.identity.throttle import FailureLimit, ThrottleDecision, ThrottlePolicy, decide_login

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = ThrottlePolicy()


def _ago(*seconds: float) -> list[datetime]:
    return [NOW - timedelta(seconds=s) for s in seconds]


def _decide(
    account: Iterable[datetime] = (), address: Iterable[datetime] = (), now: datetime = NOW
) -> ThrottleDecision:
    return decide_login(POLICY, account_failures=account, address_failures=address, now=now)


def test_defaults_are_five_per_account_and_twenty_per_address_in_fifteen_minutes() -> None:
    assert POLICY.per_account.max_failures == 5 and POLICY.per_address.max_failures == 20
    assert POLICY.per_account.window_seconds == POLICY.per_address.window_seconds == 900
    assert POLICY.lookback_seconds == 900


def test_no_failures_is_allowed() -> None:
    assert _decide() == ThrottleDecision(allowed=True)


def test_four_failures_still_allowed() -> None:
    assert _decide(account=_ago(40, 30, 20, 10)).allowed


def test_fifth_failure_locks_the_account_for_a_minute_from_the_last_failure() -> None:
    # GIVEN five failures, the last one 10 s ago
    decision = _decide(account=_ago(50, 40, 30, 20, 10))
    # THEN the account is locked for the remaining 50 s of a 60 s lock-out
    assert decision == ThrottleDecision(allowed=False, retry_after=50, scope="account")


def test_lock_lifts_when_the_lock_out_has_passed() -> None:
    assert _decide(account=_ago(100, 90, 80, 70, 60)).allowed


@pytest.mark.parametrize(("failures", "lockout"), [(5, 60), (6, 120), (7, 240), (8, 480), (9, 900), (30, 900)])
def test_each_further_failure_doubles_the_lock_out_up_to_the_cap(failures: int, lockout: int) -> None:
    # All failures happened right now, so retry_after is the whole lock-out.
    assert _decide(account=[NOW] * failures).retry_after == lockout


def test_failures_older_than_the_window_do_not_count() -> None:
    assert _decide(account=_ago(901, 902, 903, 904, 10)).allowed
    assert not _decide(account=_ago(899, 898, 897, 896, 10)).allowed


def test_address_limit_applies_across_accounts() -> None:
    assert _decide(address=[NOW - timedelta(seconds=i) for i in range(19)]).allowed
    decision = _decide(address=[NOW - timedelta(seconds=i) for i in range(20)])
    assert decision.scope == "address" and decision.retry_after == 60


def test_longer_wait_wins_when_both_scopes_are_locked() -> None:
    decision = _decide(account=[NOW] * 7, address=[NOW] * 20)
    assert decision == ThrottleDecision(allowed=False, retry_after=240, scope="account")
    decision = _decide(account=[NOW] * 5, address=[NOW] * 22)
    assert decision == ThrottleDecision(allowed=False, retry_after=240, scope="address")


def test_failures_in_the_future_count_as_now() -> None:
    decision = _decide(account=[NOW + timedelta(hours=1)] * 5)
    assert decision.retry_after == 60


def test_retry_after_rounds_up() -> None:
    decision = _decide(account=_ago(0.5, 0.5, 0.5, 0.5, 0.5))
    assert decision.retry_after == 60


def test_refused_decision_raises_login_throttled_with_retry_after() -> None:
    decision = _decide(account=[NOW] * 6)
    with pytest.raises(LoginThrottled) as caught:
        decision.raise_if_refused()
    error = caught.value
    assert isinstance(error, RateLimited) and error.status == 429 and error.code == "login_throttled"
    assert error.retry_after == 120 and error.headers["Retry-After"] == "120"
    _decide().raise_if_refused()  # allowed: no error


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        _decide(account=[NOW.replace(tzinfo=None)])
    with pytest.raises(ValueError):
        _decide(now=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    "fields",
    [
        {"max_failures": 0},
        {"max_failures": 5, "window_seconds": 600, "max_lockout_seconds": 900},
        {"max_failures": 5, "base_lockout_seconds": 1000},
        {"max_failures": True},
    ],
)
def test_failure_limit_is_validated(fields: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        FailureLimit(**fields)


def test_policy_needs_failure_limits() -> None:
    with pytest.raises(TypeError):
        ThrottlePolicy(per_account=5)  # type: ignore[arg-type]


_offsets = st.lists(st.floats(min_value=-60, max_value=2000, allow_nan=False), max_size=40)


@settings(max_examples=200, deadline=None)
@given(account=_offsets, address=_offsets, extra=st.floats(min_value=-60, max_value=2000, allow_nan=False))
def test_properties_bounded_wait_and_more_failures_never_help(
    account: list[float], address: list[float], extra: float
) -> None:
    decision = _decide(account=_ago(*account), address=_ago(*address))
    # A refusal always waits at least 1 s and never longer than the larger cap.
    if not decision.allowed:
        assert 1 <= decision.retry_after <= 900
    else:
        assert decision.retry_after == 0
    # Adding one more failure never shortens the wait.
    worse = _decide(account=_ago(*account, extra), address=_ago(*address))
    assert worse.retry_after >= decision.retry_after
