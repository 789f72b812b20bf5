"""Request bodies of the trigger API (pydantic; they also feed the OpenAPI document).

Field checks that need the trigger domain (cron expression, timezone, secret
format, correlation expression) run in the service, which reports them with
JSON pointers into these bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from chalicelib.services.triggers.kinds import kind_names


class RegisteredName:
    """A string that must be one of the names a registry of the process holds when it is validated.

    The names are read at validation time and when the JSON schema is generated (an ``enum``, as a
    ``Literal`` gives), so a kind the composition root adds is accepted and documented with no edit here.
    """

    def __init__(self, names: Callable[[], Iterable[str]]) -> None:
        self.names = names

    def _check(self, value: str) -> str:
        names = tuple(self.names())
        if value not in names:
            *first, last = names or ("nothing",)
            expected = f"{', '.join(map(repr, first))} or {last!r}" if first else repr(last)
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, core_schema.str_schema())

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {"enum": list(self.names()), "type": "string"}


# A trigger kind's name: one of the container's trigger kinds (``bootstrap.TRIGGER_KINDS``).
Kind = Annotated[str, RegisteredName(kind_names)]
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
