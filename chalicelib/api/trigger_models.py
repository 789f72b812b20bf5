"""Response models of the trigger and webhook routes (requests: ``services/triggers/models``)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from chalicelib.api.contract import Out, Timestamp, page_of
from chalicelib.services.triggers.kinds.base import SectionRole
from chalicelib.services.triggers.models import KindSections, StoredKind

STORED_KIND = "A trigger kind of this deployment, or a kind it no longer has (the trigger is then `available: false`)."
Outcome = Literal["started", "queued", "duplicate", "bad_signature", "stale_timestamp", "disabled",
                  "not_production", "rate_limited", "too_large", "invalid", "error"]


class SchedulePreview(Out):
    cron: str = Field(description="The expression, normalised.")
    timezone: str
    upcoming: list[Timestamp] = Field(description="The next fire times (UTC), as the scheduler will fire them.")


# A kind with settings of its own shows them in its section (``webhook``, ``schedule``: its ``view`` model).
class Trigger(Out, KindSections):
    section_role: ClassVar[SectionRole] = "view"
    sections_after: ClassVar[str | None] = "updated_at"

    id: str
    workspace_id: str
    flow_id: str
    kind: StoredKind = Field(description=STORED_KIND)
    name: str
    enabled: bool
    available: bool = Field(True, description="False when this deployment no longer has the trigger's kind: "
                                               "it is shown without its settings, starts nothing and can only "
                                               "be deleted (409 `trigger_kind_unavailable`).")
    input: Any = Field(description="What a run started by this trigger receives (besides the delivery).")
    created_by: str | None
    created_at: Timestamp
    updated_at: Timestamp


class TriggerDetail(Trigger):
    deliveries_24h: dict[str, int] = Field(description="Deliveries of the last 24 hours by outcome.")
    last_delivery_at: Timestamp | None


class Delivery(Out):
    id: str
    trigger_id: str
    workspace_id: str
    workflow_id: str
    kind: StoredKind = Field(description=STORED_KIND)
    mode: Literal["test", "production"]
    outcome: Outcome
    reason: str | None
    dedupe_key: str | None
    dedupe_source: str | None
    external_id: str | None
    slot: Timestamp | None
    run_id: str | None
    duplicate_of: str | None
    status_code: int
    body_bytes: int | None
    actor_id: str | None
    created_at: Timestamp
    started_at: Timestamp | None


class DeliveryRequest(Out):
    """The request as received, masked: credential and signature headers, secret-looking body fields and the
    trigger's signing secret never appear."""

    method: str
    headers: dict[str, str] = Field(description="Header names lower-cased; credentials and signatures masked.")
    body: str | None = Field(description="The body as text (masked); null for a binary body (see `size`).")
    body_encoding: Literal["json", "text", "binary"] = Field(
        description="`json`: a complete JSON document; `text`: UTF-8 text (also JSON cut at the bound); "
                    "`binary`: not text, only its size is kept.")
    truncated: bool = Field(description="The body was cut at 64 KiB.")
    size: int | None = Field(description="The body's size as received, in bytes.")


class DeliveryDetail(Delivery):
    request: DeliveryRequest | None = Field(description="Webhook deliveries only (null for cron and manual).")


class Fired(Out):
    """A recorded delivery and, when it started one, the run."""

    delivery_id: str
    run_id: str | None
    status: Outcome = Field(description="The delivery's outcome (started, queued, ...).")


class DuplicateDelivery(Fired):
    duplicate_of: str = Field(description="The delivery this one repeats.")


TriggerPage = page_of(Trigger)
DeliveryPage = page_of(Delivery)
