"""Trigger test fixtures: generous limits, a controlled clock, doorbells kept in memory."""

from __future__ import annotations

import pytest

from chalicelib import bootstrap
from tests.integration.triggers.trigger_support import GENEROUS, T0, Ledger, clear_admission_state, tenant


@pytest.fixture(autouse=True)
def trigger_limits(local_stack):
    """Limits no test hits by accident (other suites' runs share the tenant); restored afterwards."""
    from chalicelib.services.triggers import settings

    settings.configure(backpressure=GENEROUS)
    clear_admission_state()
    yield settings
    settings.reset()
    clear_admission_state()


@pytest.fixture
def clock():
    """The triggers' clock, frozen at ``T0``; ``clock.set(moment)`` moves it."""
    from chalicelib import bootstrap

    class Clock:
        now = T0

        def set(self, moment):
            self.now = moment

        def __call__(self):
            return self.now

    fixed = Clock()
    with bootstrap.replaced(clock=fixed):
        yield fixed


@pytest.fixture
def doorbells(local_stack):
    """Doorbells go to an in-memory queue: runs are created, no worker executes them."""
    from chalicelib import bootstrap
    from chalicelib.adapters.queue import InMemoryStepQueue

    queue = InMemoryStepQueue()
    with bootstrap.replaced(step_queue=queue):
        yield queue


@pytest.fixture
def acme(api, tokens, seeded):
    return tenant(api, tokens, "acme")


@pytest.fixture
def beta(api, tokens, seeded):
    return tenant(api, tokens, "beta")


@pytest.fixture
def ledger():
    """The engine's count of running runs, as the test sets it (0 to begin with)."""
    fake = Ledger(0)
    with bootstrap.replaced(run_ledger=fake):
        yield fake
