"""Step types: one module per type, all with the same contract.

Each module exposes ``handle(msg, config, ctx, credentials) -> dict`` and the
constants ``TITLE``, ``CONFIG_SCHEMA`` (JSON Schema of its config, templated
fields per ``chalicelib.engine.config_schema``), ``PORTS`` (output ports),
``NEEDS_CREDENTIALS`` (the runner resolves a connection for it) and
``RAW_CONFIG_KEYS`` (config keys the runner must not render). Optional:
``ports(config)`` for ports that depend on the config (switch),
``check_config(config) -> [{"path", "issue"}]`` for checks a schema cannot
express, ``LITERAL_CONFIG_KEYS`` (text never rendered nor checked as an
expression, such as the code step's JavaScript), and ``SECRET_CONFIG_KEYS``:
the config keys that may read ``$secrets`` because their value only leaves in
an outbound request (where a credential goes). Everywhere else a ``$secrets``
reference is refused when the graph is saved and never rendered. A new step
type is one module here plus its entry in ``_REGISTRY``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from chalicelib.engine.errors import UnknownStepType
from step_handlers import (
    action,
    code,
    condition,
    delay,
    end,
    for_each,
    http_request,
    merge_race,
    start,
    switch,
    transform,
    wait_all,
)

_REGISTRY: dict[str, ModuleType] = {
    "start": start,
    "end": end,
    "transform": transform,
    "condition": condition,
    "switch": switch,
    "wait_all": wait_all,
    "merge_race": merge_race,
    "delay": delay,
    "for_each": for_each,
    "http_request": http_request,
    "action": action,
    "code": code,
}

STEP_TYPES: tuple[str, ...] = tuple(_REGISTRY)
JOIN_TYPES = frozenset({"wait_all", "merge_race"})


def get_handler(step_type: str) -> ModuleType:
    """The module for a step type; ``UnknownStepType`` (422, not retryable) otherwise."""
    try:
        return _REGISTRY[step_type]
    except (KeyError, TypeError):
        raise UnknownStepType(f"Unknown step type {step_type!r}.") from None


def ports_of(step_type: str, config: dict[str, Any] | None) -> list[str]:
    """Output ports of a node of this type with this config (config-dependent for switch)."""
    handler = get_handler(step_type)
    dynamic = getattr(handler, "ports", None)
    return list(dynamic(config or {})) if callable(dynamic) else list(handler.PORTS)


def check_config(step_type: str, config: dict[str, Any]) -> list[dict[str, str]]:
    """The handler's own checks beyond its schema (pointers relative to the config)."""
    extra = getattr(get_handler(step_type), "check_config", None)
    return list(extra(config)) if callable(extra) else []


def secret_config_keys(step_type: str) -> frozenset[str]:
    """The config keys of this step type that may read ``$secrets`` (none unless the module says)."""
    return frozenset(getattr(get_handler(step_type), "SECRET_CONFIG_KEYS", ()))


def describe_step_types() -> list[dict[str, Any]]:
    """The built-in step types as node templates (for ``GET /api/node-templates``).

    A handler may offer ``DEFAULT_CONFIG`` (what a new node starts with) and
    ``VARIANTS``: presets of the same type with a narrower schema (the JSONata
    transform), listed right after it with their ``variant`` name.
    """
    described = []
    for step_type, handler in _REGISTRY.items():
        doc = (handler.__doc__ or "").strip().splitlines()
        base = {
            "type": step_type,
            "variant": None,
            "title": handler.TITLE,
            "description": doc[0] if doc else "",
            "config_schema": handler.CONFIG_SCHEMA,
            "default_config": getattr(handler, "DEFAULT_CONFIG", None),
            "ports": list(handler.PORTS),
            "dynamic_ports": callable(getattr(handler, "ports", None)),
            "needs_credentials": handler.NEEDS_CREDENTIALS,
            "secret_keys": sorted(getattr(handler, "SECRET_CONFIG_KEYS", ())),
        }
        described.append(base)
        for variant in getattr(handler, "VARIANTS", ()):
            described.append({**base, **variant})
    return described
