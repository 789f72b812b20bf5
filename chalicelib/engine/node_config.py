"""A node's config: the runner's settings, the handler's settings, rendering.

Every node's config may carry two settings the runner owns, whatever the step
type: ``retry`` (a :class:`~chalicelib.engine.retry.RetryPolicy` mapping) and
``timeout_seconds`` (one attempt's limit). The rest belongs to the handler and
is rendered against the step input before the call, except the keys the
handler lists in ``RAW_CONFIG_KEYS`` (templates it renders itself, per item)
and ``LITERAL_CONFIG_KEYS`` (text that is never an expression, such as a code
step's JavaScript, which may well contain ``{{``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chalicelib import expressions, jsonata_expressions
from chalicelib.engine.errors import ConfigInvalid
from chalicelib.engine.retry import MAX_STEP_SECONDS, RETRY_CONFIG_SCHEMA, RetryPolicy, StepTimeouts
from chalicelib.engine.step_types import StepType

RUNNER_CONFIG_KEYS = frozenset({"retry", "timeout_seconds"})

RUNNER_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "retry": RETRY_CONFIG_SCHEMA,
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_STEP_SECONDS},
    },
}


def split_config(config: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(handler_config, runner_config)``."""
    config = config or {}
    handler = {k: v for k, v in config.items() if k not in RUNNER_CONFIG_KEYS}
    runner = {k: v for k, v in config.items() if k in RUNNER_CONFIG_KEYS}
    return handler, runner


def raw_keys(handler: StepType) -> frozenset[str]:
    return frozenset(getattr(handler, "RAW_CONFIG_KEYS", ())) | literal_keys(handler)


def literal_keys(handler: StepType) -> frozenset[str]:
    """Config keys whose values are never rendered nor checked as expressions."""
    return frozenset(getattr(handler, "LITERAL_CONFIG_KEYS", ()))


def secret_keys(handler: StepType) -> frozenset[str]:
    return frozenset(getattr(handler, "SECRET_CONFIG_KEYS", ()))


def prepare_config(
    handler: StepType,
    node_config: Mapping[str, Any] | None,
    payload: Mapping[str, Any],
    *,
    secrets: Mapping[str, Any] | None = None,
    on_secret: Callable[[Any], None] | None = None,
) -> Any:
    """The config a handler is called with: runner keys removed, the rest rendered.

    ``$secrets`` is visible only to the keys the handler lists in
    ``SECRET_CONFIG_KEYS`` (where a credential goes); elsewhere it does not
    resolve, even in a graph stored before that was checked on save.
    ``on_secret`` receives every value a ``$secrets`` expression rendered to,
    after its filters, so the exact form sent can be masked in what is stored.

    Raises ``ConfigInvalid`` (not retryable) when an expression fails to render.
    """
    handler_config, _ = split_config(node_config)
    raw = raw_keys(handler)
    allowed = secret_keys(handler) if secrets is not None else frozenset()
    plain = {k: v for k, v in payload.items() if k != expressions.SECRETS_ROOT}
    with_secrets = {**plain, expressions.SECRETS_ROOT: secrets}
    if jsonata_expressions.is_jsonata(handler_config):
        # The whole config is one expression (a condition whose rule is JSONata).
        return expressions.render(handler_config, plain)
    rendered: dict[str, Any] = {}
    for key, value in handler_config.items():
        if key in raw:
            rendered[key] = value
            continue
        data = with_secrets if key in allowed else plain
        try:
            rendered[key] = expressions.render(value, data)
            if key in allowed and on_secret is not None:
                for secret_value in expressions.secret_values(value, data):
                    on_secret(secret_value)
        except expressions.ExpressionError as exc:
            raise ConfigInvalid(
                "An expression in the step configuration could not be rendered.",
                details=[{"path": f"/config/{key}", "issue": exc.message}],
            ) from exc
    return rendered


def step_policies(
    node_config: Mapping[str, Any] | None,
    action_defaults: Mapping[str, Any] | None = None,
    *,
    platform_retry: RetryPolicy | None = None,
    platform_timeouts: StepTimeouts | None = None,
) -> tuple[RetryPolicy, StepTimeouts]:
    """The retry policy and timeouts of a node: node over action defaults over platform.

    ``action_defaults`` has the same shape as the node's runner settings:
    ``{"retry": {...}, "timeout_seconds": n}``.
    """
    _, node = split_config(node_config)
    _, action = split_config(action_defaults)
    retry = RetryPolicy.from_config(node.get("retry"), action=action.get("retry"), platform=platform_retry)
    timeouts = StepTimeouts.from_config(
        {"step_seconds": node.get("timeout_seconds")},
        action={"step_seconds": action.get("timeout_seconds")},
        platform=platform_timeouts,
    )
    return retry, timeouts
