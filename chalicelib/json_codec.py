"""JSON in and out: the one policy for JSON a client sends, and the one serialisation of answers and records.

Decoding (API bodies and webhook bodies alike) refuses, with a 400 and a stable code,
what would otherwise reach the database as a 500:

- nesting deeper than :data:`MAX_DEPTH` → ``too_deep``;
- ``NaN``, ``Infinity`` and numbers beyond a double (``1e400``) → ``invalid_number``;
  integers beyond 64 bits → ``invalid_number`` (they fit no column and lose
  precision in JavaScript anyway);
- the NUL character (``\\u0000``) in any string or key → ``invalid_character``
  (PostgreSQL refuses it in text and jsonb).

:func:`dumps` writes datetimes as UTC ``…Z``, UUIDs and decimals as JSON values.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from typing import Any

from chalicelib.errors import BadRequest

MAX_DEPTH = 64
MAX_INT = 2**63 - 1


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


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(body: Any) -> str:
    return json.dumps(body, default=_default, separators=(",", ":"))
