"""Trigger tunables, read once and replaceable in tests and benchmarks; the clock.

The clock is the container's (tests build it with a fixed one) because every time-dependent decision here — the
signature tolerance window, the token bucket, the hourly quota, cron slots,
the overlap of a rotated secret — must be testable without sleeping.

Defaults (also in docs/architecture.md, "Triggers"):

==================================  ============  ===============================================
``TRIGGERS_MAX_CONCURRENT_RUNS``    25            running runs per tenant; more wait (``queued``)
``TRIGGERS_MAX_RUNS_PER_HOUR``      10 000        runs admitted per tenant per rolling hour (429)
``TRIGGERS_MAX_BODY_BYTES``         1 MiB         webhook body limit (413, checked first)
``TRIGGERS_BURST``                  100           token bucket capacity per tenant (webhooks)
``TRIGGERS_RATE_PER_SECOND``        10            token bucket refill per tenant (webhooks)
``TRIGGERS_TOLERANCE_SECONDS``      300           signed timestamp window, both ways
``TRIGGERS_ROTATION_OVERLAP``       86 400 s      how long a rotated-out secret still verifies
``TRIGGERS_RETENTION_DAYS``         7             deliveries kept (the dedupe window, ≥ 24 h)
``TRIGGERS_RECOVER_AFTER_SECONDS``  60            an accepted run not started by then is retried
==================================  ============  ===============================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chalicelib.container import current
from chalicelib.services.overridable import Overridable
from chalicelib.triggers.backpressure import BackpressurePolicy
from chalicelib.triggers.errors import InvalidTriggerPolicy
from chalicelib.triggers.ratelimit import RateLimitPolicy
from chalicelib.triggers.signatures import DEFAULT_TOLERANCE_SECONDS

DAY = 86_400


class _TriggerEnv(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIGGERS_", case_sensitive=False, extra="ignore")

    max_concurrent_runs: int = Field(25, ge=1, le=10_000)
    max_runs_per_hour: int = Field(10_000, ge=1, le=10_000_000)
    max_body_bytes: int = Field(1024 * 1024, ge=1024, le=6 * 1024 * 1024)
    burst: int = Field(100, ge=1, le=1_000_000)
    rate_per_second: float = Field(10.0, gt=0, le=1_000_000)
    tolerance_seconds: int = Field(DEFAULT_TOLERANCE_SECONDS, ge=1, le=3600)
    rotation_overlap: int = Field(DAY, ge=0, le=30 * DAY)
    retention_days: int = Field(7, ge=1, le=365)
    recover_after_seconds: float = Field(60.0, gt=0, le=3600)


@dataclass(frozen=True)
class TriggerSettings:
    """How triggers admit, verify and keep deliveries; validated on creation."""

    backpressure: BackpressurePolicy = field(default_factory=BackpressurePolicy)
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS
    rotation_overlap_seconds: int = DAY
    max_rotation_overlap_seconds: int = 30 * DAY
    retention_days: int = 7
    recover_after_seconds: float = 60.0
    release_batch: int = 100

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.tolerance_seconds <= 3600:
            problems.append({"path": "/tolerance_seconds", "issue": "from 1 to 3600"})
        if not 0 <= self.rotation_overlap_seconds <= self.max_rotation_overlap_seconds:
            problems.append({"path": "/rotation_overlap_seconds", "issue": "from 0 to the maximum overlap"})
        if not 1 <= self.retention_days <= 365:
            # Dedupe lasts as long as deliveries are kept: never less than a day.
            problems.append({"path": "/retention_days", "issue": "from 1 to 365"})
        if self.recover_after_seconds <= 0:
            problems.append({"path": "/recover_after_seconds", "issue": "must be positive"})
        if not 1 <= self.release_batch <= 10_000:
            problems.append({"path": "/release_batch", "issue": "from 1 to 10000"})
        if problems:
            raise InvalidTriggerPolicy("Invalid trigger settings.", details=problems)

    @property
    def rate_limit(self) -> RateLimitPolicy:
        return self.backpressure.webhook_rate_limit

    @classmethod
    def from_env(cls) -> TriggerSettings:
        env = _TriggerEnv()
        return cls(
            backpressure=BackpressurePolicy(
                max_concurrent_runs=env.max_concurrent_runs,
                max_runs_per_hour=env.max_runs_per_hour,
                max_webhook_body_bytes=env.max_body_bytes,
                webhook_rate_limit=RateLimitPolicy(capacity=env.burst, refill_per_second=env.rate_per_second,
                                                   name="webhooks"),
            ),
            tolerance_seconds=env.tolerance_seconds,
            rotation_overlap_seconds=env.rotation_overlap,
            retention_days=env.retention_days,
            recover_after_seconds=env.recover_after_seconds,
        )


_SETTINGS: Overridable[TriggerSettings] = Overridable("trigger", TriggerSettings.from_env)


def trigger_settings() -> TriggerSettings:
    return _SETTINGS.get()


def configure(**changes: Any) -> TriggerSettings:
    """Replace some settings (tests, benchmarks). ``backpressure`` may be given as a mapping of its fields."""
    if isinstance(changes.get("backpressure"), dict):
        limits = dict(changes["backpressure"])
        if isinstance(limits.get("webhook_rate_limit"), dict):
            bucket = {"name": "webhooks", **limits["webhook_rate_limit"]}
            limits["webhook_rate_limit"] = RateLimitPolicy(**bucket)
        changes["backpressure"] = replace(trigger_settings().backpressure, **limits)
    return _SETTINGS.override(**changes)


def reset() -> None:
    """Forget overrides; the next use reads the environment again."""
    _SETTINGS.reset()


def now() -> dt.datetime:
    """The current instant (timezone-aware UTC) as the trigger services see it: the container's clock."""
    return current().clock()
