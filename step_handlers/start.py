"""Start: hands the run's input to the first steps unchanged."""

from __future__ import annotations

from typing import Any

from chalicelib.engine.config_schema import require_config
from chalicelib.engine.context import StepContext
from chalicelib.engine.payloads import as_object

TITLE = "Start"
CONFIG_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
PORTS = ["out"]
NEEDS_CREDENTIALS = False
# No side effect: the runner may execute it inside its run's transaction (see services/workflows/runner.py).
PURE = True
RAW_CONFIG_KEYS: frozenset[str] = frozenset()


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    require_config(CONFIG_SCHEMA, config)
    # A run input that is not an object (a webhook posting a list) is wrapped so payloads stay objects.
    return as_object(msg.get("payload"))
