"""Webhook signature verification for the schemes senders actually use.

Verification runs over the raw body bytes, before anything parses them: a body
that was re-serialised (key order, whitespace, unicode escapes) no longer
matches its signature, and parsing untrusted input before authenticating it
only widens the attack surface. Comparisons use ``hmac.compare_digest``.

Every verifier takes the same inputs — case-insensitive headers, raw body,
the secrets valid right now (several during a rotation overlap), an injected
clock and a tolerance — and returns a :class:`VerificationResult` instead of
raising, because the caller records every outcome in the delivery history.
``result.raise_for_failure()`` turns a failure into the matching 401 error.

Order of checks: headers are parsed first (``invalid``), then the signature
(``bad_signature``), then the timestamp (``stale_timestamp``). Checking the
signature before the clock means ``stale_timestamp`` only ever describes a
genuine delivery that arrived too late or too early — a replay or clock skew —
never a forgery. A timestamp exactly ``tolerance_seconds`` away is accepted.

GitHub and Shopify sign no timestamp; replays of their deliveries are caught
by deduplication on their delivery id header instead. Stripe and Slack send no
delivery id header; configure a correlation-key expression (``body.id``,
``body.event_id``) for them.

Secrets never appear in results, messages or exceptions. Signing helpers for
tests, benchmarks and test-mode deliveries live in ``signing``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chalicelib.triggers.errors import (
    BadSignature,
    InvalidSignatureHeaders,
    InvalidWebhookSecret,
    SignatureRejected,
    StaleTimestamp,
    UnknownSignatureScheme,
)

DEFAULT_TOLERANCE_SECONDS = 300
STANDARD_SECRET_PREFIX = "whsec_"
_STANDARD_KEY_BYTES = (24, 64)  # the Standard Webhooks spec's accepted key sizes
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class SignatureScheme(StrEnum):
    """How a sender signs its webhooks."""

    STANDARD_WEBHOOKS = "standard_webhooks"
    GITHUB = "github"
    STRIPE = "stripe"
    SHOPIFY = "shopify"
    SLACK = "slack"


class FailureReason(StrEnum):
    """Why a delivery was refused; recorded in delivery history."""

    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    INVALID = "invalid"


_ERRORS: dict[FailureReason, type[SignatureRejected]] = {
    FailureReason.BAD_SIGNATURE: BadSignature,
    FailureReason.STALE_TIMESTAMP: StaleTimestamp,
    FailureReason.INVALID: InvalidSignatureHeaders,
}


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of verifying one delivery.

    ``delivery_id`` comes from the scheme's id header (None when the scheme has
    none or the sender omitted it); ``timestamp`` is the signed Unix time in
    seconds (None for schemes that sign no timestamp). ``detail`` is a short,
    secret-free sentence for diagnostics.
    """

    scheme: SignatureScheme
    ok: bool
    delivery_id: str | None = None
    timestamp: int | None = None
    failure: FailureReason | None = None
    detail: str = ""

    def error(self) -> SignatureRejected | None:
        """The error this failure maps to, or None when verification passed."""
        if self.ok or self.failure is None:
            return None
        return _ERRORS[self.failure](self.detail or None)

    def raise_for_failure(self) -> VerificationResult:
        """Return self when verified, else raise the matching 401 error."""
        err = self.error()
        if err is not None:
            raise err
        return self


# ---------------------------------------------------------------------------
# Small parsing helpers shared by the schemes.


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _any_match(expected: Sequence[bytes], presented: Sequence[bytes]) -> bool:
    # Every pair is compared in constant time; no early exit inside a comparison.
    matched = False
    for want in expected:
        for got in presented:
            if hmac.compare_digest(want, got):
                matched = True
    return matched


def parse_standard_secret(secret: str) -> bytes:
    """Decode a Standard Webhooks secret (``whsec_<base64>``) to its key bytes.

    The prefix is optional, as in the reference libraries. Raises
    ``InvalidWebhookSecret`` (without echoing the secret) when malformed.
    """
    body = secret.removeprefix(STANDARD_SECRET_PREFIX)
    key = _b64decode(body)
    low, high = _STANDARD_KEY_BYTES
    if key is None or not low <= len(key) <= high:
        raise InvalidWebhookSecret(
            f"A Standard Webhooks secret is 'whsec_' followed by base64 of {low}-{high} random bytes.",
            details=[{"path": "/secret", "issue": "malformed"}],
        )
    return key


def generate_secret(nbytes: int = 32) -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` + base64 of random bytes."""
    low, high = _STANDARD_KEY_BYTES
    if not low <= nbytes <= high:
        raise ValueError(f"nbytes must be within {low}..{high}")
    return STANDARD_SECRET_PREFIX + base64.b64encode(_random.token_bytes(nbytes)).decode("ascii")


def validate_secret(scheme: SignatureScheme | str, secret: str) -> None:
    """Check a secret's format for ``scheme`` when it is saved (never logs it)."""
    scheme = parse_scheme(scheme)
    if not isinstance(secret, str) or not secret.strip():
        raise InvalidWebhookSecret("The signing secret is empty.", details=[{"path": "/secret", "issue": "empty"}])
    if len(secret) > 1024:
        raise InvalidWebhookSecret(
            "The signing secret is too long.", details=[{"path": "/secret", "issue": "too_long"}]
        )
    if scheme is SignatureScheme.STANDARD_WEBHOOKS:
        parse_standard_secret(secret)


def parse_scheme(scheme: SignatureScheme | str) -> SignatureScheme:
    """Turn a configured scheme name into a :class:`SignatureScheme`."""
    try:
        return SignatureScheme(scheme)
    except ValueError:
        raise UnknownSignatureScheme(
            "Unknown signature scheme.",
            details=[{"path": "/signature_scheme", "issue": f"one of {[s.value for s in SignatureScheme]}"}],
        ) from None


# ---------------------------------------------------------------------------
# Signed parts per scheme. Each returns (delivery_id, timestamp, presented
# signatures, message to sign) or a failure detail for malformed headers.


@dataclass(frozen=True)
class _Signed:
    delivery_id: str | None
    timestamp: int | None
    presented: list[bytes]
    message: bytes


def _parse_timestamp(value: str | None, header: str) -> int | str:
    if value is None:
        return f"Missing {header} header."
    if not _TIMESTAMP.fullmatch(value):
        return f"Malformed {header} header."
    return int(value)


def _standard_parts(h: Mapping[str, str], body: bytes) -> _Signed | str:
    msg_id, raw_ts, raw_sig = (
        _header(h, "webhook-id"),
        _header(h, "webhook-timestamp"),
        _header(h, "webhook-signature"),
    )
    if msg_id is None or raw_sig is None:
        return "Missing webhook-id or webhook-signature header."
    ts = _parse_timestamp(raw_ts, "webhook-timestamp")
    if isinstance(ts, str):
        return ts
    presented = []
    for entry in raw_sig.split(" "):
        version, _, value = entry.partition(",")
        decoded = _b64decode(value) if version == "v1" else None
        if decoded is not None:
            presented.append(decoded)
    if not presented:
        return "No well-formed v1 signature in webhook-signature."
    return _Signed(msg_id, ts, presented, f"{msg_id}.{ts}.".encode() + body)


def _github_parts(h: Mapping[str, str], body: bytes) -> _Signed | str:
    raw = _header(h, "x-hub-signature-256")
    if raw is None:
        return "Missing X-Hub-Signature-256 header."
    algo, _, digest = raw.partition("=")
    if algo != "sha256" or not _HEX_SHA256.fullmatch(digest):
        return "Malformed X-Hub-Signature-256 header."
    return _Signed(_header(h, "x-github-delivery"), None, [bytes.fromhex(digest)], body)


def _stripe_parts(h: Mapping[str, str], body: bytes) -> _Signed | str:
    raw = _header(h, "stripe-signature")
    if raw is None:
        return "Missing Stripe-Signature header."
    stamps, presented = [], []
    for item in raw.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            stamps.append(value)
        elif key == "v1" and _HEX_SHA256.fullmatch(value):
            presented.append(bytes.fromhex(value))
    if len(stamps) != 1:
        return "Stripe-Signature must carry exactly one t= timestamp."
    ts = _parse_timestamp(stamps[0], "Stripe-Signature t=")
    if isinstance(ts, str):
        return ts
    if not presented:
        return "No well-formed v1 signature in Stripe-Signature."
    return _Signed(None, ts, presented, f"{ts}.".encode() + body)


def _shopify_parts(h: Mapping[str, str], body: bytes) -> _Signed | str:
    raw = _header(h, "x-shopify-hmac-sha256")
    if raw is None:
        return "Missing X-Shopify-Hmac-Sha256 header."
    decoded = _b64decode(raw)
    if decoded is None or len(decoded) != hashlib.sha256().digest_size:
        return "Malformed X-Shopify-Hmac-Sha256 header."
    return _Signed(_header(h, "x-shopify-webhook-id"), None, [decoded], body)


def _slack_parts(h: Mapping[str, str], body: bytes) -> _Signed | str:
    raw = _header(h, "x-slack-signature")
    if raw is None:
        return "Missing X-Slack-Signature header."
    ts = _parse_timestamp(_header(h, "x-slack-request-timestamp"), "X-Slack-Request-Timestamp")
    if isinstance(ts, str):
        return ts
    version, _, digest = raw.partition("=")
    if version != "v0" or not _HEX_SHA256.fullmatch(digest):
        return "Malformed X-Slack-Signature header."
    return _Signed(None, ts, [bytes.fromhex(digest)], f"v0:{ts}:".encode() + body)


_PARTS = {
    SignatureScheme.STANDARD_WEBHOOKS: _standard_parts,
    SignatureScheme.GITHUB: _github_parts,
    SignatureScheme.STRIPE: _stripe_parts,
    SignatureScheme.SHOPIFY: _shopify_parts,
    SignatureScheme.SLACK: _slack_parts,
}


def _keys(scheme: SignatureScheme, secrets: Sequence[str]) -> list[bytes]:
    if isinstance(secrets, str) or not secrets:
        raise InvalidWebhookSecret("No signing secret is configured.", details=[{"path": "/secrets", "issue": "empty"}])
    if scheme is SignatureScheme.STANDARD_WEBHOOKS:
        return [parse_standard_secret(s) for s in secrets]
    # Stripe, GitHub, Shopify and Slack key the HMAC with the secret's UTF-8
    # bytes as shown to the user (Stripe's includes its ``whsec_`` prefix).
    return [s.encode("utf-8") for s in secrets]


def verify_signature(
    scheme: SignatureScheme | str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    *,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> VerificationResult:
    """Verify one delivery; never raises for anything the sender controls.

    ``secrets`` are all currently valid secrets (old and new during rotation);
    a signature made with any of them is accepted. ``now`` must be timezone
    aware. Raises only for caller mistakes: a non-bytes body, no secrets, a
    malformed stored secret, an unknown scheme or a negative tolerance.
    """
    scheme = parse_scheme(scheme)
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError("verify the raw body bytes, before any decoding or parsing")
    if now.tzinfo is None:
        raise ValueError("now must be timezone aware")
    if isinstance(tolerance_seconds, bool) or not isinstance(tolerance_seconds, int) or tolerance_seconds < 0:
        raise ValueError("tolerance_seconds must be a non-negative integer")
    keys = _keys(scheme, secrets)
    parts = _PARTS[scheme](_lower_headers(headers), bytes(body))
    if isinstance(parts, str):
        return VerificationResult(scheme, False, failure=FailureReason.INVALID, detail=parts)
    expected = [_hmac_sha256(key, parts.message) for key in keys]
    if not _any_match(expected, parts.presented):
        return VerificationResult(
            scheme,
            False,
            parts.delivery_id,
            parts.timestamp,
            FailureReason.BAD_SIGNATURE,
            "Signature does not match any configured secret.",
        )
    if parts.timestamp is not None and abs(now.timestamp() - parts.timestamp) > tolerance_seconds:
        return VerificationResult(
            scheme,
            False,
            parts.delivery_id,
            parts.timestamp,
            FailureReason.STALE_TIMESTAMP,
            f"Timestamp is more than {tolerance_seconds} s away from the server clock.",
        )
    return VerificationResult(scheme, True, parts.delivery_id, parts.timestamp)


# Every header a supported scheme carries its signature in (whatever scheme a trigger uses: a sender
# may send several). Recorded deliveries show them masked.
SIGNATURE_HEADERS = frozenset({"webhook-signature", "x-hub-signature-256", "x-hub-signature", "stripe-signature",
                               "x-shopify-hmac-sha256", "x-slack-signature"})
