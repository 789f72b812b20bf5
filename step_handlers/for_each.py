"""For each: runs the ``item`` branch once per element of a list, then joins.

Config: ``items`` (an expression giving a list), ``max_items`` (default and
ceiling 1000), ``context`` (optional template object every item carries).
The handler validates the list and calls ``ctx.fan_out(items)``; it returns
the ``context`` object (default ``{}``). Each instance's input is that object
with ``item`` and ``index`` set over it (``chalicelib.engine.payloads.item_payload``);
the input is not copied into every item on purpose, so N items never carry N
copies of a large payload. The nearest downstream wait_all joins the
instances into ``{"items": [...]}`` (see ``chalicelib.engine.planner``).
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.config_schema import require_config, templated
from chalicelib.engine.context import StepContext
from chalicelib.engine.errors import NonRetryableStepError

MAX_ITEMS = 1000

TITLE = "For each"
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": templated({"type": "array"}),
        "max_items": {"type": "integer", "minimum": 1, "maximum": MAX_ITEMS, "default": MAX_ITEMS},
        "context": templated({"type": "object"}),
    },
    "additionalProperties": False,
}
PORTS = ["item"]
NEEDS_CREDENTIALS = False
RAW_CONFIG_KEYS: frozenset[str] = frozenset()


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    require_config(CONFIG_SCHEMA, config)
    items = config["items"]
    limit = config.get("max_items", MAX_ITEMS)
    if len(items) > limit:
        raise NonRetryableStepError(
            f"The list has {len(items)} items; this step allows at most {limit}.",
            code="too_many_items",
            info={"count": len(items), "max_items": limit},
        )
    ctx.fan_out(items)
    ctx.log("info", "Fanned out.", count=len(items))
    return dict(config.get("context") or {})
