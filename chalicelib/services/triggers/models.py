"""Request bodies of the trigger API (pydantic; they also feed the OpenAPI document).

Field checks that need the trigger domain (cron expression, timezone, secret
format, correlation expression) run in the service, which reports them with
JSON pointers into these bodies.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["manual", "webhook", "cron"]  # the names of services/triggers/kinds.KINDS (a unit test holds them equal)
Scheme = Literal["standard_webhooks", "github", "stripe", "shopify", "slack"]
PayloadShape = Literal["envelope", "body"]
MissedSlots = Literal["fire_once", "skip"]
WEBHOOK_PATH = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
MAX_OVERLAP_SECONDS = 30 * 86_400


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class WebhookSettings(_Body):
    """``path`` defaults to a random one; ``secret`` is generated for Standard Webhooks and GitHub."""

    path: str | None = Field(None, pattern=WEBHOOK_PATH)
    signature_scheme: Scheme = "standard_webhooks"
    secret: str | None = Field(None, min_length=1, max_length=1024)
    correlation_key: str | None = Field(None, max_length=500)
    payload: PayloadShape = "envelope"


class WebhookChanges(_Body):
    path: str | None = Field(None, pattern=WEBHOOK_PATH)
    signature_scheme: Scheme | None = None
    secret: str | None = Field(None, min_length=1, max_length=1024)
    correlation_key: str | None = Field(None, max_length=500)
    payload: PayloadShape | None = None


class ScheduleSettings(_Body):
    cron: str = Field(min_length=1, max_length=200)
    timezone: str = Field("UTC", min_length=1, max_length=64)
    missed_slot_policy: MissedSlots = "fire_once"


class ScheduleChanges(_Body):
    cron: str | None = Field(None, min_length=1, max_length=200)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    missed_slot_policy: MissedSlots | None = None


class TriggerBody(_Body):
    """A new trigger: ``webhook`` settings or a cron ``schedule``; ``input`` is the default run input."""

    kind: Kind
    name: str = Field("", max_length=200)
    enabled: bool = True
    input: Any = None
    webhook: WebhookSettings | None = None
    schedule: ScheduleSettings | None = None


class TriggerChanges(_Body):
    """A partial update; the kind cannot change."""

    name: str | None = Field(None, max_length=200)
    enabled: bool | None = None
    input: Any = None
    webhook: WebhookChanges | None = None
    schedule: ScheduleChanges | None = None


class RotateSecretBody(_Body):
    """``secret`` to install (required for Stripe, Shopify and Slack, whose secrets the vendor issues)."""

    secret: str | None = Field(None, min_length=1, max_length=1024)
    overlap_seconds: int | None = Field(None, ge=0, le=MAX_OVERLAP_SECONDS)


class FireBody(_Body):
    """Start a run by hand; ``input`` defaults to the trigger's input."""

    mode: Literal["production", "test"] = "production"
    input: Any = None
