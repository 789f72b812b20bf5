"""Turn ``jsonschema`` errors into ``{"path": "/json/pointer", "issue": "..."}`` details.

jsonschema reports a missing or unexpected property at its parent; clients
want the pointer of the property itself, so those two cases are resolved here.
Values can be secrets (credentials), so ``redact=True`` gives issues that
never quote the instance.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

_MAX_ISSUE = 200
_META = Draft202012Validator(Draft202012Validator.META_SCHEMA)


def pointer(parts: Iterable[Any], base: str = "") -> str:
    """RFC 6901 JSON pointer from path parts, appended to ``base``."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return base + "".join("/" + p for p in escaped)


def _extra_properties(error: ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    declared = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    return [k for k in instance if k not in declared and not any(p.search(k) for p in patterns)]


def _missing_properties(error: ValidationError) -> list[str]:
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    return [k for k in (error.validator_value or []) if k not in instance]


def details_from_errors(
    errors: Iterable[ValidationError], *, base: str = "", redact: bool = False
) -> list[dict[str, str]]:
    """One detail per failing spot, sorted by pointer, duplicates dropped."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, str]] = []

    def add(path: str, issue: str) -> None:
        if (path, issue) not in seen:
            seen.add((path, issue))
            out.append({"path": path, "issue": issue})

    for error in errors:
        parts = list(error.absolute_path)
        if error.validator == "required":
            for name in _missing_properties(error):
                add(pointer([*parts, name], base), "is required")
        elif error.validator == "additionalProperties" and error.validator_value is False:
            for name in _extra_properties(error):
                add(pointer([*parts, name], base), "is not allowed")
        elif redact:
            add(pointer(parts, base), f"does not satisfy '{error.validator}'")
        else:
            message = (
                error.message if len(error.message) <= _MAX_ISSUE else error.message[: _MAX_ISSUE - 1] + "…"
            )
            add(pointer(parts, base), message)
    out.sort(key=lambda d: d["path"])
    return out


def schema_problems(schema: Any, *, base: str = "") -> list[dict[str, str]]:
    """Problems that make ``schema`` unusable as a Draft 2020-12 JSON Schema.

    Remote ``$ref`` targets are refused: validating must never fetch anything.
    """
    problems = [
        {
            "path": pointer(error.absolute_path, base),
            "issue": f"invalid JSON Schema: {error.message}"[:_MAX_ISSUE],
        }
        for error in _META.iter_errors(schema)
    ]
    problems.extend(_remote_refs(schema, base))
    return problems


def _remote_refs(node: Any, base: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    stack: list[tuple[Any, str]] = [(node, base)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, Mapping):
            for key, value in current.items():
                here = pointer([key], where)
                if key in ("$ref", "$dynamicRef") and isinstance(value, str) and not value.startswith("#"):
                    found.append({"path": here, "issue": "only local references ('#/...') are allowed"})
                else:
                    stack.append((value, here))
        elif isinstance(current, list):
            stack.extend((v, pointer([i], where)) for i, v in enumerate(current))
    return found


@lru_cache(maxsize=512)
def _compiled(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=Draft202012Validator.FORMAT_CHECKER)


def validator_for(schema: Any) -> Draft202012Validator:
    """A cached validator for an (already checked) schema, with format checks on."""
    return _compiled(json.dumps(schema, sort_keys=True, separators=(",", ":")))


def validate_against(
    schema: Any, instance: Any, *, base: str = "", redact: bool = False
) -> list[dict[str, str]]:
    """Details for every way ``instance`` fails ``schema`` (empty when valid)."""
    return details_from_errors(validator_for(schema).iter_errors(instance), base=base, redact=redact)
