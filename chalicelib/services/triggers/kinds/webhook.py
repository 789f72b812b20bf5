"""``webhook``: a signed HTTP endpoint per trigger (``services/triggers/webhooks.py`` ingests); the secret is
sealed, shown masked, generated for Standard Webhooks and GitHub and shown once then."""

from __future__ import annotations

import datetime as dt
import secrets as _random
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from chalicelib.config import get_settings
from chalicelib.errors import SteplineError
from chalicelib.services.triggers import secrets
from chalicelib.services.triggers.kinds.base import invalid, prefixed
from chalicelib.services.triggers.models import SectionView, SettingsModel
from chalicelib.triggers.dedupe import validate_correlation_expression
from chalicelib.triggers.signatures import SignatureScheme, generate_secret, validate_secret

# Where the sender puts its event id when it sends no delivery-id header.
DEFAULT_CORRELATION = {SignatureScheme.STRIPE: "body.id", SignatureScheme.SLACK: "body.event_id"}


Scheme = Literal["standard_webhooks", "github", "stripe", "shopify", "slack"]
PayloadShape = Literal["envelope", "body"]
WEBHOOK_PATH = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"


class WebhookSettings(SettingsModel):
    """``path`` defaults to a random one; ``secret`` is generated for Standard Webhooks and GitHub."""

    path: str | None = Field(None, pattern=WEBHOOK_PATH)
    signature_scheme: Scheme = "standard_webhooks"
    secret: str | None = Field(None, min_length=1, max_length=1024)
    correlation_key: str | None = Field(None, max_length=500)
    payload: PayloadShape = "envelope"


class WebhookChanges(SettingsModel):
    path: str | None = Field(None, pattern=WEBHOOK_PATH)
    signature_scheme: Scheme | None = None
    secret: str | None = Field(None, min_length=1, max_length=1024)
    correlation_key: str | None = Field(None, max_length=500)
    payload: PayloadShape | None = None


class WebhookView(SectionView):
    path: str
    url: str = Field(description="Where the sender posts production deliveries.")
    test_url: str = Field(description="Deliveries here start test runs of the draft.")
    signature_scheme: Scheme
    secret: str = Field(description="Masked.")
    previous_secret_expires_at: dt.datetime | None = Field(
        description="Until then the previous secret still verifies.")
    correlation_key: str | None
    payload: PayloadShape
    new_secret: str | None = Field(None, description="A generated secret, shown this once.")


def webhook_url(workspace_id: str, path: str, *, test: bool = False) -> str:
    base = get_settings().public_base_url.rstrip("/")
    return f"{base}/webhooks/{workspace_id}/{path}" + ("/test" if test else "")


def secret_for(scheme: SignatureScheme, given: str | None) -> tuple[str, str | None]:
    """(secret to store, the generated secret to show once or None when the caller gave it)."""
    if given is not None:
        try:
            validate_secret(scheme, given)
        except SteplineError as exc:
            raise prefixed(exc, "/webhook") from None
        return given, None
    if scheme is SignatureScheme.STANDARD_WEBHOOKS:
        fresh = generate_secret()
    elif scheme is SignatureScheme.GITHUB:
        fresh = _random.token_hex(32)
    else:
        raise invalid("/webhook/secret", f"required: {scheme.value} issues the signing secret")
    return fresh, fresh


def _correlation(scheme: SignatureScheme, expression: str | None) -> str | None:
    if expression is None:
        return DEFAULT_CORRELATION.get(scheme)
    try:
        return validate_correlation_expression(expression)
    except SteplineError as exc:
        raise prefixed(exc, "/webhook") from None


def _still_valid(expires_at: dt.datetime | None, now: dt.datetime | None) -> dt.datetime | None:
    if expires_at is None or (now is not None and expires_at <= now):
        return None
    return expires_at


class WebhookKind:
    name: str = "webhook"
    section: str | None = "webhook"
    section_title: str = "webhook settings"
    settings: type[BaseModel] | None = WebhookSettings
    changes: type[BaseModel] | None = WebhookChanges
    view: type[BaseModel] | None = WebhookView

    def create(self, tenant_id: str, trigger_id: str, settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        path = settings.path if settings is not None else None
        scheme = SignatureScheme(settings.signature_scheme if settings is not None else "standard_webhooks")
        secret, new_secret = secret_for(scheme, settings.secret if settings is not None else None)
        correlation = _correlation(scheme, settings.correlation_key if settings is not None else None)
        return {
            "webhook_path": path or _random.token_hex(16), "signature_scheme": scheme.value,
            "secret": secrets.seal(tenant_id, trigger_id, secret), "secret_hint": secrets.hint(secret),
            "secret_version": 1,
            "config": {"correlation_key": correlation,
                       "payload": settings.payload if settings is not None else "envelope"},
        }, new_secret

    def change(self, row: Mapping[str, Any], settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        if settings is None:
            return {}, None
        changes: dict[str, Any] = {}
        config = dict(row["config"] or {})
        scheme = SignatureScheme(settings.signature_scheme or row["signature_scheme"])
        if settings.path is not None:
            changes["webhook_path"] = settings.path
        new_secret = None
        if settings.secret is not None or scheme.value != row["signature_scheme"]:
            secret, new_secret = secret_for(scheme, settings.secret)
            # Replacing the secret here takes effect at once; rotate-secret keeps the old one for an overlap.
            sealed = secrets.seal(row["tenant_id"], row["id"], secret)
            changes.update(signature_scheme=scheme.value, secret=sealed,
                           secret_hint=secrets.hint(secret), previous_secret=None,
                           previous_secret_expires_at=None, secret_version=row["secret_version"] + 1)
        if "correlation_key" in settings.model_fields_set or scheme.value != row["signature_scheme"]:
            config["correlation_key"] = _correlation(scheme, settings.correlation_key)
        if settings.payload is not None:
            config["payload"] = settings.payload
        if config != (row["config"] or {}):
            changes["config"] = config
        return changes, new_secret

    def activation(self, row: Mapping[str, Any], *, enabled: bool, now: dt.datetime) -> dict[str, Any]:
        return {"enabled": enabled}

    def present(self, row: Mapping[str, Any], *, now: dt.datetime | None, upcoming: int,
                new_secret: str | None) -> dict[str, Any] | None:
        config = row["config"] or {}
        section = {
            "path": row["webhook_path"],
            "url": webhook_url(str(row["workspace_id"]), row["webhook_path"]),
            "test_url": webhook_url(str(row["workspace_id"]), row["webhook_path"], test=True),
            "signature_scheme": row["signature_scheme"],
            "secret": secrets.masked(row["secret_hint"]),
            "previous_secret_expires_at": _still_valid(row["previous_secret_expires_at"], now),
            "correlation_key": config.get("correlation_key"),
            "payload": config.get("payload", "envelope"),
        }
        if new_secret is not None:
            section["new_secret"] = new_secret
        return section

    def rotate_secret(self, row: Mapping[str, Any], secret: str | None, *,
                      keep_previous_until: dt.datetime | None) -> tuple[dict[str, Any], str | None]:
        scheme = SignatureScheme(row["signature_scheme"])
        stored, new_secret = secret_for(scheme, secret)
        return {
            "secret": secrets.seal(str(row["tenant_id"]), str(row["id"]), stored), "secret_hint": secrets.hint(stored),
            "previous_secret": row["secret"] if keep_previous_until else None,
            "previous_secret_expires_at": keep_previous_until, "secret_version": row["secret_version"] + 1,
        }, new_secret

    def tick(self, now: dt.datetime) -> int:
        return 0  # deliveries arrive over HTTP


KIND = WebhookKind()
