"""Structured condition rules: data, never code.

A rule is a clause ``{"left": …, "op": "gt", "right": …}``, a group
``{"all": [rules]}``, ``{"any": [rules]}``, ``{"not": rule}``, or a JSONata
expression ``{"$jsonata": "amount > 100 and country = 'FR'"}`` that renders
to ``true`` or ``false`` (undefined counts as ``false``). ``left`` and
``right`` are usually ``{{ … }}`` expressions; the runner renders the node's
config against the step input first, so :func:`evaluate_rule` only compares
values. A path that does not resolve renders to ``null``, which is what
``exists`` / ``not_exists`` test.

Comparisons are strict: no string/number coercion, booleans are not numbers,
ordering (``gt``…) needs two numbers or two strings (ISO dates order as
strings) and is false otherwise. ``matches`` is a regular-expression search
run by the ``regex`` package with a time limit, so a pathological pattern
fails the step instead of hanging it.
"""

from __future__ import annotations

from typing import Any

import regex

from chalicelib.engine.config_schema import JSONATA_SCHEMA
from chalicelib.engine.errors import ConfigInvalid, NonRetryableStepError

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "in", "exists", "not_exists", "matches")
MAX_DEPTH = 8
MAX_PATTERN_LENGTH = 500
MATCH_TIMEOUT_SECONDS = 0.1

# Shared by every handler whose config holds rules: put these under the root
# "$defs" of the handler's CONFIG_SCHEMA and refer to {"$ref": "#/$defs/rule"}.
RULE_DEFS: dict[str, Any] = {
    "clause": {
        "type": "object",
        "required": ["left", "op"],
        "properties": {"left": {}, "op": {"enum": list(OPERATORS)}, "right": {}},
        "additionalProperties": False,
    },
    "group_all": {
        "type": "object",
        "required": ["all"],
        "properties": {"all": {"type": "array", "minItems": 1, "maxItems": 50, "items": {"$ref": "#/$defs/rule"}}},
        "additionalProperties": False,
    },
    "group_any": {
        "type": "object",
        "required": ["any"],
        "properties": {"any": {"type": "array", "minItems": 1, "maxItems": 50, "items": {"$ref": "#/$defs/rule"}}},
        "additionalProperties": False,
    },
    "group_not": {
        "type": "object",
        "required": ["not"],
        "properties": {"not": {"$ref": "#/$defs/rule"}},
        "additionalProperties": False,
    },
    "jsonata": JSONATA_SCHEMA,
    "rule": {
        "anyOf": [
            {"$ref": "#/$defs/clause"},
            {"$ref": "#/$defs/group_all"},
            {"$ref": "#/$defs/group_any"},
            {"$ref": "#/$defs/group_not"},
            {"$ref": "#/$defs/jsonata"},
            # What a JSONata rule (or undefined: null) becomes once rendered.
            {"type": ["boolean", "null"]},
        ]
    },
}


def rule_issues(rule: Any, prefix: str = "", depth: int = 0) -> list[dict[str, str]]:
    """Checks the schema cannot express: nesting depth and literal patterns."""
    if depth > MAX_DEPTH:
        return [{"path": prefix, "issue": f"rules nest deeper than {MAX_DEPTH} levels"}]
    if not isinstance(rule, dict):
        return []
    issues: list[dict[str, str]] = []
    for group in ("all", "any"):
        if isinstance(rule.get(group), list):
            for i, sub in enumerate(rule[group]):
                issues.extend(rule_issues(sub, f"{prefix}/{group}/{i}", depth + 1))
    if "not" in rule:
        issues.extend(rule_issues(rule["not"], f"{prefix}/not", depth + 1))
    if rule.get("op") == "matches" and isinstance(rule.get("right"), str) and "{{" not in rule["right"]:
        problem = _pattern_problem(rule["right"])
        if problem:
            issues.append({"path": f"{prefix}/right", "issue": problem})
    return issues


def evaluate_rule(rule: dict[str, Any] | bool | None, depth: int = 0) -> bool:
    """Evaluate a rendered rule (a JSONata rule has become ``true``, ``false`` or ``None``)."""
    if depth > MAX_DEPTH:
        raise ConfigInvalid(f"Rules nest deeper than {MAX_DEPTH} levels.")
    if rule is None or isinstance(rule, bool):
        return bool(rule)
    if not isinstance(rule, dict):
        raise NonRetryableStepError("A JSONata rule must evaluate to true or false.", code="rule_not_boolean",
                                    info={"type": type(rule).__name__})
    if "all" in rule:
        return all(evaluate_rule(sub, depth + 1) for sub in rule["all"])
    if "any" in rule:
        return any(evaluate_rule(sub, depth + 1) for sub in rule["any"])
    if "not" in rule:
        return not evaluate_rule(rule["not"], depth + 1)
    return evaluate_clause(rule.get("left"), rule["op"], rule.get("right"))


def evaluate_clause(left: Any, op: str, right: Any) -> bool:
    """One comparison between two rendered values."""
    if op == "eq":
        return _equal(left, right)
    if op == "ne":
        return not _equal(left, right)
    if op in ("gt", "gte", "lt", "lte"):
        return _ordered(left, op, right)
    if op == "contains":
        return _contains(left, right)
    if op == "in":
        return _contains(right, left)
    if op == "exists":
        return left is not None
    if op == "not_exists":
        return left is None
    if op == "matches":
        return _matches(left, right)
    raise ConfigInvalid(f"Unknown operator {op!r}.", details=[{"path": "/op", "issue": "unknown operator"}])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if _is_number(left) and _is_number(right):
        return left == right
    return type(left) is type(right) and left == right


def _ordered(left: Any, op: str, right: Any) -> bool:
    comparable = (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str))
    if not comparable:
        return False
    if op == "gt":
        return left > right
    if op == "gte":
        return left >= right
    if op == "lt":
        return left < right
    return left <= right


def _contains(container: Any, member: Any) -> bool:
    if isinstance(container, str):
        return isinstance(member, str) and member in container
    if isinstance(container, list):
        return any(_equal(item, member) for item in container)
    if isinstance(container, dict):
        return isinstance(member, str) and member in container
    return False


def _pattern_problem(pattern: str) -> str | None:
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"pattern longer than {MAX_PATTERN_LENGTH} characters"
    try:
        regex.compile(pattern)
    except regex.error as exc:
        return f"invalid regular expression: {exc}"
    return None


def _matches(left: Any, pattern: Any) -> bool:
    if not isinstance(pattern, str):
        raise ConfigInvalid("A 'matches' rule needs a string pattern.")
    problem = _pattern_problem(pattern)
    if problem:
        raise ConfigInvalid(f"A 'matches' rule has an unusable pattern: {problem}.")
    if not isinstance(left, str):
        return False
    try:
        return regex.search(pattern, left, timeout=MATCH_TIMEOUT_SECONDS) is not None
    except TimeoutError as exc:
        raise NonRetryableStepError("A 'matches' rule took too long to evaluate.") from exc
