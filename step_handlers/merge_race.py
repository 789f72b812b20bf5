"""Merge (race): the first branch to arrive continues; later arrivals are dropped.

The runner hands it the winning branch's payload unchanged (the decision is
``chalicelib.engine.planner.join_decision``). It returns that payload, or the
optional ``output`` template rendered over it.
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.config_schema import require_config, templated
from chalicelib.engine.context import StepContext
from chalicelib.engine.payloads import as_object

TITLE = "Merge (first wins)"
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"output": templated({"type": "object"})},
    "additionalProperties": False,
}
PORTS = ["out"]
NEEDS_CREDENTIALS = False
# No side effect: the runner may execute it inside its run's transaction (see services/engine/runner.py).
PURE = True
RAW_CONFIG_KEYS: frozenset[str] = frozenset()


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    require_config(CONFIG_SCHEMA, config)
    if "output" in config:
        return dict(config["output"])
    return as_object(msg.get("payload"))
