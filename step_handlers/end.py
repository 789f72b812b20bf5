"""End: the run's output. Passes its input through (or an ``output`` template) and marks it."""

from __future__ import annotations

from typing import Any

from chalicelib.engine.config_schema import require_config, templated
from chalicelib.engine.context import StepContext
from chalicelib.engine.payloads import as_object

TITLE = "End"
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"output": templated({"type": "object"})},
    "additionalProperties": False,
}
PORTS: list[str] = []
NEEDS_CREDENTIALS = False
# No side effect: the runner may execute it inside its run's transaction (see services/engine/runner.py).
PURE = True
RAW_CONFIG_KEYS: frozenset[str] = frozenset()


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    require_config(CONFIG_SCHEMA, config)
    output = dict(config["output"]) if "output" in config else as_object(msg.get("payload"))
    ctx.mark_run_output(output)
    return output
