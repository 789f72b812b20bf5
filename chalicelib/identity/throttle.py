"""Login throttling: pure decisions over recorded failure times.

The caller records each failed sign-in twice, once under the account key (the
normalised email as typed, whether or not such an account exists, so the
throttle does not reveal which emails are registered) and once under the
client address, and asks ``decide_login`` *before* checking the password.
Attempts refused by the throttle are not checked and not recorded.

Each scope allows ``max_failures`` failures within ``window_seconds``. From
then on every further failure doubles the lock-out, measured from the latest
failure: with the defaults, 5 failures lock the account for 1 minute, a 6th
for 2, a 7th for 4, up to 15 minutes. Failures older than the window no longer
count, so the lock-out can never outlive the window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.identity.errors import LoginThrottled


@dataclass(frozen=True)
class FailureLimit:
    """How many failures one scope (an account, a client address) may have before lock-out."""

    max_failures: int
    window_seconds: int = 15 * 60
    base_lockout_seconds: int = 60
    max_lockout_seconds: int = 15 * 60

    def __post_init__(self) -> None:
        for name in ("max_failures", "window_seconds", "base_lockout_seconds", "max_lockout_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"FailureLimit.{name} must be a positive integer")
        if self.base_lockout_seconds > self.max_lockout_seconds:
            raise ValueError("FailureLimit.base_lockout_seconds must not exceed max_lockout_seconds")
        if self.max_lockout_seconds > self.window_seconds:
            # A lock-out longer than the window would be lifted early once its failures age out.
            raise ValueError("FailureLimit.max_lockout_seconds must not exceed window_seconds")

    def lockout_seconds(self, failures_in_window: int) -> int:
        """Lock-out after ``failures_in_window`` failures: 0 below the limit, then doubling to the cap."""
        excess = failures_in_window - self.max_failures
        if excess < 0:
            return 0
        # Bounded exponent: beyond 2**32 the cap has long been reached.
        return min(self.base_lockout_seconds * 2 ** min(excess, 32), self.max_lockout_seconds)


@dataclass(frozen=True)
class ThrottlePolicy:
    """Limits per account and per client address (defaults: 5 and 20 failures per 15 minutes)."""

    per_account: FailureLimit = field(default_factory=lambda: FailureLimit(max_failures=5))
    per_address: FailureLimit = field(default_factory=lambda: FailureLimit(max_failures=20))

    def __post_init__(self) -> None:
        if not isinstance(self.per_account, FailureLimit) or not isinstance(self.per_address, FailureLimit):
            raise TypeError("ThrottlePolicy limits must be FailureLimit values")

    @property
    def lookback_seconds(self) -> int:
        """How far back the caller must load failures; older ones never matter."""
        return max(self.per_account.window_seconds, self.per_address.window_seconds)


@dataclass(frozen=True)
class ThrottleDecision:
    """Whether a sign-in attempt may proceed, and if not, for how long it is refused."""

    allowed: bool
    retry_after: int = 0
    scope: str | None = None  # "account" or "address" when refused

    def raise_if_refused(self) -> None:
        """Raise ``LoginThrottled`` (429 with ``Retry-After``) when the attempt is refused."""
        if not self.allowed:
            raise LoginThrottled(retry_after=self.retry_after)


ALLOWED = ThrottleDecision(allowed=True)


def decide_login(
    policy: ThrottlePolicy,
    *,
    account_failures: Iterable[datetime],
    address_failures: Iterable[datetime],
    now: datetime,
) -> ThrottleDecision:
    """Decide whether a sign-in attempt may proceed at ``now``.

    When both scopes are locked, the longer wait wins. All datetimes must be
    timezone-aware; failures in the future (clock skew between writers) count
    as happening now.
    """
    account_wait = _wait_seconds(policy.per_account, account_failures, now)
    address_wait = _wait_seconds(policy.per_address, address_failures, now)
    if account_wait == 0 and address_wait == 0:
        return ALLOWED
    if account_wait >= address_wait:
        return ThrottleDecision(allowed=False, retry_after=account_wait, scope="account")
    return ThrottleDecision(allowed=False, retry_after=address_wait, scope="address")


def _wait_seconds(limit: FailureLimit, failures: Iterable[datetime], now: datetime) -> int:
    now_ts = _epoch(now)
    window_start = now_ts - limit.window_seconds
    recent = [min(_epoch(at), now_ts) for at in failures]
    recent = [ts for ts in recent if ts > window_start]
    lockout = limit.lockout_seconds(len(recent))
    if lockout == 0:
        return 0
    remaining = max(recent) + lockout - now_ts
    return math.ceil(remaining) if remaining > 0 else 0


def _epoch(moment: datetime) -> float:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("throttle times must be timezone-aware datetimes")
    return moment.timestamp()
