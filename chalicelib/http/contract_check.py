"""Holding every answer to its route's declared contract (enabled in tests, off in production).

With ``STEPLINE_CHECK_CONTRACT=1`` each response is checked against what the
route declares: its status must be documented, and a JSON body must validate
against the status's model (models forbid undeclared fields). A mismatch is
answered as a 500 and logged, so any test that touches the route fails and the
OpenAPI document (built from the same declarations) cannot drift from what
the API really answers.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from chalice import Response
from pydantic import BaseModel, TypeAdapter, ValidationError

from chalicelib.errors import SteplineError
from chalicelib.http.error_shape import Error
from chalicelib.http.responses import error_response
from chalicelib.observability import logger

ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 414, 415, 422, 429, 500, 503)


class ContractViolation(SteplineError):
    """An answer that the route's declared contract does not describe (a bug of ours)."""

    code = "contract_violation"


def enabled() -> bool:
    return os.environ.get("STEPLINE_CHECK_CONTRACT", "") == "1"


@functools.cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def problems(route: Any, status: int, body: str | bytes | None, content_type: str) -> list[str]:
    """What is wrong with an answer, per the route's declaration (empty: nothing)."""
    if status == route.status:
        model, media = route.response, route.media_type
    elif status in route.answers:
        model, media = route.answers[status].model, route.answers[status].media_type
    elif status in ERROR_STATUSES:
        model, media = Error, "application/json"
    else:
        return [f"status {status} is not documented"]
    if model is None:
        return []
    if not content_type.startswith(media):
        return [f"content type {content_type!r} is not {media!r}"]
    if media != "application/json":
        return []
    try:
        _adapter(model).validate_json(body or b"")
    except ValidationError as exc:
        return [f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:10]]
    return []


def checked(route: Any, response: Response, request_id: str | None) -> Response:
    if not enabled():
        return response
    content_type = str((response.headers or {}).get("Content-Type", "application/json"))
    found = problems(route, response.status_code, response.body, content_type)
    if not found:
        return response
    logger.error("contract violation", extra={"route": f"{route.methods} {route.path}",
                                              "status": response.status_code, "problems": found})
    error = ContractViolation(f"The answer breaks the declared contract: {'; '.join(found)}")
    return error_response(error, request_id)


def is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)
