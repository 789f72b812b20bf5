"""Reading request bodies and query parameters into validated pydantic models.

One JSON policy for everything a client sends (API bodies and webhook bodies
alike), decided here once so that no bad input reaches the database as a 500:

- nesting deeper than :data:`MAX_DEPTH` → 400 ``too_deep``;
- ``NaN``, ``Infinity`` and numbers beyond a double (``1e400``) → 400 ``invalid_number``;
  integers beyond 64 bits → 400 ``invalid_number`` (they fit no column and lose
  precision in JavaScript anyway);
- the NUL character (``\u0000``) in any string or key → 400 ``invalid_character``
  (PostgreSQL refuses it in text and jsonb);
- ids are validated by the models (UUID patterns), so a malformed id is a 422, never a query.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib.errors import BadRequest, PayloadTooLarge, ValidationFailed

M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_INT = 2**63 - 1


def pointer(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as a JSON pointer (``/graph/nodes/3/type``)."""
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in loc)


def validation_details(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[dict[str, str]]:
    return [{"path": pointer(prefix + tuple(err["loc"])), "issue": err["msg"]} for err in exc.errors()]


def json_body(raw: bytes | None, *, max_bytes: int = MAX_BODY_BYTES, required: bool = True) -> Any:
    """Parse a JSON body; 400 when malformed, 413 when too large."""
    if raw is None or raw == b"":
        if required:
            raise BadRequest("A JSON body is required.", code="body_required")
        return None
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"Body exceeds {max_bytes} bytes.")
    return decode_json(raw)


class _BadNumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _BadNumber(f"{name} is not a JSON number this API accepts.")


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _BadNumber(f"The number {text[:40]} is out of range.")
    return value


def _int(text: str) -> int:
    if len(text) > 20 or abs(int(text)) > MAX_INT:
        raise _BadNumber(f"The integer {text[:40]}… is out of range." if len(text) > 40
                         else f"The integer {text} is out of range.")
    return int(text)


def decode_json(raw: bytes | str) -> Any:
    """Parse JSON under the policy above; :class:`BadRequest` with a stable code otherwise."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_float=_float, parse_int=_int)
    except _BadNumber as exc:
        raise BadRequest(str(exc), code="invalid_number") from None
    except RecursionError:
        raise BadRequest(f"JSON nests deeper than {MAX_DEPTH} levels.", code="too_deep") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body is not valid JSON.", code="malformed_json") from None
    check_value(value)
    return value


def check_value(value: Any) -> None:
    """Depth and NUL checks over a parsed value (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise BadRequest("Text may not contain the NUL character (\\u0000).", code="invalid_character")
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise BadRequest(f"JSON nests deeper than {MAX_DEPTH} levels.", code="too_deep")
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` against ``model``; 422 with JSON-pointer details when invalid."""
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.", code="malformed_body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("The request is invalid.", details=validation_details(exc)) from None


_QUERY_CODES = {"limit": "invalid_limit", "cursor": "invalid_cursor"}


def parse_query(model: type[M], query: dict[str, str]) -> M:
    """Validate the query parameters a route declares; 400 naming each bad one.

    The code is ``invalid_limit`` / ``invalid_cursor`` for paging parameters and
    ``invalid_filter`` for the rest (the first problem decides it).
    """
    for name, value in query.items():
        if "\x00" in name or "\x00" in value:
            raise BadRequest("Query parameters may not contain the NUL character.", code="invalid_character")
    try:
        return model.model_validate(query)
    except ValidationError as exc:
        errors = exc.errors()
        first = str(errors[0]["loc"][0]) if errors and errors[0]["loc"] else ""
        details = [{"path": pointer(("query",) + tuple(e["loc"])), "issue": e["msg"]} for e in errors]
        raise BadRequest(f"The query parameter {first!r} is invalid.", code=_QUERY_CODES.get(first, "invalid_filter"),
                         details=details) from None
