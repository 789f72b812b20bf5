"""Reading vendor responses: Retry-After, status classes, error rules, output shaping."""

from __future__ import annotations

import email.utils
import time

import pytest

from chalicelib.connectors.catalog import get_builtin
from chalicelib.connectors.errors import (
    UpstreamActionFailed,
    UpstreamRateLimited,
    UpstreamRedirected,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnauthorized,
    UpstreamUnavailable,
)
from chalicelib.connectors.response_mapping import decode, error_for, output_for, parse_retry_after
from tests.fakes.vendors.scripted_transport import raw

STRIPE = get_builtin("stripe").action("create_customer")


def test_retry_after_accepts_seconds_decimals_and_http_dates():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("2.0") == 2.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("-5") == 0.0
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= parse_retry_after(date, now=now) <= 31


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (301, UpstreamRedirected, False),
        (400, UpstreamRejected, False),
        (401, UpstreamUnauthorized, False),
        (403, UpstreamUnauthorized, False),
        (404, UpstreamRejected, False),
        (408, UpstreamTimeout, True),
        (409, UpstreamRejected, False),
        (422, UpstreamRejected, False),
        (429, UpstreamRateLimited, True),
        (500, UpstreamUnavailable, True),
        (503, UpstreamUnavailable, True),
    ],
)
def test_status_classes_map_to_errors_with_the_right_retryable_flag(status, kind, retryable):
    error = error_for(STRIPE, decode(raw(status, {"error": {"type": "api_error", "message": "nope"}})))
    assert type(error) is kind and error.retryable is retryable and error.upstream_status == status


def test_stripe_errors_surface_their_message_and_type():
    error = error_for(
        STRIPE, decode(raw(402, {"error": {"type": "card_error", "message": "Your card was declined."}}))
    )
    assert error.vendor_code == "card_error" and "Your card was declined." in error.message


def test_github_secondary_rate_limit_403_with_no_remaining_calls_is_rate_limiting():
    action = get_builtin("github").action("get_repository")
    reset = str(int(time.time()) + 42)
    error = error_for(
        action,
        decode(
            raw(
                403,
                {"message": "API rate limit exceeded"},
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
            )
        ),
    )
    assert isinstance(error, UpstreamRateLimited) and 40 <= error.retry_after <= 43


def test_a_2xx_is_a_success_unless_the_error_rule_matches():
    post = get_builtin("slack").action("post_message")
    assert error_for(post, decode(raw(200, {"ok": True, "channel": "C", "ts": "1"}))) is None
    failed = error_for(post, decode(raw(200, {"ok": False, "error": "ratelimited"})))
    assert isinstance(failed, UpstreamActionFailed) and failed.retryable is True


def test_output_templates_read_status_and_headers():
    send = get_builtin("sendgrid").action("send_email")
    output = output_for(send, decode(raw(202, None, {"X-Message-Id": "abc123"})))
    assert output == {"accepted": True, "status": 202, "message_id": "abc123"}


def test_non_json_bodies_decode_to_text_and_empty_ones_to_none():
    assert decode(raw(200, "plain words", {"Content-Type": "text/plain"})).body == "plain words"
    assert decode(raw(200, "{broken", {"Content-Type": "application/json"})).body == "{broken"
    assert decode(raw(204)).body is None
