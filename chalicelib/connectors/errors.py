"""Errors raised by the connector core, each with a stable code.

Upstream failures carry the masked ``trace`` of the call that failed (when a
request was built), so ``POST /actions/{id}/test`` can show what went wrong
without ever exposing a secret.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import (
    DependencyUnavailable,
    NotFound,
    RateLimited,
    SteplineError,
    ValidationFailed,
)


class InvalidConnector(ValidationFailed):
    """A connector definition does not follow the connector format."""

    code = "invalid_connector"


class ActionNotFound(NotFound):
    """The connector has no action with this key."""

    code = "action_not_found"


class InvalidActionInput(ValidationFailed):
    """Input, settings or credentials do not match the action's schemas."""

    code = "invalid_action_input"


class UpstreamError(SteplineError):
    """Base of every failure reported by, or on the way to, a remote API."""

    status, code, default_message = 502, "upstream_error", "The remote service failed."
    trace: Any = None
    upstream_status: int | None = None
    vendor_code: str | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        upstream_status: int | None = None,
        vendor_code: str | None = None,
        retryable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.upstream_status = upstream_status
        self.vendor_code = vendor_code
        if retryable is not None:
            self.retryable = retryable


class UpstreamRejected(UpstreamError):
    """The remote service refused the request (a 4xx other than 401/403/408/429)."""

    status, code, default_message = 424, "upstream_rejected", "The remote service rejected the request."


class UpstreamUnauthorized(UpstreamError):
    """The remote service refused the connection's credentials (401/403 or a declared auth error)."""

    status, code, default_message = (
        424,
        "upstream_unauthorized",
        "The remote service refused the credentials.",
    )


class UpstreamActionFailed(UpstreamError):
    """The remote service answered 2xx but its body reports a failure (e.g. Slack ``ok: false``)."""

    status, code, default_message = 424, "upstream_action_failed", "The remote service reported a failure."


class UpstreamRedirected(UpstreamError):
    """The remote service answered with a redirect, which is never followed (credentials could leak)."""

    status, code, default_message = 502, "upstream_redirected", "The remote service redirected the request."


class UpstreamRateLimited(RateLimited, UpstreamError):
    """The remote service answered 429; retry after ``retry_after`` seconds."""

    code, default_message = "upstream_rate_limited", "The remote service is rate limiting requests."
    retry_after_seconds: float | None = (
        None  # the exact wait (``retry_after`` is rounded up to whole seconds)
    )


class UpstreamUnavailable(DependencyUnavailable, UpstreamError):
    """The remote service answered 5xx."""

    code, default_message = "upstream_unavailable", "The remote service is unavailable."


class UpstreamTimeout(DependencyUnavailable, UpstreamError):
    """The remote service did not answer in time (connect or read timeout, or 408)."""

    status, code, default_message = 504, "upstream_timeout", "The remote service did not answer in time."

    def __init__(self, message: str | None = None, *, phase: str = "read", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.phase = phase


class UpstreamConnectionFailed(DependencyUnavailable, UpstreamError):
    """The connection to the remote service failed or broke."""

    code, default_message = "upstream_connection_failed", "Could not reach the remote service."

    def __init__(self, message: str | None = None, *, request_sent: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.request_sent = request_sent


class ResponseTooLarge(UpstreamError):
    """The remote response exceeded the size limit; reading stopped at the limit."""

    code, default_message = "upstream_response_too_large", "The remote response is too large."


class InvalidActionOutput(UpstreamError):
    """The remote response does not match the action's output schema."""

    code, default_message = "invalid_action_output", "The remote response does not match the output schema."


class InvalidUpstreamUrl(ValidationFailed):
    """The rendered URL is not an absolute http(s) URL, or its path escapes the base URL."""

    code = "invalid_upstream_url"
