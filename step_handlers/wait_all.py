"""Wait for all (join): runs once every incoming branch has arrived or been skipped.

The runner hands it the aggregate built by
``chalicelib.engine.planner.aggregate_wait_all`` —
``{"branches": {"<from node name>": payload, …}, "skipped": ["<name>", …]}`` —
or, when it closes a for_each, ``{"items": [result per item, in item order]}``.
It returns that payload, or the optional ``output`` template rendered over it.
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.config_schema import require_config, templated
from chalicelib.engine.context import StepContext
from chalicelib.engine.payloads import as_object

TITLE = "Wait for all"
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
