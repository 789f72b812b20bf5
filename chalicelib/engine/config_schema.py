"""JSON Schemas for node config, valid both before and after rendering.

A node's config is saved with ``{{ … }}`` expressions in it and rendered
against the step's input just before the handler runs. A typed field such as
``"seconds": "{{ wait_for }}"`` is therefore a string at save time and a
number at run time. Handlers declare such fields with :func:`templated`: graph
validation accepts either form, and :func:`require_config` (called by the
handler on the rendered config) accepts only the concrete one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from chalicelib.engine.errors import ConfigInvalid

TEMPLATED = "x-templated"

EXPRESSION_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^\s*\{\{.*\}\}\s*$",
    "description": "A {{ … }} expression, rendered against the step input.",
}
JSONATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["$jsonata"],
    "properties": {"$jsonata": {"type": "string", "minLength": 1, "maxLength": 10_000}},
    "additionalProperties": False,
    "description": "A JSONata expression, evaluated against the step input (see docs/workflows.md).",
}


def templated(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or (before rendering) a whole-string ``{{ … }}`` expression or a JSONata marker."""
    return {"anyOf": [schema, EXPRESSION_SCHEMA, JSONATA_SCHEMA], TEMPLATED: True}


def strict_schema(schema: Any) -> Any:
    """The schema a rendered config must meet: every templated field concrete."""
    if isinstance(schema, dict):
        if schema.get(TEMPLATED):
            return strict_schema(schema["anyOf"][0])
        return {k: strict_schema(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [strict_schema(v) for v in schema]
    return schema


def pointer(parts: Iterable[Any]) -> str:
    """RFC 6901 JSON pointer for a path of keys and indexes."""
    out = ""
    for part in parts:
        out += "/" + str(part).replace("~", "~0").replace("/", "~1")
    return out


@lru_cache(maxsize=128)
def _validator(schema_json: str, strict: bool) -> Draft202012Validator:
    schema = json.loads(schema_json)
    return Draft202012Validator(strict_schema(schema) if strict else copy.deepcopy(schema))


def config_issues(schema: dict[str, Any], config: Any, *, rendered: bool, prefix: str = "") -> list[dict[str, str]]:
    """Schema violations as ``{"path", "issue"}`` details, deepest first in path order."""
    validator = _validator(json.dumps(schema, sort_keys=True), rendered)
    issues = []
    for error in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        issues.append({"path": prefix + pointer(error.absolute_path), "issue": _describe(error)})
    return issues


def _describe(error: Any) -> str:
    # anyOf failures from templated() read better as the concrete expectation.
    if error.validator == "anyOf" and isinstance(error.schema, dict) and error.schema.get(TEMPLATED):
        expected = error.schema["anyOf"][0]
        kind = expected.get("type") or "a valid value"
        return f"must be {kind}, a {{{{ … }}}} expression or a JSONata expression"
    # Messages quote the offending value; keep them short in stored details.
    message = error.message
    return message if len(message) <= 200 else message[:197] + "..."


def require_config(schema: dict[str, Any], config: Any) -> dict[str, Any]:
    """Check a rendered config; raise ``ConfigInvalid`` with pointers into it."""
    issues = config_issues(schema, config, rendered=True, prefix="/config")
    if issues:
        raise ConfigInvalid("The step configuration is invalid once rendered.", details=issues)
    return config
