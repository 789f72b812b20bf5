"""Shapes of the objects passed between steps.

A step's payload is always a JSON object: handlers return one and it replaces
the input for the successors. These functions build the few payloads the
engine itself makes (a for_each item, a non-object run input).
"""

from __future__ import annotations

from typing import Any


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
