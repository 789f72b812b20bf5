"""Fixtures for step handler tests: a controllable clock and a context factory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.engine.context import Clock, StepContext


class FixedClock(Clock):
    """A clock that only moves when the test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def fixed_clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC))


@pytest.fixture
def make_ctx(fixed_clock: FixedClock):
    """``make_ctx(**overrides)`` → a StepContext for run ``run-1``, node ``node-1``, attempt 1."""

    def build(**overrides) -> StepContext:
        fields = {
            "run_id": "run-1",
            "node_id": "node-1",
            "tenant_id": "tenant-1",
            "workspace_id": "ws-1",
            "clock": fixed_clock,
        }
        fields.update(overrides)
        return StepContext(**fields)

    return build
