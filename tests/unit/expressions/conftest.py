"""Expression tests check results, not speed: a loaded machine must not turn an answer into a timeout.

Each test evaluates under a 10 s budget unless it sets its own limits (the timeout tests do, nested inside
this one); the product's default (500 ms) is tested where it matters, in the timeout tests' own limits.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import jsonata_expressions as jx


@pytest.fixture(autouse=True)
def _generous_time_budget() -> Iterator[None]:
    with jx.limits_in_effect(jx.JsonataLimits(timeout_ms=10_000)):
        yield
