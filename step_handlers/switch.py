"""Switch: takes the port of the first case whose rule holds, else ``default``.

Config: ``{"cases": [{"port": "eu", "when": <rule>}, …]}``; rules as in the
condition step. Ports are the cases' ports plus ``default``. The payload
passes through.
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.conditions import RULE_DEFS, evaluate_rule, rule_issues
from chalicelib.engine.config_schema import require_config
from chalicelib.engine.context import StepContext
from chalicelib.engine.payloads import as_object

DEFAULT_PORT = "default"
PORT_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"

TITLE = "Switch"
CONFIG_SCHEMA: dict[str, Any] = {
    "$defs": RULE_DEFS,
    "type": "object",
    "required": ["cases"],
    "properties": {
        "cases": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "type": "object",
                "required": ["port", "when"],
                "properties": {
                    "port": {"type": "string", "pattern": PORT_PATTERN, "not": {"const": DEFAULT_PORT}},
                    "when": {"$ref": "#/$defs/rule"},
                },
                "additionalProperties": False,
            },
        }
    },
    "additionalProperties": False,
}
PORTS = [DEFAULT_PORT]  # the static part; ports(config) adds the cases'
NEEDS_CREDENTIALS = False
# No side effect: the runner may execute it inside its run's transaction (see services/workflows/runner.py).
PURE = True
RAW_CONFIG_KEYS: frozenset[str] = frozenset()


def ports(config: dict[str, Any]) -> list[str]:
    """The cases' ports in order, then ``default``; tolerant of an invalid config."""
    found: list[str] = []
    cases = config.get("cases") if isinstance(config, dict) else None
    for case in cases if isinstance(cases, list) else []:
        port = case.get("port") if isinstance(case, dict) else None
        if isinstance(port, str) and port != DEFAULT_PORT and port not in found:
            found.append(port)
    return found + [DEFAULT_PORT]


def check_config(config: dict[str, Any]) -> list[dict[str, str]]:
    """Unique case ports and usable rules (pointers relative to the config)."""
    issues: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, case in enumerate(config.get("cases") or []):
        if not isinstance(case, dict):
            continue
        if case.get("port") in seen:
            issues.append({"path": f"/cases/{i}/port", "issue": f"duplicate port {case['port']!r}"})
        if isinstance(case.get("port"), str):
            seen.add(case["port"])
        issues.extend(rule_issues(case.get("when"), f"/cases/{i}/when"))
    return issues


def handle(msg: dict[str, Any], config: dict[str, Any], ctx: StepContext, credentials: dict | None) -> dict:
    require_config(CONFIG_SCHEMA, config)
    port = next((case["port"] for case in config["cases"] if evaluate_rule(case["when"])), DEFAULT_PORT)
    ctx.choose_ports(port)
    ctx.log("info", "Switch evaluated.", port=port)
    return as_object(msg.get("payload"))
