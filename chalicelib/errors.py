"""One error hierarchy for the whole platform.

Every error carries a stable ``code``, an HTTP ``status`` and whether it is
``retryable``. The HTTP edge maps them to the API error shape once; the step
runner maps them to a step outcome. Nobody matches on message strings.
"""

from __future__ import annotations

from typing import Any


class SteplineError(Exception):
    """Base of every error the platform raises on purpose."""

    status: int = 500
    code: str = "internal_error"
    retryable: bool = False
    default_message: str = "Internal error."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details or []
        self.headers = headers or {}
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def to_body(self, request_id: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        if request_id:
            error["request_id"] = request_id
        return {"error": error}


class BadRequest(SteplineError):
    """The request is malformed (not JSON, wrong shape)."""

    status, code, default_message = 400, "bad_request", "Malformed request."


class Unauthenticated(SteplineError):
    """No valid credentials were presented."""

    status, code, default_message = 401, "unauthenticated", "Authentication required."


class Forbidden(SteplineError):
    """The caller is authenticated but may not do this."""

    status, code, default_message = 403, "forbidden", "You may not do this."


class NotFound(SteplineError):
    """No such resource in the caller's scope (also for another tenant's id)."""

    status, code, default_message = 404, "not_found", "Not found."


class Conflict(SteplineError):
    """The request conflicts with the resource's state."""

    status, code, default_message = 409, "conflict", "Conflict."


class PayloadTooLarge(SteplineError):
    """The request body exceeds the allowed size."""

    status, code, default_message = 413, "payload_too_large", "Payload too large."


class ValidationFailed(SteplineError):
    """The request is well-formed but its content is invalid."""

    status, code, default_message = 422, "validation_failed", "Validation failed."


class RateLimited(SteplineError):
    """Too many requests; retry after ``retry_after`` seconds."""

    status, code, default_message = 429, "rate_limited", "Too many requests."
    retryable = True

    def __init__(self, message: str | None = None, *, retry_after: int = 1, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))
        self.headers.setdefault("Retry-After", str(self.retry_after))


class DependencyUnavailable(SteplineError):
    """A dependency (database, queue, KMS, remote API) could not be reached."""

    status, code, default_message = 503, "dependency_unavailable", "A dependency is unavailable."
    retryable = True


class ConfigurationError(SteplineError):
    """The platform is misconfigured (raised at start-up, never for bad input)."""

    status, code, default_message = 500, "configuration_error", "Invalid configuration."
