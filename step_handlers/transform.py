"""Transform: build a new payload from templates over the input.

Config:
- ``output``: a template object, rendered against the input (by the runner).
- ``over`` + ``each`` (+ ``into``, default ``"items"``): map a list. ``each`` is
  rendered once per element of ``over`` against the input with ``item`` and
  ``index`` set, and the list lands at ``output[into]``. ``each`` is kept
  unrendered by the runner (``RAW_CONFIG_KEYS``) for exactly that reason.
- ``mode``: ``"replace"`` (default: the result is the new payload) or
  ``"merge"`` (the result is merged over the input, key by key).

Any of these may be JSONata instead (``{"$jsonata": "…"}``, see
``chalicelib.jsonata_expressions``); the JSONata variant in the node
templates is ``output`` as one expression.
"""

from __future__ import annotations

from typing import Any

from chalicelib import expressions
from chalicelib.engine.config_schema import JSONATA_SCHEMA, require_config, templated
from chalicelib.engine.context import StepContext
from chalicelib.engine.errors import ConfigInvalid, NonRetryableStepError
from chalicelib.engine.payloads import as_object, item_payload

MAX_MAP_ITEMS = 10_000

TITLE = "Transform"
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "output": templated({"type": "object"}),
        "mode": {"enum": ["replace", "merge"], "default": "replace"},
        "over": templated({"type": "array"}),
        "each": {"description": "Template rendered per element of 'over' (sees item and index)."},
        "into": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", "default": "items"},
    },
    "additionalProperties": False,
    "dependentRequired": {"each": ["over"], "over": ["each"], "into": ["each"]},
    "anyOf": [{"required": ["output"]}, {"required": ["each"]}],
}
PORTS = ["out"]
NEEDS_CREDENTIALS = False
# No side effect: the runner may execute it inside its run's transaction (see services/workflows/runner.py).
PURE = True
RAW_CONFIG_KEYS = frozenset({"each"})

# The JSONata variant: the whole output is one expression over the input.
VARIANTS: list[dict[str, Any]] = [
    {
        "variant": "jsonata",
        "title": "Transform (JSONata)",
        "description": "Build the new payload with one JSONata expression over the input.",
        "config_schema": {
            "type": "object",
            "required": ["output"],
            "properties": {
                "output": {**JSONATA_SCHEMA, "description": "JSONata expression giving the new payload (an object)."},
                "mode": {"enum": ["replace", "merge"], "default": "replace"},
            },
            "additionalProperties": False,
        },
        "default_config": {"output": {"$jsonata": "$merge([$, {\"sum\": $sum(items)}])"}},
    }
]


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    require_config(CONFIG_SCHEMA, config)
    payload = as_object(msg.get("payload"))
    result = dict(config.get("output") or {})
    if "each" in config:
        result[config.get("into", "items")] = _map(config["over"], config["each"], payload)
    if config.get("mode", "replace") == "merge":
        return {**payload, **result}
    return result


def _map(items: list[Any], each: Any, payload: dict[str, Any]) -> list[Any]:
    if len(items) > MAX_MAP_ITEMS:
        raise NonRetryableStepError(
            f"'over' has {len(items)} elements; a transform maps at most {MAX_MAP_ITEMS}.",
            code="too_many_items",
        )
    mapped = []
    for index, item in enumerate(items):
        try:
            mapped.append(expressions.render(each, item_payload(payload, item, index)))
        except expressions.ExpressionError as exc:
            raise ConfigInvalid(
                "The 'each' template could not be rendered.",
                details=[{"path": "/config/each", "issue": f"item {index}: {exc.message}"}],
            ) from exc
    return mapped
