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
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from chalicelib.cache import BoundedCache
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


@dataclass(frozen=True)
class _Checker:
    """A schema's validator, found again by the schema object's identity (it holds the schema, so the
    identity is not reused while the entry lives)."""

    schema: dict[str, Any]
    validator: Draft202012Validator
    # Top-level properties whose value's type alone decides whether the config is valid (strict only).
    type_only: frozenset[str]


_CHECKERS: BoundedCache[tuple[int, bool], _Checker] = BoundedCache(256)


def _checker(schema: dict[str, Any], strict: bool) -> _Checker:
    found = _CHECKERS.get((id(schema), strict))
    if found is not None and found.schema is schema:
        return found
    validator = _validator(json.dumps(schema, sort_keys=True), strict)
    checker = _Checker(schema, validator, _type_only_properties(validator.schema) if strict else frozenset())
    _CHECKERS.put((id(schema), strict), checker)
    return checker


# Keywords that look at a config's property names, never at their values; and what a property's own schema
# may hold for its value's type to be all that matters (annotations; a type checked by Python type alone).
_NAME_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties", "dependentRequired",
                            "anyOf", "oneOf", "allOf", "minProperties", "maxProperties", "description", "title",
                            "$comment"})
_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$comment"})
_PYTHON_TYPED = frozenset({"object", "array", "string", "boolean", "null"})  # not integer/number: 1.0 is an integer


def _type_only_properties(schema: Any) -> frozenset[str]:
    """The properties whose value's (Python) type alone decides validity under ``schema``."""
    if not isinstance(schema, dict) or schema.get("type") != "object" or not set(schema) <= _NAME_KEYWORDS:
        return frozenset()
    for keyword in ("anyOf", "oneOf", "allOf"):
        if not all(isinstance(s, dict) and set(s) <= {"required"} for s in schema.get(keyword, [])):
            return frozenset()
    if not isinstance(schema.get("additionalProperties", False), bool):
        return frozenset()
    found = set()
    for name, sub in (schema.get("properties") or {}).items():
        kind = sub.get("type", "object") if isinstance(sub, dict) else None
        if isinstance(kind, str) and kind in _PYTHON_TYPED and set(sub) - _ANNOTATIONS <= {"type"}:
            found.add(name)
    return frozenset(found)


def config_issues(schema: dict[str, Any], config: Any, *, rendered: bool, prefix: str = "") -> list[dict[str, str]]:
    """Schema violations as ``{"path", "issue"}`` details, deepest first in path order."""
    validator = _checker(schema, rendered).validator
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


# Rendered configs found valid, remembered: a chain runs the same nodes over and over, and a schema check
# (0.1–0.4 ms) is a pure function of the config. Keys hold every value with its type (``True`` is not
# ``1``, ``1.0`` is not ``1``), except a property whose type alone decides (a transform's rendered
# ``output``, whatever the payload); an invalid config is never remembered, so its error names every
# problem each time. Two bounds: small keys (most configs) and large ones (a code step's source).
SMALL_KEY, LARGE_KEY = 2_000, 100_000
_VALID_SMALL: BoundedCache[Hashable, bool] = BoundedCache(512)
_VALID_LARGE: BoundedCache[Hashable, bool] = BoundedCache(64)


def require_config(schema: dict[str, Any], config: Any) -> dict[str, Any]:
    """Check a rendered config; raise ``ConfigInvalid`` with pointers into it."""
    checker = _checker(schema, True)
    key = _config_key(config, checker.type_only)
    cache = None if key is None else _VALID_SMALL if key[1] <= SMALL_KEY else _VALID_LARGE
    if key is not None and cache is not None and cache.get((id(schema), key[0])):
        return config
    issues = config_issues(schema, config, rendered=True, prefix="/config")
    if issues:
        raise ConfigInvalid("The step configuration is invalid once rendered.", details=issues)
    if key is not None and cache is not None:
        cache.put((id(schema), key[0]), True)  # the checker holds the schema: its id is not reused
    return config


def _config_key(config: Any, type_only: frozenset[str]) -> tuple[Hashable, int] | None:
    """``(key, size)`` of a config, or ``None`` when it has no key (a value of another kind, too large)."""
    if type(config) is not dict:
        return None
    budget = [LARGE_KEY]
    try:
        key = tuple((name, (type(value),) if name in type_only else _typed(value, budget))
                    for name, value in config.items())
    except _NoKey:
        return None
    return key, LARGE_KEY - budget[0]


class _NoKey(Exception):
    pass


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _typed(value: Any, budget: list[int]) -> Hashable:
    kind = type(value)
    if kind is str:
        budget[0] -= len(value) + 1
    else:
        budget[0] -= 1
    if budget[0] < 0:
        raise _NoKey
    if kind in _SCALARS:
        return kind, value
    if kind is dict:
        return kind, tuple((k, _typed(v, budget)) for k, v in value.items())
    if kind is list:
        return kind, tuple(_typed(v, budget) for v in value)
    raise _NoKey
