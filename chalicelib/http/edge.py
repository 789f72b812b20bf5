"""The outermost HTTP layer: a request id for every request, one error shape for every answer.

Registered as Chalice ``http`` middleware, so it also wraps the answers that
Chalice gives before any view runs (405 for a method the route lacks, 415 for
a body type it does not read) and turns them into the API error shape. Every
response carries ``X-Request-Id``; error bodies carry the same id in
``request_id``. API Gateway's request id is used when there is one; otherwise
(the local stack, tests) one is made here, so logs and audit entries always
have it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.errors import SteplineError
from chalicelib.http.responses import error_response

REQUEST_ID_HEADER = "X-Request-Id"

# Chalice's own error answers (``{"Code": ..., "Message": ...}``) → our codes and messages.
_CHALICE_ERRORS: dict[str, tuple[str, str]] = {
    "MethodNotAllowedError": ("method_not_allowed", "This route does not answer that method."),
    "UnsupportedMediaType": ("unsupported_media_type", "Send the body as application/json."),
    "BadRequest": ("bad_request", "Malformed request."),
    "BadRequestError": ("bad_request", "Malformed request."),
    "InternalServerError": ("internal_error", "Internal error; quote the request id when reporting it."),
}


class EdgeError(SteplineError):
    """An answer given at the edge, before a view runs."""


def request_id_of(request: Request) -> str:
    """The request's id (API Gateway's, or one made now and kept on the request)."""
    context = request.context if isinstance(request.context, dict) else {}
    request_id = context.get("requestId")
    if not request_id:
        request_id = uuid.uuid4().hex
        context["requestId"] = request_id
        request.context = context
    return str(request_id)


def _chalice_error(response: Response) -> tuple[str, str] | None:
    body = response.body
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        return _CHALICE_ERRORS.get(str(body["Code"]), ("internal_error", "Internal error."))
    return None


def normalise(response: Response, request_id: str) -> Response:
    """Chalice's error answers in our shape; the request id on every answer."""
    known = _chalice_error(response)
    if known is not None:
        code, message = known
        error = EdgeError(message, code=code)
        error.status = response.status_code
        headers = {k: v for k, v in (response.headers or {}).items() if k.lower() in ("allow",)}
        response = error_response(error, request_id)
        response.headers.update(headers)
    response.headers = {**(response.headers or {}), REQUEST_ID_HEADER: request_id}
    return response


def middleware(event: Request, get_response: Any) -> Response:
    request_id = request_id_of(event)
    return normalise(get_response(event), request_id)


def not_found_body(request_id: str) -> dict[str, Any]:
    """The answer to a path no route serves (used where no Lambda runs: the gateway)."""
    return EdgeError("No route serves this path.", code="route_not_found").to_body(request_id)
