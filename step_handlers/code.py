"""Code: tenant JavaScript in a V8 isolate; the object it returns replaces the payload.

Config: ``code`` (JavaScript with one ``export default (payload, ctx) => ({…})``,
which may be ``async``) and ``timeout_ms`` (wall time, default 1000, at most
the platform's maximum). ``ctx`` is read-only run metadata: ``run_id``,
``node_id``, ``node_name``, ``attempt``, ``mode``, ``instance_key``.

The code runs through ``ctx.code_runner`` (the sandbox pool of
``chalicelib.adapters.code_sandbox``): a fresh isolate per execution, no
network, filesystem, process, environment, timers or module loading, no
credentials (a code node takes no connection). Its ``console`` output lands
in the step's logs (bounded), also when it fails. Every failure (a throw, a
syntax error, time, memory, a result that is not a JSON object) is
non-retryable. The ``code`` text is never rendered as a template. A node
whose time limit is at most ``PURE_MAX_TIMEOUT_MS`` is pure (``pure``): the
runner may run it inside its run's transaction, with the transforms around it.
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.code import (
    MAX_SOURCE_CHARS,
    PLATFORM_CODE_LIMITS,
    CodeFailed,
    CodeRequest,
    source_issues,
)
from chalicelib.engine.config_schema import require_config
from chalicelib.engine.context import StepContext
from chalicelib.engine.payloads import as_object
from chalicelib.errors import ConfigurationError

DEFAULT_TIMEOUT_MS = int(PLATFORM_CODE_LIMITS.timeout_seconds * 1000)
MAX_TIMEOUT_MS = int(PLATFORM_CODE_LIMITS.max_timeout_seconds * 1000)

TITLE = "Code"
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code"],
    "properties": {
        "code": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_SOURCE_CHARS,
            "description": "JavaScript: export default (payload, ctx) => ({ ...payload }).",
            "x-editor": "javascript",
        },
        "timeout_ms": {"type": "integer", "minimum": 1, "maximum": MAX_TIMEOUT_MS, "default": DEFAULT_TIMEOUT_MS},
    },
    "additionalProperties": False,
}
DEFAULT_CONFIG: dict[str, Any] = {
    "code": "export default (payload, ctx) => {\n  return { ...payload, source: \"stepline\" };\n};\n",
    "timeout_ms": DEFAULT_TIMEOUT_MS,
}
PORTS = ["out"]
NEEDS_CREDENTIALS = False
# Tenant code has no side effect (no network, no credentials, nothing kept between executions), so a
# code step may run inside its run's transaction with the pure steps around it, saving a claim and a
# commit per step, while its time limit keeps the run's row lock held that long harmless.
PURE_MAX_TIMEOUT_MS = DEFAULT_TIMEOUT_MS
RAW_CONFIG_KEYS: frozenset[str] = frozenset()
LITERAL_CONFIG_KEYS = frozenset({"code"})


def pure(config: dict[str, Any]) -> bool:
    """Whether this node may run inside its run's transaction: a time limit of at most ``PURE_MAX_TIMEOUT_MS``."""
    timeout = config.get("timeout_ms", DEFAULT_TIMEOUT_MS)
    return isinstance(timeout, int) and not isinstance(timeout, bool) and timeout <= PURE_MAX_TIMEOUT_MS


def check_config(config: dict[str, Any]) -> list[dict[str, str]]:
    """The code's shape (one default export), checked without running it."""
    return source_issues(config.get("code"))


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    require_config(CONFIG_SCHEMA, config)  # remembered per distinct config (config_schema)
    if ctx.code_runner is None:
        raise ConfigurationError("No code runner was injected into the step context.")
    timeout = config.get("timeout_ms", DEFAULT_TIMEOUT_MS) / 1000
    remaining = ctx.remaining_seconds()
    if remaining is not None:
        ctx.check_deadline()
        timeout = min(timeout, remaining)
    request = CodeRequest(
        source=config["code"],
        payload=as_object(msg.get("payload")),
        context={
            "run_id": ctx.run_id, "node_id": ctx.node_id, "node_name": ctx.node_name, "attempt": ctx.attempt,
            "mode": ctx.mode, "instance_key": ctx.instance_key,
        },
        timeout_seconds=timeout,
    )
    try:
        result = ctx.code_runner.run(request)
    except CodeFailed as exc:
        _console(ctx, exc.logs, exc.dropped_logs)
        raise
    _console(ctx, result.logs, result.dropped_logs)
    return result.output


def _console(ctx: StepContext, lines: tuple[tuple[str, str], ...], dropped: int) -> None:
    for level, text in lines:
        ctx.log(level if level in ("debug", "info", "warning", "error") else "info", text, source="console")
    if dropped:
        ctx.log("warning", f"{dropped} console lines were dropped (over the step's log limit).", source="console")
