"""Condition (if): takes port ``true`` or ``false``; the payload passes through.

The config is a structured rule (see ``chalicelib.engine.conditions``), e.g.
``{"all": [{"left": "{{ amount }}", "op": "gt", "right": 100}]}``. The runner
renders it against the input first, so the handler only compares values.
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.conditions import RULE_DEFS, evaluate_rule, rule_issues
from chalicelib.engine.config_schema import require_config
from chalicelib.engine.context import StepContext
from chalicelib.engine.payloads import as_object

TITLE = "Condition"
CONFIG_SCHEMA: dict[str, Any] = {"$defs": RULE_DEFS, "$ref": "#/$defs/rule"}
PORTS = ["true", "false"]
NEEDS_CREDENTIALS = False
# No side effect: the runner may execute it inside its run's transaction (see services/workflows/runner.py).
PURE = True
RAW_CONFIG_KEYS: frozenset[str] = frozenset()


def check_config(config: dict[str, Any]) -> list[dict[str, str]]:
    """Checks beyond the schema (pointers relative to the config)."""
    return rule_issues(config)


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    require_config(CONFIG_SCHEMA, config)
    outcome = evaluate_rule(config)
    port = "true" if outcome else "false"
    ctx.choose_ports(port)
    ctx.log("info", "Condition evaluated.", port=port)
    return as_object(msg.get("payload"))
