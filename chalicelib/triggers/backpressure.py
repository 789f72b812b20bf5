"""Per-tenant backpressure: how much work a tenant may start, and when.

One frozen policy value holds the limits; :func:`admission` decides for a
new run from two counts the caller reads (inside the transaction that
creates the run, so the counts and the decision agree):

- over the hourly quota → **reject** with a Retry-After (the sender retries
  later; a webhook answers 429);
- at the concurrency limit → **queue** (the run is stored as queued and starts
  when a running one finishes; nothing is lost and the tenant is not refused);
- otherwise → **start**.

The quota is checked first: a queued run still counts against the hour, so
queueing must not become a way around the quota.

Defaults (documented, and chosen to fit Lambda and API Gateway):

=============================  ==========  ==========================================
``max_concurrent_runs``        25          runs executing at once per tenant
``max_runs_per_hour``          10 000      runs created per tenant per rolling hour
``max_webhook_body_bytes``     1 MiB       checked before verification; Lambda's
                                           synchronous payload limit is 6 MB
``webhook_rate_limit``         burst 100,  token bucket per tenant over webhook
                               10/s        deliveries (see ``ratelimit``)
``quota_retry_after_seconds``  60          Retry-After when the caller cannot say
                                           when the oldest run leaves the hour
=============================  ==========  ==========================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from chalicelib.errors import PayloadTooLarge
from chalicelib.triggers.errors import InvalidTriggerPolicy, RunQuotaExceeded
from chalicelib.triggers.ratelimit import RateLimitPolicy

HOUR_SECONDS = 3600
LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024


def _default_webhook_rate_limit() -> RateLimitPolicy:
    return RateLimitPolicy(capacity=100, refill_per_second=10, name="webhooks")


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@dataclass(frozen=True)
class BackpressurePolicy:
    """Per-tenant limits on starting work; validated on creation."""

    max_concurrent_runs: int = 25
    max_runs_per_hour: int = 10_000
    max_webhook_body_bytes: int = 1024 * 1024
    webhook_rate_limit: RateLimitPolicy = field(default_factory=_default_webhook_rate_limit)
    quota_retry_after_seconds: int = 60

    def __post_init__(self) -> None:
        problems = []
        if not _int_in(self.max_concurrent_runs, 1, 10_000):
            problems.append({"path": "/max_concurrent_runs", "issue": "an integer from 1 to 10000"})
        if not _int_in(self.max_runs_per_hour, 1, 10_000_000):
            problems.append({"path": "/max_runs_per_hour", "issue": "an integer from 1 to 10000000"})
        if not _int_in(self.max_webhook_body_bytes, 1024, LAMBDA_PAYLOAD_LIMIT_BYTES):
            problems.append(
                {
                    "path": "/max_webhook_body_bytes",
                    "issue": f"an integer from 1024 to {LAMBDA_PAYLOAD_LIMIT_BYTES}",
                }
            )
        if not isinstance(self.webhook_rate_limit, RateLimitPolicy):
            problems.append({"path": "/webhook_rate_limit", "issue": "a RateLimitPolicy"})
        if not _int_in(self.quota_retry_after_seconds, 1, HOUR_SECONDS):
            problems.append({"path": "/quota_retry_after_seconds", "issue": "an integer from 1 to 3600"})
        if problems:
            raise InvalidTriggerPolicy("Invalid backpressure policy.", details=problems)

    def quota_headers(self, runs_last_hour: int, retry_after: int = 0) -> dict[str, str]:
        """``RateLimit-Policy`` / ``RateLimit`` of the hourly run quota."""
        remaining = max(0, self.max_runs_per_hour - runs_last_hour)
        return {"RateLimit-Policy": f'"runs";q={self.max_runs_per_hour};w={HOUR_SECONDS}',
                "RateLimit": f'"runs";r={remaining};t={max(0, int(retry_after))}'}

    def check_webhook_body(self, size: int) -> None:
        """Raise 413 when a webhook body is over the limit (before verifying it)."""
        if size > self.max_webhook_body_bytes:
            raise PayloadTooLarge(f"Webhook body exceeds {self.max_webhook_body_bytes} bytes.")


class AdmissionDecision(StrEnum):
    START = "start"
    QUEUE = "queue"
    REJECT = "reject"


@dataclass(frozen=True)
class Admission:
    """The decision for one new run; ``retry_after_seconds`` is set on reject."""

    decision: AdmissionDecision
    retry_after_seconds: int | None = None
    reason: str | None = None  # "hourly_quota" on reject, "concurrency_limit" on queue

    def raise_if_rejected(self) -> Admission:
        """Return self unless rejected; then raise 429 ``run_quota_exceeded``."""
        if self.decision is AdmissionDecision.REJECT:
            raise RunQuotaExceeded(retry_after=self.retry_after_seconds or 1)
        return self


def admission(
    running_count: int,
    runs_last_hour: int,
    policy: BackpressurePolicy,
    *,
    oldest_run_age_seconds: float | None = None,
) -> Admission:
    """Decide whether a tenant's new run starts now, waits, or is refused.

    ``running_count``: the tenant's runs currently executing.
    ``runs_last_hour``: runs the tenant created in the last 3600 s (started or
    queued). ``oldest_run_age_seconds``: age of the oldest of those, when the
    caller has it, to give an exact Retry-After (when it leaves the window).
    """
    if running_count < 0 or runs_last_hour < 0:
        raise ValueError("counts cannot be negative")
    if runs_last_hour >= policy.max_runs_per_hour:
        if oldest_run_age_seconds is None:
            retry = policy.quota_retry_after_seconds
        else:
            retry = min(HOUR_SECONDS, max(1, math.ceil(HOUR_SECONDS - oldest_run_age_seconds)))
        return Admission(AdmissionDecision.REJECT, retry, "hourly_quota")
    if running_count >= policy.max_concurrent_runs:
        return Admission(AdmissionDecision.QUEUE, None, "concurrency_limit")
    return Admission(AdmissionDecision.START)
