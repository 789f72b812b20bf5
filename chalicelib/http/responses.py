"""JSON responses and the single mapping from errors to the API error shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalice import Response

from chalicelib.errors import SteplineError
from chalicelib.json_codec import dumps
from chalicelib.observability import logger

JSON_HEADERS = {"Content-Type": "application/json"}


def json_response(body: Any, status: int = 200, headers: Mapping[str, str | list[str]] | None = None) -> Response:
    return Response(body=dumps(body) if body is not None else "", status_code=status,
                    headers={**JSON_HEADERS, **(headers or {})})


def no_content() -> Response:
    return Response(body="", status_code=204, headers={})


def error_response(error: SteplineError, request_id: str | None) -> Response:
    return json_response(error.to_body(request_id), status=error.status, headers=error.headers)


def unexpected_error_response(exc: BaseException, request_id: str | None) -> Response:
    """A fault of ours: log it with its traceback, tell the client only the request id."""
    logger.exception("unhandled error", extra={"error_type": type(exc).__name__})
    return error_response(SteplineError("Internal error; quote the request id when reporting it."),
                          request_id)
