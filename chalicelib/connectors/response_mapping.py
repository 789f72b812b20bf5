"""Read a vendor's response: decode it, map failures to errors, shape the output.

Status classes map to errors with the right ``retryable``: 408/429/5xx and
rate-limit signals are retryable, other 4xx are not. A declarative error rule
reads the vendor's own message and code (``{"error": {"message"}}`` for Stripe,
``ok: false`` at HTTP 200 for Slack) and may flag auth failures or retryable
codes that arrive inside a 2xx.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import expressions
from chalicelib.connectors.definition import ActionDefinition, ErrorRule
from chalicelib.connectors.errors import (
    InvalidActionOutput,
    UpstreamActionFailed,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRedirected,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnauthorized,
    UpstreamUnavailable,
)
from chalicelib.connectors.http_transport import RawResponse
from chalicelib.connectors.schema_errors import validate_against

_MAX_VENDOR_TEXT = 300
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class DecodedResponse:
    status: int
    headers: Mapping[str, str]
    body: Any


def decode(raw: RawResponse) -> DecodedResponse:
    """JSON when it parses as JSON, text otherwise, ``None`` when empty."""
    body: Any = None
    if raw.body:
        text = raw.body.decode("utf-8", errors="replace")
        content_type = raw.headers.get("content-type", "")
        looks_json = "json" in content_type or text.lstrip()[:1] in ("{", "[")
        body = text
        if looks_json:
            try:
                body = json.loads(text)
            except ValueError:
                body = text
    return DecodedResponse(raw.status, raw.headers, body)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds (integer or decimal) or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _rate_limit_wait(response: DecodedResponse) -> float | None:
    """Seconds until the vendor accepts calls again, or ``None`` when it is not rate limiting."""
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    exhausted = response.headers.get("x-ratelimit-remaining") == "0"
    if response.status == 429 or (response.status == 403 and exhausted):
        if retry_after is not None:
            return retry_after
        reset = response.headers.get("x-ratelimit-reset", "")
        if reset.isdigit():
            return min(max(int(reset) - time.time(), 0.0), MAX_RETRY_AFTER_SECONDS)
        return 1.0
    return None


def _render_text(template: str | None, body: Any) -> str | None:
    if not template or not isinstance(body, Mapping):
        return None
    try:
        value = expressions.render(template, body)
    except expressions.ExpressionError:
        return None
    if value is None or value == "":
        return None
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= _MAX_VENDOR_TEXT else text[: _MAX_VENDOR_TEXT - 1] + "…"


def _matches(rule: ErrorRule, body: Any) -> bool:
    if rule.when is None or not isinstance(body, Mapping):
        return False
    value = expressions.lookup(body, rule.when.path)
    if rule.when.has_equals:
        return value is not expressions.MISSING and value == rule.when.equals
    present = value is not expressions.MISSING
    return present if rule.when.exists else not present


def error_for(action: ActionDefinition, response: DecodedResponse) -> UpstreamError | None:
    """The error this response represents, or ``None`` for a success."""
    status = response.status
    rule = action.error_rule or ErrorRule()
    vendor_message = _render_text(rule.message, response.body)
    vendor_code = _render_text(rule.code, response.body)
    if 200 <= status < 300:
        if not _matches(rule, response.body):
            return None
        kind: type[UpstreamError] = UpstreamActionFailed
        if vendor_code in rule.auth_error_codes:
            kind = UpstreamUnauthorized
        return kind(
            f"The remote service reported a failure: {vendor_message or vendor_code or 'unknown error'}.",
            upstream_status=status,
            vendor_code=vendor_code,
            retryable=vendor_code in rule.retryable_codes,
        )
    detail = f": {vendor_message}" if vendor_message else "."
    common: dict[str, Any] = {"upstream_status": status, "vendor_code": vendor_code}
    wait = _rate_limit_wait(response)
    if wait is not None:
        error = UpstreamRateLimited(
            f"The remote service is rate limiting (HTTP {status}){detail}",
            retry_after=math.ceil(wait) or 1,
            **common,
        )
        error.retry_after_seconds = wait
        return error
    if 300 <= status < 400:
        return UpstreamRedirected(
            f"The remote service redirected (HTTP {status}); redirects are not followed.", **common
        )
    if status in (401, 403) or (vendor_code is not None and vendor_code in rule.auth_error_codes):
        return UpstreamUnauthorized(
            f"The remote service refused the credentials (HTTP {status}){detail}", **common
        )
    if status == 408:
        return UpstreamTimeout(
            f"The remote service timed out the request (HTTP 408){detail}", phase="response", **common
        )
    if 400 <= status < 500:
        return UpstreamRejected(f"The remote service rejected the request (HTTP {status}){detail}", **common)
    if status >= 500:
        return UpstreamUnavailable(f"The remote service failed (HTTP {status}){detail}", **common)
    return UpstreamError(f"Unexpected HTTP status {status}.", **common)


def output_for(action: ActionDefinition, response: DecodedResponse) -> Any:
    """The action's output (the body, or its output template), checked against the output schema."""
    if action.output_template is not None:
        view = {"status": response.status, "headers": dict(response.headers), "body": response.body}
        output = expressions.render(action.output_template, view)
    else:
        output = response.body
    details = validate_against(action.output_schema, output, base="/output")
    if details:
        raise InvalidActionOutput(
            "The remote response does not match the action's output schema.",
            details=details,
            upstream_status=response.status,
        )
    return output
