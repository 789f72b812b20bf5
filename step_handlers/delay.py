"""Delay: successors start after ``seconds``, or at ``until`` (RFC 3339); never sleeps.

The handler only computes the wait and calls ``ctx.delay_successors``; the
runner stores ``not_before`` on the successors' rows. At most 30 days; a
time already past means no wait. The payload passes through.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.engine.config_schema import require_config, templated
from chalicelib.engine.context import StepContext
from chalicelib.engine.errors import ConfigInvalid
from chalicelib.engine.payloads import as_object

MAX_DELAY_SECONDS = 30 * 86_400

TITLE = "Delay"
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "seconds": templated({"type": "number", "minimum": 0, "maximum": MAX_DELAY_SECONDS}),
        "until": {"type": "string", "description": "RFC 3339 timestamp with a UTC offset."},
    },
    "additionalProperties": False,
    "oneOf": [{"required": ["seconds"]}, {"required": ["until"]}],
}
PORTS = ["out"]
NEEDS_CREDENTIALS = False
RAW_CONFIG_KEYS: frozenset[str] = frozenset()


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp; an offset is required so the instant is unambiguous."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ConfigInvalid(
            "'until' is not an RFC 3339 timestamp.",
            details=[{"path": "/config/until", "issue": "not RFC 3339"}],
        ) from exc
    if moment.tzinfo is None:
        raise ConfigInvalid(
            "'until' needs a UTC offset (e.g. 'Z').",
            details=[{"path": "/config/until", "issue": "missing UTC offset"}],
        )
    return moment


def check_config(config: dict[str, Any]) -> list[dict[str, str]]:
    """A literal ``until`` must parse (pointers relative to the config)."""
    until = config.get("until")
    if isinstance(until, str) and "{{" not in until:
        try:
            parse_timestamp(until)
        except ConfigInvalid as exc:
            return [{"path": "/until", "issue": exc.details[0]["issue"]}]
    return []


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    require_config(CONFIG_SCHEMA, config)
    if "seconds" in config:
        seconds = float(config["seconds"])
    else:
        seconds = max(0.0, (parse_timestamp(config["until"]) - ctx.clock.now()).total_seconds())
        if seconds > MAX_DELAY_SECONDS:
            raise ConfigInvalid(
                "'until' is more than 30 days away.",
                details=[{"path": "/config/until", "issue": "more than 30 days away"}],
            )
    ctx.delay_successors(seconds)
    ctx.log("info", "Successors delayed.", seconds=seconds)
    return as_object(msg.get("payload"))
