"""Sign webhook bodies exactly as each sender documents it.

Used by tests and benchmarks to produce genuine deliveries, and by the
test-mode "send a sample delivery" feature. Each function returns the headers
the sender would attach; verification lives in ``signatures``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from chalicelib.triggers.signatures import (
    SignatureScheme,
    parse_scheme,
    parse_standard_secret,
)


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def sign_standard_webhooks(body: bytes, secret: str, *, msg_id: str, timestamp: int) -> dict[str, str]:
    """``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>``."""
    digest = _hmac_sha256(parse_standard_secret(secret), f"{msg_id}.{timestamp}.".encode() + body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode("ascii"),
    }


def sign_github(body: bytes, secret: str, *, delivery_id: str | None = None) -> dict[str, str]:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``."""
    headers = {"X-Hub-Signature-256": "sha256=" + _hmac_sha256(secret.encode("utf-8"), body).hex()}
    if delivery_id is not None:
        headers["X-GitHub-Delivery"] = delivery_id
    return headers


def sign_stripe(body: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
    """``Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>``."""
    digest = _hmac_sha256(secret.encode("utf-8"), f"{timestamp}.".encode() + body).hex()
    return {"Stripe-Signature": f"t={timestamp},v1={digest}"}


def sign_shopify(body: bytes, secret: str, *, webhook_id: str | None = None) -> dict[str, str]:
    """``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>``."""
    digest = _hmac_sha256(secret.encode("utf-8"), body)
    headers = {"X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode("ascii")}
    if webhook_id is not None:
        headers["X-Shopify-Webhook-Id"] = webhook_id
    return headers


def sign_slack(body: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
    """``X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:{ts}:{body}")>``."""
    digest = _hmac_sha256(secret.encode("utf-8"), f"v0:{timestamp}:".encode() + body).hex()
    return {"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": str(timestamp)}


def sign(
    scheme: SignatureScheme | str, body: bytes, secret: str, *, timestamp: int, delivery_id: str
) -> dict[str, str]:
    """Sign ``body`` for any scheme (uses what the scheme needs of timestamp/id)."""
    scheme = parse_scheme(scheme)
    if scheme is SignatureScheme.STANDARD_WEBHOOKS:
        return sign_standard_webhooks(body, secret, msg_id=delivery_id, timestamp=timestamp)
    if scheme is SignatureScheme.GITHUB:
        return sign_github(body, secret, delivery_id=delivery_id)
    if scheme is SignatureScheme.STRIPE:
        return sign_stripe(body, secret, timestamp=timestamp)
    if scheme is SignatureScheme.SHOPIFY:
        return sign_shopify(body, secret, webhook_id=delivery_id)
    return sign_slack(body, secret, timestamp=timestamp)
