"""App action: calls the action named by the node's template through the injected invoker.

Config: ``{"input": {…}}``, rendered against the step input; the invoker
validates it against the action's input schema, applies the connection and
sends the request with ``ctx.idempotency_key``. Credential resolution happens
in the runner (node connection, then the template's default); when the
action needs credentials (``ctx.credentials_required``) and none were
resolved, the step fails at once without calling out.
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.config_schema import require_config, templated
from chalicelib.engine.context import StepContext
from chalicelib.engine.errors import NonRetryableStepError
from chalicelib.errors import ConfigurationError

TITLE = "App action"
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"input": templated({"type": "object"})},
    "additionalProperties": False,
}
PORTS = ["out"]
NEEDS_CREDENTIALS = True
RAW_CONFIG_KEYS: frozenset[str] = frozenset()
SECRET_CONFIG_KEYS = frozenset({"input"})  # the action's request (headers, auth, query, body)


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    require_config(CONFIG_SCHEMA, config)
    if not ctx.template:
        raise NonRetryableStepError("The node names no action to call.", code="template_missing")
    if credentials is None and ctx.credentials_required:
        raise NonRetryableStepError("This action needs a connection and none was resolved.", code="credentials_missing")
    if ctx.invoke_action is None:
        raise ConfigurationError("No action invoker was injected into the step context.")
    ctx.check_deadline()
    output = ctx.invoke_action(ctx.template, dict(config.get("input") or {}), credentials, ctx.idempotency_key)
    ctx.log("info", "Action called.", template=ctx.template)
    # A step's output replaces the payload, which is always an object.
    return output if isinstance(output, dict) else {"result": output}
