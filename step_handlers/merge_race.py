"""Merge (race): the first branch to arrive continues; later arrivals are dropped.

The runner hands it the winning branch's payload unchanged (the decision is
``chalicelib.engine.planner.join_decision``). It returns that payload, or the
optional ``output`` template rendered over it.
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.context import StepContext
from chalicelib.engine.payloads import PASS_THROUGH_SCHEMA, pass_through

TITLE = "Merge (first wins)"
CONFIG_SCHEMA: dict[str, Any] = PASS_THROUGH_SCHEMA
PORTS = ["out"]
NEEDS_CREDENTIALS = False
# No side effect: the runner may execute it inside its run's transaction (see services/workflows/runner.py).
PURE = True
RAW_CONFIG_KEYS: frozenset[str] = frozenset()


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    return pass_through(msg, config)
