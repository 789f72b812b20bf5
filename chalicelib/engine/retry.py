"""Retry and timeout policies as values, validated when they are made.

A step's policy is the node's own settings over the action's defaults over the
platform's defaults (:meth:`RetryPolicy.from_config`). The runner never sleeps:
it stores ``not_before = now + policy.delay_for(error, attempt, rng)`` on the
next attempt's row and lets the queue (or the sweeper) deliver it when due.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from chalicelib.engine.errors import ConfigInvalid
from chalicelib.errors import SteplineError

MAX_ATTEMPTS_LIMIT = 25
MAX_DELAY_LIMIT = 86_400.0  # one day between two attempts at most
MAX_STEP_SECONDS = 900.0  # a Lambda invocation lasts at most 15 minutes
MAX_RUN_SECONDS = 35 * 86_400.0  # above the longest delay step (30 days)

RETRY_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "max_attempts": {"type": "integer", "minimum": 1, "maximum": MAX_ATTEMPTS_LIMIT},
        "base_delay": {"type": "number", "minimum": 0, "maximum": MAX_DELAY_LIMIT},
        "max_delay": {"type": "number", "minimum": 0, "maximum": MAX_DELAY_LIMIT},
        "multiplier": {"type": "number", "minimum": 1, "maximum": 10},
    },
    "additionalProperties": False,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_retryable(error: BaseException) -> bool:
    """Platform errors say so themselves; anything else is presumed transient."""
    if isinstance(error, SteplineError):
        return bool(error.retryable)
    return True


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a step gets and how long to wait between them."""

    max_attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 300.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        issues = []
        if (
            not isinstance(self.max_attempts, int)
            or isinstance(self.max_attempts, bool)
            or not (1 <= self.max_attempts <= MAX_ATTEMPTS_LIMIT)
        ):
            issues.append(("max_attempts", f"must be an integer from 1 to {MAX_ATTEMPTS_LIMIT}"))
        for name in ("base_delay", "max_delay"):
            value = getattr(self, name)
            if not _is_number(value) or not (0 <= value <= MAX_DELAY_LIMIT):
                issues.append((name, f"must be a number of seconds from 0 to {MAX_DELAY_LIMIT:g}"))
        if not _is_number(self.multiplier) or not (1 <= self.multiplier <= 10):
            issues.append(("multiplier", "must be a number from 1 to 10"))
        if not issues and self.max_delay < self.base_delay:
            issues.append(("max_delay", "must not be below base_delay"))
        if issues:
            raise ConfigInvalid(
                "Invalid retry policy.", details=[{"path": f"/retry/{k}", "issue": v} for k, v in issues]
            )

    def cap(self, attempt: int) -> float:
        """The backoff ceiling after ``attempt`` failed: ``base * multiplier**(attempt-1)``, capped."""
        if attempt < 1:
            raise ValueError("attempt starts at 1")
        try:
            grown = self.base_delay * self.multiplier ** (attempt - 1)
        except OverflowError:
            return self.max_delay
        return min(self.max_delay, grown)

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full jitter: ``uniform(0, cap(attempt))`` seconds before the next attempt."""
        return (rng or random).uniform(0, self.cap(attempt))

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """Whether attempt ``attempt`` failing with ``error`` earns another attempt."""
        return attempt < self.max_attempts and is_retryable(error)

    def delay_for(self, error: BaseException, attempt: int, rng: random.Random | None = None) -> float:
        """Backoff, but no sooner than the remote's own ``retry_after`` hint, capped at max_delay."""
        delay = self.backoff(attempt, rng)
        hint = getattr(error, "retry_after", None)
        if isinstance(hint, (int, float)) and _is_number(hint) and hint > 0:
            delay = max(delay, min(float(hint), self.max_delay))
        return delay

    @classmethod
    def from_config(
        cls,
        node: Mapping[str, Any] | None = None,
        *,
        action: Mapping[str, Any] | None = None,
        platform: RetryPolicy | None = None,
    ) -> RetryPolicy:
        """Node settings over action defaults over platform defaults (each a ``retry`` mapping)."""
        base = platform or PLATFORM_RETRY
        merged: dict[str, Any] = {f.name: getattr(base, f.name) for f in fields(cls)}
        for layer, where in ((action, "action"), (node, "node")):
            merged.update(_known(layer, merged, where))
        return cls(**merged)


@dataclass(frozen=True)
class StepTimeouts:
    """How long one attempt may run, and the whole run."""

    step_seconds: float = 60.0
    # Above the longest delay step (30 days), so a workflow that waits as long as allowed is not cut off.
    run_seconds: float = 31 * 86_400.0

    def __post_init__(self) -> None:
        issues = []
        if not _is_number(self.step_seconds) or not (0 < self.step_seconds <= MAX_STEP_SECONDS):
            issues.append(("step_seconds", f"must be above 0 and at most {MAX_STEP_SECONDS:g}"))
        if not _is_number(self.run_seconds) or not (0 < self.run_seconds <= MAX_RUN_SECONDS):
            issues.append(("run_seconds", f"must be above 0 and at most {MAX_RUN_SECONDS:g}"))
        if not issues and self.run_seconds < self.step_seconds:
            issues.append(("run_seconds", "must not be below step_seconds"))
        if issues:
            raise ConfigInvalid(
                "Invalid timeouts.", details=[{"path": f"/timeouts/{k}", "issue": v} for k, v in issues]
            )

    @classmethod
    def from_config(
        cls,
        node: Mapping[str, Any] | None = None,
        *,
        action: Mapping[str, Any] | None = None,
        platform: StepTimeouts | None = None,
    ) -> StepTimeouts:
        """Node over action over platform; each mapping may hold ``step_seconds`` / ``run_seconds``."""
        base = platform or PLATFORM_TIMEOUTS
        merged: dict[str, Any] = {f.name: getattr(base, f.name) for f in fields(cls)}
        for layer, where in ((action, "action"), (node, "node")):
            merged.update(_known(layer, merged, where))
        return cls(**merged)


def _known(layer: Mapping[str, Any] | None, allowed: Mapping[str, Any], where: str) -> dict[str, Any]:
    if layer is None:
        return {}
    if not isinstance(layer, Mapping):
        raise ConfigInvalid(f"The {where} policy must be an object.")
    unknown = sorted(set(layer) - set(allowed))
    if unknown:
        raise ConfigInvalid(
            f"Unknown {where} policy settings.",
            details=[{"path": f"/{k}", "issue": "unknown setting"} for k in unknown],
        )
    return {k: v for k, v in layer.items() if v is not None}


PLATFORM_RETRY = RetryPolicy()
PLATFORM_TIMEOUTS = StepTimeouts()
