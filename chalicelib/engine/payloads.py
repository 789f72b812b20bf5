"""Shapes of the objects passed between steps.

A step's payload is always a JSON object: handlers return one and it replaces
the input for the successors. These functions build the few payloads the
engine itself makes (a for_each item, a non-object run input), and the
pass-through shared by the steps that only forward what reaches them (end and
the two joins): the input unchanged, or an ``output`` template rendered over it.
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.config_schema import require_config, templated

PASS_THROUGH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"output": templated({"type": "object"})},
    "additionalProperties": False,
}


def as_object(value: Any) -> dict[str, Any]:
    """An object payload: objects are copied, ``None`` is ``{}``, anything else ``{"payload": value}``."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    return {"payload": value}


def item_payload(base: dict[str, Any] | None, item: Any, index: int) -> dict[str, Any]:
    """A for_each instance's input: the for_each output with ``item`` and ``index`` set over it."""
    return {**(base or {}), "item": item, "index": index}


def pass_through(msg: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The rendered ``output`` template when configured, else the input payload as an object."""
    require_config(PASS_THROUGH_SCHEMA, config)
    if "output" in config:
        return dict(config["output"])
    return as_object(msg.get("payload"))
