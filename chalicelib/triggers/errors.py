"""Errors raised by the trigger domain (signatures, schedules, admission).

Each one subclasses a platform error so the HTTP edge maps it once; the
``code`` is stable and is also what delivery history records as the outcome.
"""

from __future__ import annotations

from chalicelib.errors import RateLimited, Unauthenticated, ValidationFailed


class SignatureRejected(Unauthenticated):
    """A webhook delivery failed signature verification."""

    code = "signature_rejected"
    #: The verification failure reason this error stands for.
    reason = "invalid"


class BadSignature(SignatureRejected):
    """No presented signature matches the body under any configured secret."""

    code, reason, default_message = "bad_signature", "bad_signature", "Webhook signature does not match."


class StaleTimestamp(SignatureRejected):
    """The signed timestamp lies outside the tolerance window (replay or clock skew)."""

    code, reason, default_message = (
        "stale_timestamp",
        "stale_timestamp",
        "Webhook timestamp is outside the tolerance window.",
    )


class InvalidSignatureHeaders(SignatureRejected):
    """Signature headers are missing or malformed."""

    code, reason, default_message = (
        "invalid_signature_headers",
        "invalid",
        "Webhook signature headers are missing or malformed.",
    )


class UnknownSignatureScheme(ValidationFailed):
    """The configured signature scheme is not one Stepline knows."""

    code = "unknown_signature_scheme"


class InvalidWebhookSecret(ValidationFailed):
    """A webhook signing secret is missing or not in the scheme's format."""

    code = "invalid_webhook_secret"


class InvalidCorrelationExpression(ValidationFailed):
    """A correlation-key expression is malformed."""

    code = "invalid_correlation_expression"


class InvalidSchedule(ValidationFailed):
    """A cron expression or its timezone is invalid."""

    code = "invalid_schedule"


class InvalidTriggerPolicy(ValidationFailed):
    """A rate-limit or backpressure policy has out-of-range values."""

    code = "invalid_trigger_policy"


class RunQuotaExceeded(RateLimited):
    """The tenant started as many runs in the last hour as its quota allows."""

    code, default_message = "run_quota_exceeded", "Hourly run quota exceeded."


class ConcurrencyLimitReached(RateLimited):
    """The tenant runs as many runs at once as it may (or runs wait for a slot): a direct start is refused."""

    code, default_message = "concurrency_limit_reached", "The tenant's concurrent-runs limit is reached."
