"""Errors a step can end with.

The runner maps them to a step outcome once: ``retryable`` says whether another
attempt may help, ``code`` is stable and stored with the failed attempt. They
subclass the platform hierarchy so the HTTP edge (``POST /actions/{id}/test``,
graph validation) maps them like any other error.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import SteplineError, ValidationFailed


class StepFailed(SteplineError):
    """A step attempt failed; another attempt may succeed."""

    status, code, default_message = 502, "step_failed", "The step failed."
    retryable = True

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        info: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        # The remote's own hint (HTTP Retry-After), honoured by RetryPolicy.delay_for.
        self.retry_after = retry_after
        # Structured facts stored with the failed attempt (HTTP status, excerpt); never secrets.
        self.info = info or {}


class NonRetryableStepError(StepFailed):
    """A step attempt failed in a way another attempt cannot fix."""

    code, default_message = "step_failed_permanently", "The step failed and will not be retried."
    retryable = False


class StepTimeout(StepFailed):
    """A step attempt ran out of time (its own limit or the remote's)."""

    status, code, default_message = 504, "step_timeout", "The step timed out."
    retryable = True


class ConfigInvalid(NonRetryableStepError, ValidationFailed):
    """A node's configuration is invalid (at save time or once rendered)."""

    status, code, default_message = 422, "config_invalid", "The step configuration is invalid."
    retryable = False


class UnknownStepType(ConfigInvalid):
    """No step handler is registered for this node type."""

    code, default_message = "unknown_step_type", "Unknown step type."
