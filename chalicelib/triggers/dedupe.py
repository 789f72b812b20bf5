"""Dedupe keys for webhook deliveries.

Senders retry: the same event can arrive several times, seconds or hours
apart. A delivery is a duplicate when its dedupe key was already seen for the
same trigger (the database makes ``(trigger_id, dedupe_key)`` unique, so two
concurrent copies cannot both start a run).

Where the key comes from, in order:

1. a correlation-key expression configured on the trigger, evaluated with
   :func:`chalicelib.expressions.evaluate` over ``{"body": <parsed JSON>,
   "headers": <lower-cased headers>}`` — e.g. ``body.id`` for Stripe,
   ``body.event_id`` for Slack, or ``headers["x-request-id"]``. It wins
   because the tenant chose it on purpose (a sender may mint a new delivery id
   per retry of the same business event);
2. the delivery id from the signature scheme's id header (``webhook-id``,
   ``X-GitHub-Delivery``, ``X-Shopify-Webhook-Id``).

The raw value is hashed (SHA-256, hex) so the stored key has a fixed length
whatever the sender sends, and leaks nothing of the body into an index. The
source is part of the hashed input, so an expression value can never collide
with a delivery id that happens to have the same text.

When neither yields a value the delivery has no key: it is accepted and
recorded, but cannot be deduplicated (the caller records that fact).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from chalicelib.expressions import MISSING, ExpressionError, evaluate
from chalicelib.triggers.errors import InvalidCorrelationExpression

DEDUPE_KEY_LENGTH = 64  # hex characters of a SHA-256 digest


class DedupeSource(StrEnum):
    """Where a dedupe key came from (shown in delivery diagnostics)."""

    EXPRESSION = "expression"
    DELIVERY_ID = "delivery_id"


@dataclass(frozen=True)
class DedupeKey:
    """A fixed-length key identifying one logical delivery of one trigger."""

    value: str
    source: DedupeSource


def _strip_braces(expression: str) -> str:
    text = expression.strip()
    if text.startswith("{{") and text.endswith("}}"):
        text = text[2:-2].strip()
    return text


def validate_correlation_expression(expression: str) -> str:
    """Check a configured expression when it is saved; return it normalised.

    Accepts ``body.id`` or ``{{ body.id }}``; stores the bare form.
    """
    text = _strip_braces(expression) if isinstance(expression, str) else ""
    issue = "empty" if not text else ""
    if text:
        try:
            evaluate(text, {})
        except ExpressionError as exc:
            issue = exc.message
    if issue:
        raise InvalidCorrelationExpression(
            "Invalid correlation-key expression.",
            details=[{"path": "/correlation_key", "issue": issue}],
        )
    return text


def _canonical_text(value: Any) -> str | None:
    """The text a value is hashed from; None when it carries no identity."""
    if value is MISSING or value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) if value else None
    return str(value)


def hash_key(source: DedupeSource, raw: str) -> DedupeKey:
    """Hash ``raw`` into a fixed-length key namespaced by its source."""
    digest = hashlib.sha256(f"{source.value}\x00{raw}".encode()).hexdigest()
    return DedupeKey(digest, source)


def derive_dedupe_key(
    *,
    delivery_id: str | None,
    correlation_expression: str | None,
    body: Any,
    headers: Mapping[str, str],
) -> DedupeKey | None:
    """The dedupe key of one delivery, or None when nothing identifies it.

    ``body`` is the parsed JSON body (after signature verification);
    ``headers`` may use any case. An expression that does not resolve falls
    back to the delivery id, so a sender omitting a field degrades to the
    scheme's own dedupe instead of turning dedupe off. A malformed expression
    raises ``InvalidCorrelationExpression`` (it should be caught when saved).
    """
    if correlation_expression:
        expression = validate_correlation_expression(correlation_expression)
        data = {"body": body, "headers": {str(k).lower(): v for k, v in headers.items()}}
        try:
            value = evaluate(expression, data)
        except ExpressionError:
            # The syntax is valid, so this is a filter failing on this body's
            # data (``| int`` on "abc"): the sender's data, not our config.
            value = MISSING
        text = _canonical_text(value)
        if text is not None:
            return hash_key(DedupeSource.EXPRESSION, text)
    if delivery_id:
        return hash_key(DedupeSource.DELIVERY_ID, delivery_id)
    return None
