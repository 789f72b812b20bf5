"""Token-bucket rate limiting as pure arithmetic over a stored state value.

A bucket holds up to ``capacity`` tokens and gains ``refill_per_second``
tokens per second; a request costs one token (or ``cost``). Bursts up to the
capacity pass at once, the sustained rate is the refill rate. The state is
two numbers, so the database adapter can keep one row per tenant and run
:meth:`RateLimitPolicy.take` under a row lock (``SELECT … FOR UPDATE``), or as
a single ``UPDATE … RETURNING`` computing the same formula.

No clock is read here: ``now`` is always passed in. A clock that steps back
never refills a bucket and never moves ``updated_at`` backwards.

Response headers follow the IETF draft "RateLimit header fields for HTTP"
(draft-ietf-httpapi-ratelimit-headers-08 and later): ``RateLimit-Policy:
"webhooks";q=60;w=60`` and ``RateLimit: "webhooks";r=12;t=48``, where for a
token bucket ``q`` is the capacity, ``w`` the seconds a full refill takes,
``r`` the whole tokens left and ``t`` the seconds until the bucket is full.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from chalicelib.errors import RateLimited
from chalicelib.triggers.errors import InvalidTriggerPolicy

# Absorbs float rounding so that a token due "exactly now" is granted.
_EPSILON = 1e-9
_POLICY_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class BucketState:
    """Tokens left at ``updated_at`` (an aware datetime)."""

    tokens: float
    updated_at: datetime


class TakeResult(NamedTuple):
    """Unpacks as ``allowed, state, retry_after_seconds``."""

    allowed: bool
    state: BucketState
    retry_after_seconds: int


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone aware")


@dataclass(frozen=True)
class RateLimitPolicy:
    """A token bucket: ``capacity`` burst, ``refill_per_second`` sustained rate.

    ``name`` is the policy identifier shown in the RateLimit headers.
    """

    capacity: int
    refill_per_second: float
    name: str = "default"

    def __post_init__(self) -> None:
        problems = []
        if isinstance(self.capacity, bool) or not isinstance(self.capacity, int) or not 1 <= self.capacity <= 1_000_000:
            problems.append({"path": "/capacity", "issue": "an integer from 1 to 1000000"})
        rate = self.refill_per_second
        if (
            isinstance(rate, bool)
            or not isinstance(rate, (int, float))
            or not math.isfinite(rate)
            or not (0.0001 <= rate <= 1_000_000)
        ):
            problems.append({"path": "/refill_per_second", "issue": "a number from 0.0001 to 1000000"})
        if not isinstance(self.name, str) or not _POLICY_NAME.fullmatch(self.name):
            problems.append({"path": "/name", "issue": "lower-case letters, digits, '_', '.', '-'"})
        if problems:
            raise InvalidTriggerPolicy("Invalid rate-limit policy.", details=problems)

    @property
    def window_seconds(self) -> int:
        """Seconds an empty bucket takes to fill completely."""
        return max(1, math.ceil(self.capacity / self.refill_per_second - _EPSILON))

    def full(self, now: datetime) -> BucketState:
        """A full bucket: the state of a tenant never seen before."""
        _require_aware(now, "now")
        return BucketState(float(self.capacity), now)

    def refilled(self, state: BucketState | None, now: datetime) -> BucketState:
        """``state`` topped up with what accrued until ``now`` (never past capacity)."""
        _require_aware(now, "now")
        if state is None:
            return self.full(now)
        elapsed = max(0.0, (now - state.updated_at).total_seconds())
        tokens = min(float(self.capacity), max(0.0, state.tokens) + elapsed * self.refill_per_second)
        return BucketState(tokens, max(now, state.updated_at))

    def take(self, state: BucketState | None, now: datetime, cost: float = 1) -> TakeResult:
        """Try to spend ``cost`` tokens at ``now``.

        Allowed: the returned state has the tokens deducted, retry-after is 0.
        Refused: the returned state is only refilled (storing it is harmless),
        and ``retry_after_seconds`` (at least 1) is when ``cost`` tokens will
        be there — the value for the ``Retry-After`` header.
        """
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not 0 < cost <= self.capacity:
            raise ValueError("cost must be positive and at most the bucket capacity")
        current = self.refilled(state, now)
        if current.tokens + _EPSILON >= cost:
            return TakeResult(True, BucketState(max(0.0, current.tokens - cost), current.updated_at), 0)
        wait = (cost - current.tokens) / self.refill_per_second
        return TakeResult(False, current, max(1, math.ceil(wait - _EPSILON)))

    def seconds_until_full(self, state: BucketState | None, now: datetime) -> int:
        """Whole seconds until the bucket is back at capacity (0 when full)."""
        current = self.refilled(state, now)
        missing = self.capacity - current.tokens
        return max(0, math.ceil(missing / self.refill_per_second - _EPSILON))

    def policy_header(self) -> str:
        """The ``RateLimit-Policy`` header value."""
        return f'"{self.name}";q={self.capacity};w={self.window_seconds}'

    def status_header(self, state: BucketState | None, now: datetime) -> str:
        """The ``RateLimit`` header value for ``state`` as of ``now``."""
        current = self.refilled(state, now)
        remaining = max(0, math.floor(current.tokens + _EPSILON))
        return f'"{self.name}";r={remaining};t={self.seconds_until_full(current, now)}'

    def headers(self, state: BucketState | None, now: datetime) -> dict[str, str]:
        """Both RateLimit headers, for every response of a limited route."""
        return {"RateLimit-Policy": self.policy_header(), "RateLimit": self.status_header(state, now)}

    def rejection(self, result: TakeResult, now: datetime) -> RateLimited:
        """The 429 error for a refused take, carrying Retry-After and RateLimit headers."""
        if result.allowed:
            raise ValueError("the take was allowed; there is nothing to reject")
        return RateLimited(retry_after=result.retry_after_seconds, headers=self.headers(result.state, now))
