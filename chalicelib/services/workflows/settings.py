"""The engine's tunables, read once from the environment (``ENGINE_*``) and overridable in tests.

Defaults suit AWS: doorbells re-sent after two minutes of silence, a lease a
little longer than a step may run, the platform's retry and timeout policies.
Tests and benchmarks shorten them (``configure(...)``, or the environment for
worker subprocesses) instead of sleeping long.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chalicelib.engine.errors import ConfigInvalid
from chalicelib.engine.retry import PLATFORM_RETRY, PLATFORM_TIMEOUTS, RetryPolicy, StepTimeouts
from chalicelib.services.overridable import Overridable


class _EngineEnv(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENGINE_", case_sensitive=False, extra="ignore")

    redispatch_after_seconds: float = Field(120.0, gt=0)
    lease_grace_seconds: float = Field(30.0, ge=0)
    max_reclaims: int = Field(3, ge=0, le=20)
    retry_max_attempts: int | None = None
    retry_base_delay: float | None = None
    retry_max_delay: float | None = None
    step_timeout_seconds: float | None = None
    run_timeout_seconds: float | None = None
    sweep_batch: int = Field(500, ge=1, le=10_000)
    graph_cache_size: int = Field(256, ge=1)
    inline_steps: int = Field(50, ge=0, le=10_000)
    inline_seconds: float = Field(20.0, ge=0)
    worker_stale_seconds: float = Field(15.0, gt=0)
    complete_retry_seconds: float = Field(20.0, ge=0)
    run_retention_days: int = Field(30, ge=1, le=3650)
    retention_batch: int = Field(1000, ge=1, le=100_000)


@dataclass(frozen=True)
class EngineSettings:
    """How the runner and the sweeper behave; validated on creation."""

    # A queued row whose doorbell is older than this (and due) gets another doorbell.
    redispatch_after_seconds: float = 120.0
    # A claim's lease is the step's timeout plus this grace; past it the sweeper reclaims the step.
    lease_grace_seconds: float = 30.0
    # How often a step may be reclaimed after its worker vanished before it counts as timed out.
    max_reclaims: int = 3
    retry: RetryPolicy = PLATFORM_RETRY
    timeouts: StepTimeouts = PLATFORM_TIMEOUTS
    sweep_batch: int = 500
    graph_cache_size: int = 256
    # A worker that completes a step runs the next successor due now itself, up to this many steps
    # and seconds per invocation (0 = every step through the queue).
    inline_steps: int = 50
    inline_seconds: float = 20.0
    # A registered runtime worker silent this long is dead: its claimed steps are taken over at once.
    worker_stale_seconds: float = 15.0
    # A step that ran while the database went away keeps retrying to record its result this long.
    complete_retry_seconds: float = 20.0
    # Finished runs (with their step attempts, events and logs) are deleted this many days after they end.
    run_retention_days: int = 30
    # At most this many runs are deleted per housekeeping tick (the rest on the next ones).
    retention_batch: int = 1000

    def __post_init__(self) -> None:
        problems = []
        if self.redispatch_after_seconds <= 0:
            problems.append({"path": "/redispatch_after_seconds", "issue": "must be positive"})
        if self.lease_grace_seconds < 0:
            problems.append({"path": "/lease_grace_seconds", "issue": "must not be negative"})
        if not 0 <= self.max_reclaims <= 20:
            problems.append({"path": "/max_reclaims", "issue": "must be from 0 to 20"})
        if not 1 <= self.run_retention_days <= 3650:
            problems.append({"path": "/run_retention_days", "issue": "must be from 1 to 3650"})
        if not 1 <= self.retention_batch <= 100_000:
            problems.append({"path": "/retention_batch", "issue": "must be from 1 to 100000"})
        if problems:
            raise ConfigInvalid("Invalid engine settings.", details=problems)

    @classmethod
    def from_env(cls) -> EngineSettings:
        env = _EngineEnv()
        retry = {k: v for k, v in {"max_attempts": env.retry_max_attempts, "base_delay": env.retry_base_delay,
                                   "max_delay": env.retry_max_delay}.items() if v is not None}
        timeouts = {k: v for k, v in {"step_seconds": env.step_timeout_seconds,
                                      "run_seconds": env.run_timeout_seconds}.items() if v is not None}
        return cls(
            redispatch_after_seconds=env.redispatch_after_seconds,
            lease_grace_seconds=env.lease_grace_seconds,
            max_reclaims=env.max_reclaims,
            retry=RetryPolicy.from_config(retry),
            timeouts=StepTimeouts.from_config(timeouts),
            sweep_batch=env.sweep_batch,
            graph_cache_size=env.graph_cache_size,
            inline_steps=env.inline_steps,
            inline_seconds=env.inline_seconds,
            worker_stale_seconds=env.worker_stale_seconds,
            complete_retry_seconds=env.complete_retry_seconds,
            run_retention_days=env.run_retention_days,
            retention_batch=env.retention_batch,
        )


_SETTINGS: Overridable[EngineSettings] = Overridable("engine", EngineSettings.from_env)


def engine_settings() -> EngineSettings:
    return _SETTINGS.get()


def configure(**changes: Any) -> EngineSettings:
    """Replace some settings (tests, benchmarks); ``retry``/``timeouts`` may be given as mappings."""
    if isinstance(changes.get("retry"), dict):
        changes["retry"] = RetryPolicy.from_config(changes["retry"])
    if isinstance(changes.get("timeouts"), dict):
        changes["timeouts"] = StepTimeouts.from_config(changes["timeouts"])
    return _SETTINGS.override(**changes)


def reset() -> None:
    """Forget overrides; the next use reads the environment again."""
    _SETTINGS.reset()
