"""What a step type is to the engine, and the catalog of them the engine is given.

A step type is one module of ``step_handlers/`` that meets :class:`StepType`;
the catalog (``step_handlers.CATALOG``) is built there and handed to the
engine by the composition root (``chalicelib/bootstrap.py``): nothing in the
engine imports a step type.

Optional members a step type may add (read with ``getattr``): ``ports(config)``
for ports that depend on the config (switch), ``check_config(config) ->
[{"path", "issue"}]`` for checks a schema cannot express,
``LITERAL_CONFIG_KEYS`` (text never rendered nor checked as an expression, such
as the code step's JavaScript), ``SECRET_CONFIG_KEYS`` (config keys that may
read ``$secrets`` because their value only leaves in an outbound request),
``DEFAULT_CONFIG`` and ``VARIANTS`` (presets shown by the editor), and
``PURE = True`` for a type without side effects (no network, no credentials),
which the runner may execute inside its run's transaction, or ``pure(config)
-> bool`` when that depends on the node (the code step: only with a short
time limit, since the run's row lock is held while it runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from chalicelib.engine.context import StepContext
from chalicelib.engine.errors import UnknownStepType


class StepType(Protocol):
    """The contract every step type meets: constants that describe it, and ``handle``."""

    TITLE: str
    CONFIG_SCHEMA: dict[str, Any]  # JSON Schema of its config (templated fields per ``config_schema``)
    PORTS: list[str]  # output ports
    NEEDS_CREDENTIALS: bool  # the runner resolves a connection for it
    RAW_CONFIG_KEYS: frozenset[str]  # config keys the runner must not render

    def handle(self, msg: dict[str, Any], config: dict[str, Any], ctx: StepContext,
               credentials: dict[str, Any] | None) -> dict[str, Any]:
        """Run one step: the step's output (an object); raise a step error to fail or retry it."""
        ...


class StepCatalog:
    """The step types by name (in the order the editor lists them) and which of them are joins."""

    def __init__(self, types: Mapping[str, StepType], *, joins: frozenset[str]) -> None:
        unknown = joins - set(types)
        if unknown:
            raise ValueError(f"joins that are not step types: {sorted(unknown)}")
        self._types = dict(types)
        self.names: tuple[str, ...] = tuple(self._types)
        self.joins = joins

    def __contains__(self, step_type: object) -> bool:
        return step_type in self._types

    def get(self, step_type: str) -> StepType:
        """The step type's module; ``UnknownStepType`` (422, not retryable) otherwise."""
        try:
            return self._types[step_type]
        except (KeyError, TypeError):
            raise UnknownStepType(f"Unknown step type {step_type!r}.") from None

    def is_join(self, step_type: str) -> bool:
        return step_type in self.joins

    def is_pure(self, step_type: str, config: Mapping[str, Any] | None = None) -> bool:
        """Whether a step of this type (and config) has no side effect (``PURE`` or ``pure(config)``).

        Executing a pure step again changes nothing outside, so the runner may run it inside its run's transaction.
        """
        handler = self._types.get(step_type)
        if handler is None or handler.NEEDS_CREDENTIALS:
            return False
        decide = getattr(handler, "pure", None)
        if callable(decide):
            return bool(decide(dict(config or {})))
        return bool(getattr(handler, "PURE", False))

    def ports_of(self, step_type: str, config: dict[str, Any] | None) -> list[str]:
        """Output ports of a node of this type with this config (config-dependent for switch)."""
        handler = self.get(step_type)
        dynamic = getattr(handler, "ports", None)
        return list(dynamic(config or {})) if callable(dynamic) else list(handler.PORTS)

    def check_config(self, step_type: str, config: dict[str, Any]) -> list[dict[str, str]]:
        """The step type's own checks beyond its schema (pointers relative to the config)."""
        extra = getattr(self.get(step_type), "check_config", None)
        return list(extra(config)) if callable(extra) else []

    def secret_config_keys(self, step_type: str) -> frozenset[str]:
        """The config keys of this step type that may read ``$secrets`` (none unless the module says)."""
        return frozenset(getattr(self.get(step_type), "SECRET_CONFIG_KEYS", ()))

    def describe(self) -> list[dict[str, Any]]:
        """The step types as node templates (for ``GET /api/node-templates``).

        A step type may offer ``DEFAULT_CONFIG`` (what a new node starts with) and
        ``VARIANTS``: presets of the same type with a narrower schema (the JSONata
        transform), listed right after it with their ``variant`` name.
        """
        described = []
        for step_type, handler in self._types.items():
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
