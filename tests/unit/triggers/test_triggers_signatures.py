"""Webhook signature verification, checked against signatures computed here
exactly as each sender documents them (never through the code under test)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import Unauthenticated
from chalicelib.triggers import signing
from chalicelib.triggers.errors import (
    BadSignature,
    InvalidSignatureHeaders,
    InvalidWebhookSecret,
    StaleTimestamp,
    UnknownSignatureScheme,
)
from chalicelib.triggers.signatures import (
    FailureReason,
    SignatureScheme,
    generate_secret,
    parse_standard_secret,
    validate_secret,
    verify_signature,
)

T0 = 1_700_000_000
NOW = datetime.fromtimestamp(T0, UTC)
BODY = b'{"id":"evt_1","amount":1200,"note":"caf\xc3\xa9"}'


# --- Each sender's documented signing, written out independently -----------


def standard_headers(secret: str, body: bytes, ts: int, delivery_id: str) -> dict[str, str]:
    # standardwebhooks.com: key = base64-decoded part after "whsec_";
    # signed content "{msg_id}.{timestamp}.{payload}"; header "v1,<base64>".
    key = base64.b64decode(secret.split("_", 1)[1])
    content = f"{delivery_id}.{ts}.{body.decode()}".encode()
    sig = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return {"webhook-id": delivery_id, "webhook-timestamp": str(ts), "webhook-signature": f"v1,{sig}"}


def github_headers(secret: str, body: bytes, ts: int, delivery_id: str) -> dict[str, str]:
    # GitHub: "sha256=" + hex HMAC-SHA256 of the payload with the webhook secret.
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Delivery": delivery_id}


def stripe_headers(secret: str, body: bytes, ts: int, delivery_id: str) -> dict[str, str]:
    # Stripe: signed_payload = f"{t}.{payload}", HMAC-SHA256 keyed by the endpoint secret.
    signed_payload = f"{ts}.{body.decode()}"
    digest = hmac.new(secret.encode(), signed_payload.encode(), hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={ts},v1={digest}"}


def shopify_headers(secret: str, body: bytes, ts: int, delivery_id: str) -> dict[str, str]:
    # Shopify: base64 of HMAC-SHA256 over the raw body with the app's client secret.
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"X-Shopify-Hmac-Sha256": digest, "X-Shopify-Webhook-Id": delivery_id}


def slack_headers(secret: str, body: bytes, ts: int, delivery_id: str) -> dict[str, str]:
    # Slack: basestring "v0:{timestamp}:{body}", "v0=" + hex HMAC-SHA256 with the signing secret.
    basestring = f"v0:{ts}:{body.decode()}"
    digest = hmac.new(secret.encode(), basestring.encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": str(ts)}


@dataclass(frozen=True)
class Vendor:
    scheme: SignatureScheme
    old_secret: str
    new_secret: str
    headers: Callable[[str, bytes, int, str], dict[str, str]]
    signs_timestamp: bool
    sends_delivery_id: bool
    malformed: tuple[dict[str, str | None], ...]  # header overrides (None removes)


VENDORS = [
    Vendor(
        SignatureScheme.STANDARD_WEBHOOKS,
        "whsec_" + base64.b64encode(b"o" * 32).decode(),
        "whsec_" + base64.b64encode(b"n" * 24).decode(),
        standard_headers,
        True,
        True,
        (
            {"webhook-signature": None},
            {"webhook-id": None},
            {"webhook-timestamp": None},
            {"webhook-timestamp": "12.5"},
            {"webhook-timestamp": "-5"},
            {"webhook-signature": "v1,***not-base64***"},
            {"webhook-signature": "v2,AAAA"},
            {"webhook-signature": ""},
        ),
    ),
    Vendor(
        SignatureScheme.GITHUB,
        "old github secret",
        "new github secret",
        github_headers,
        False,
        True,
        (
            {"X-Hub-Signature-256": None},
            {"X-Hub-Signature-256": "sha1=" + "a" * 40},
            {"X-Hub-Signature-256": "sha256=xyz"},
            {"X-Hub-Signature-256": "a" * 64},
        ),
    ),
    Vendor(
        SignatureScheme.STRIPE,
        "whsec_old_stripe_secret",
        "whsec_new_stripe_secret",
        stripe_headers,
        True,
        False,
        (
            {"Stripe-Signature": None},
            {"Stripe-Signature": "v1=" + "a" * 64},
            {"Stripe-Signature": f"t={T0}"},
            {"Stripe-Signature": f"t=abc,v1={'a' * 64}"},
            {"Stripe-Signature": f"t={T0},t={T0},v1={'a' * 64}"},
            {"Stripe-Signature": f"t={T0},v0={'a' * 64}"},
        ),
    ),
    Vendor(
        SignatureScheme.SHOPIFY,
        "shpss_old",
        "shpss_new",
        shopify_headers,
        False,
        True,
        (
            {"X-Shopify-Hmac-Sha256": None},
            {"X-Shopify-Hmac-Sha256": "not base64!"},
            {"X-Shopify-Hmac-Sha256": base64.b64encode(b"short").decode()},
        ),
    ),
    Vendor(
        SignatureScheme.SLACK,
        "8f742231b10e8888abcd99old",
        "8f742231b10e8888abcd99new",
        slack_headers,
        True,
        False,
        (
            {"X-Slack-Signature": None},
            {"X-Slack-Request-Timestamp": None},
            {"X-Slack-Request-Timestamp": "soon"},
            {"X-Slack-Signature": "v1=" + "a" * 64},
            {"X-Slack-Signature": "v0=nothex"},
        ),
    ),
]
TIMESTAMPED = [v for v in VENDORS if v.signs_timestamp]
by_scheme = pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.scheme.value)


def deliver(vendor: Vendor, *, secret: str | None = None, body: bytes = BODY, ts: int = T0) -> dict[str, str]:
    return vendor.headers(secret or vendor.new_secret, body, ts, "dlv_123")


def verify(vendor: Vendor, headers, body=BODY, secrets=None, now=NOW, **kw):
    secrets = secrets if secrets is not None else [vendor.new_secret]
    return verify_signature(vendor.scheme, headers, body, secrets, now=now, **kw)


@by_scheme
def test_valid_delivery_is_accepted_with_its_delivery_id_and_timestamp(vendor: Vendor) -> None:
    # GIVEN a delivery signed as the sender documents it
    headers = deliver(vendor)
    # WHEN it is verified
    result = verify(vendor, headers)
    # THEN it passes, reporting the id and signed time the scheme carries
    assert result.ok and result.failure is None
    assert result.delivery_id == ("dlv_123" if vendor.sends_delivery_id else None)
    assert result.timestamp == (T0 if vendor.signs_timestamp else None)
    assert result.raise_for_failure() is result


@by_scheme
def test_header_names_are_case_insensitive(vendor: Vendor) -> None:
    headers = deliver(vendor)
    assert verify(vendor, {k.upper(): v for k, v in headers.items()}).ok
    assert verify(vendor, {k.lower(): v for k, v in headers.items()}).ok


@by_scheme
def test_wrong_secret_is_a_bad_signature(vendor: Vendor) -> None:
    headers = deliver(vendor, secret=vendor.old_secret)
    result = verify(vendor, headers, secrets=[vendor.new_secret])
    assert not result.ok and result.failure is FailureReason.BAD_SIGNATURE


@by_scheme
def test_tampered_body_is_a_bad_signature(vendor: Vendor) -> None:
    headers = deliver(vendor)
    for tampered in (BODY + b" ", BODY.replace(b"1200", b"9200"), b"", BODY[:-1]):
        result = verify(vendor, headers, body=tampered)
        assert result.failure is FailureReason.BAD_SIGNATURE, tampered


SIGNATURE_HEADER = {
    SignatureScheme.STANDARD_WEBHOOKS: "webhook-signature",
    SignatureScheme.GITHUB: "X-Hub-Signature-256",
    SignatureScheme.STRIPE: "Stripe-Signature",
    SignatureScheme.SHOPIFY: "X-Shopify-Hmac-Sha256",
    SignatureScheme.SLACK: "X-Slack-Signature",
}


@by_scheme
def test_a_signature_altered_in_its_last_bytes_is_refused(vendor: Vendor) -> None:
    # The whole digest is compared, not a prefix: change only its tail.
    headers = dict(deliver(vendor))
    name = SIGNATURE_HEADER[vendor.scheme]
    value = headers[name]
    if vendor.scheme in (SignatureScheme.STANDARD_WEBHOOKS, SignatureScheme.SHOPIFY):
        prefix, _, encoded = value.rpartition(",")
        digest = bytearray(base64.b64decode(encoded))
        digest[-1] ^= 0x01
        headers[name] = (prefix + "," if prefix else "") + base64.b64encode(bytes(digest)).decode()
    else:
        headers[name] = value[:-1] + ("0" if value[-1] != "0" else "1")
    assert verify(vendor, headers).failure is FailureReason.BAD_SIGNATURE


@by_scheme
def test_rotation_accepts_old_and_new_while_both_are_configured(vendor: Vendor) -> None:
    both = [vendor.old_secret, vendor.new_secret]
    # GIVEN an overlap window where both secrets are configured
    assert verify(vendor, deliver(vendor, secret=vendor.old_secret), secrets=both).ok
    assert verify(vendor, deliver(vendor, secret=vendor.new_secret), secrets=both).ok
    # WHEN the overlap ends THEN only the new secret verifies
    stale = verify(vendor, deliver(vendor, secret=vendor.old_secret), secrets=[vendor.new_secret])
    assert stale.failure is FailureReason.BAD_SIGNATURE


@by_scheme
def test_malformed_or_missing_headers_are_invalid(vendor: Vendor) -> None:
    for override in vendor.malformed:
        headers = dict(deliver(vendor))
        for name, value in override.items():
            if value is None:
                headers.pop(name)
            else:
                headers[name] = value
        result = verify(vendor, headers)
        assert result.failure is FailureReason.INVALID, override
        assert result.detail
    assert verify(vendor, {}).failure is FailureReason.INVALID


@pytest.mark.parametrize("vendor", TIMESTAMPED, ids=lambda v: v.scheme.value)
@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(0, True), (-300, True), (300, True), (-301, False), (301, False), (-86_400, False), (86_400, False)],
)
def test_timestamp_window_is_inclusive_at_plus_minus_tolerance(vendor: Vendor, offset: int, accepted: bool) -> None:
    # GIVEN a genuine delivery signed `offset` seconds from the server clock
    headers = deliver(vendor, ts=T0 + offset)
    # WHEN verified with the default 300 s tolerance
    result = verify(vendor, headers)
    # THEN exactly ±300 passes and one second more is stale (too old or too far ahead)
    assert result.ok is accepted
    if not accepted:
        assert result.failure is FailureReason.STALE_TIMESTAMP
        assert result.timestamp == T0 + offset


@pytest.mark.parametrize("vendor", TIMESTAMPED, ids=lambda v: v.scheme.value)
def test_custom_tolerance_and_sub_second_clock(vendor: Vendor) -> None:
    headers = deliver(vendor, ts=T0 - 60)
    assert verify(vendor, headers, tolerance_seconds=60).ok
    assert verify(vendor, headers, tolerance_seconds=59).failure is FailureReason.STALE_TIMESTAMP
    late = NOW + timedelta(milliseconds=500)
    assert verify(vendor, headers, now=late, tolerance_seconds=60).failure is FailureReason.STALE_TIMESTAMP


@pytest.mark.parametrize("vendor", TIMESTAMPED, ids=lambda v: v.scheme.value)
def test_forged_and_stale_reports_bad_signature_not_stale(vendor: Vendor) -> None:
    headers = deliver(vendor, secret=vendor.old_secret, ts=T0 - 10_000)
    assert verify(vendor, headers).failure is FailureReason.BAD_SIGNATURE


@pytest.mark.parametrize("vendor", [v for v in VENDORS if not v.signs_timestamp], ids=lambda v: v.scheme.value)
def test_schemes_without_timestamp_have_no_window(vendor: Vendor) -> None:
    headers = deliver(vendor)
    result = verify(vendor, headers, now=NOW + timedelta(days=30))
    assert result.ok and result.timestamp is None


@settings(max_examples=150, deadline=None)
@given(
    vendor=st.sampled_from(VENDORS),
    # Vendors document the signed string with the body as text, so bodies are UTF-8.
    body=st.text(max_size=120).map(str.encode),
    other=st.binary(max_size=120),
)
def test_any_body_change_fails_verification(vendor: Vendor, body: bytes, other: bytes) -> None:
    # Property: a signature over `body` never verifies a different body.
    headers = deliver(vendor, body=body)
    assert verify(vendor, headers, body=body).ok
    if other != body:
        assert verify(vendor, headers, body=other).failure is FailureReason.BAD_SIGNATURE


def test_standard_webhooks_multiple_signatures_and_unknown_versions() -> None:
    vendor = VENDORS[0]
    good = deliver(vendor)["webhook-signature"]
    headers = dict(deliver(vendor))
    headers["webhook-signature"] = f"v1a,AAAA v1,{base64.b64encode(b'x' * 32).decode()}  {good}"
    assert verify(vendor, headers).ok


def test_stripe_multiple_v1_and_v0_entries() -> None:
    vendor = VENDORS[2]
    good = deliver(vendor)["Stripe-Signature"].split(",")[1]
    header = f"t={T0}, v1={'0' * 64}, {good}, v0={'1' * 64}"
    assert verify(vendor, {"Stripe-Signature": header}).ok


def test_stripe_key_is_the_whole_secret_including_prefix() -> None:
    vendor = VENDORS[2]
    stripped = vendor.new_secret.removeprefix("whsec_")
    headers = stripe_headers(stripped, BODY, T0, "x")
    assert verify(vendor, headers).failure is FailureReason.BAD_SIGNATURE


def test_published_standard_webhooks_vector() -> None:
    # The example from the Standard Webhooks reference libraries.
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    now = datetime.fromtimestamp(1614265330, UTC)
    result = verify_signature(
        "standard_webhooks",
        headers,
        b'{"test": 2432232314}',
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        now=now,
    )
    assert result.ok and result.delivery_id == "msg_p5jXN8AQM9LWM0D4loKWxJek"


def test_published_github_vector() -> None:
    # The example from GitHub's "validating webhook deliveries" page.
    headers = {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}
    result = verify_signature("github", headers, b"Hello, World!", ["It's a Secret to Everybody"], now=NOW)
    assert result.ok


@by_scheme
def test_sign_helpers_produce_what_the_vendor_documents(vendor: Vendor) -> None:
    ours = signing.sign(vendor.scheme, BODY, vendor.new_secret, timestamp=T0, delivery_id="dlv_123")
    theirs = deliver(vendor)
    assert {k.lower(): v for k, v in ours.items()} == {k.lower(): v for k, v in theirs.items()}
    assert verify(vendor, ours).ok


def test_failures_map_to_401_errors_with_stable_codes() -> None:
    vendor = VENDORS[0]
    cases = [
        (verify(vendor, deliver(vendor, secret=vendor.old_secret)), BadSignature, "bad_signature"),
        (verify(vendor, deliver(vendor, ts=T0 - 301)), StaleTimestamp, "stale_timestamp"),
        (verify(vendor, {}), InvalidSignatureHeaders, "invalid_signature_headers"),
    ]
    for result, error_type, code in cases:
        with pytest.raises(error_type) as caught:
            result.raise_for_failure()
        assert isinstance(caught.value, Unauthenticated)
        assert caught.value.status == 401 and caught.value.code == code
        assert caught.value.reason == result.failure.value


@by_scheme
def test_secrets_never_appear_in_results_or_errors(vendor: Vendor) -> None:
    for headers in (deliver(vendor, secret=vendor.old_secret), deliver(vendor, ts=T0 - 900), {}):
        result = verify(vendor, headers, secrets=[vendor.new_secret])
        error = result.error()
        text = repr(result) + str(error) + repr(error.to_body() if error else "")
        assert vendor.new_secret not in text and vendor.old_secret not in text


def test_caller_mistakes_raise() -> None:
    vendor = VENDORS[1]
    headers = deliver(vendor)
    with pytest.raises(TypeError):
        verify(vendor, headers, body=BODY.decode())
    with pytest.raises(InvalidWebhookSecret):
        verify(vendor, headers, secrets=[])
    with pytest.raises(InvalidWebhookSecret):
        verify(vendor, headers, secrets="a-string-not-a-list")
    with pytest.raises(ValueError):
        verify(vendor, headers, now=datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        verify(vendor, headers, tolerance_seconds=-1)
    with pytest.raises(UnknownSignatureScheme):
        verify_signature("paypal", headers, BODY, ["s"], now=NOW)


def test_malformed_standard_secret_is_rejected_without_echoing_it() -> None:
    bad = "whsec_!!!not-base64-at-all!!!"
    with pytest.raises(InvalidWebhookSecret) as caught:
        verify(VENDORS[0], deliver(VENDORS[0]), secrets=[bad])
    assert bad not in str(caught.value) and "not-base64" not in repr(caught.value.details)
    with pytest.raises(InvalidWebhookSecret):
        parse_standard_secret("whsec_" + base64.b64encode(b"short").decode())


def test_generated_secrets_are_standard_and_unique() -> None:
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_") and first != second
    assert len(parse_standard_secret(first)) == 32
    validate_secret("standard_webhooks", first)
    headers = standard_headers(first, BODY, T0, "m1")
    assert verify_signature("standard_webhooks", headers, BODY, [first], now=NOW).ok
    with pytest.raises(ValueError):
        generate_secret(8)


def test_validate_secret_per_scheme() -> None:
    validate_secret("github", "anything goes")
    for scheme, secret in (
        ("github", ""),
        ("slack", "   "),
        ("stripe", "x" * 2000),
        ("standard_webhooks", "plain"),
    ):
        with pytest.raises(InvalidWebhookSecret):
            validate_secret(scheme, secret)
