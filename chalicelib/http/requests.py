"""Reading request bodies and query parameters into validated pydantic models.

Bodies are decoded under the one JSON policy of ``chalicelib.json_codec``
(depth, numbers, NUL characters), so no bad input reaches the database as a
500; ids are validated by the models (UUID patterns), so a malformed id is a
422, never a query.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from chalicelib.errors import BadRequest, PayloadTooLarge, ValidationFailed
from chalicelib.json_codec import decode_json

MAX_BODY_BYTES = 1_000_000


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


def parse[M: BaseModel](model: type[M], data: Any) -> M:
    """Validate ``data`` against ``model``; 422 with JSON-pointer details when invalid."""
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.", code="malformed_body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("The request is invalid.", details=validation_details(exc)) from None


_QUERY_CODES = {"limit": "invalid_limit", "cursor": "invalid_cursor"}


def parse_query[M: BaseModel](model: type[M], query: dict[str, str]) -> M:
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
