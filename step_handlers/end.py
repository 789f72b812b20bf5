"""End: the run's output. Passes its input through (or an ``output`` template) and marks it."""

from __future__ import annotations

from typing import Any

from chalicelib.engine.context import StepContext
from chalicelib.engine.payloads import PASS_THROUGH_SCHEMA, pass_through

TITLE = "End"
CONFIG_SCHEMA: dict[str, Any] = PASS_THROUGH_SCHEMA
PORTS: list[str] = []
NEEDS_CREDENTIALS = False
# No side effect: the runner may execute it inside its run's transaction (see services/workflows/runner.py).
PURE = True
RAW_CONFIG_KEYS: frozenset[str] = frozenset()


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    output = pass_through(msg, config)
    ctx.mark_run_output(output)
    return output
