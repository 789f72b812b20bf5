"""What a trigger kind is to the trigger services: :class:`TriggerKind`, and the errors the kinds share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from chalicelib.errors import Conflict, SteplineError, ValidationFailed

if TYPE_CHECKING:
    from pydantic import BaseModel

# Which of a kind's section models: a new trigger's (``settings``), a change's (``changes``), the answer's (``view``).
SectionRole = Literal["settings", "changes", "view"]


class TriggerKind(Protocol):
    """How one kind of trigger is created, changed, (de)activated, shown and ticked."""

    name: str
    # The request and answer section holding this kind's settings ("webhook", "schedule"), if any,
    # and how errors name it ("webhook settings", "a schedule").
    section: str | None
    section_title: str
    # The section's models (None: the kind has no settings of its own). ``settings`` validates the section
    # of a new trigger and ``changes`` that of a change (every field optional: what is not sent is kept);
    # ``view`` is what the API shows, secrets masked. The request and answer bodies, and the OpenAPI
    # document, take them from the registered kinds (``services/triggers/models.KindSections``).
    settings: type[BaseModel] | None
    changes: type[BaseModel] | None
    view: type[BaseModel] | None

    def create(self, tenant_id: str, trigger_id: str, settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        """The kind's column values of a new trigger, and a generated secret to show once (or None)."""
        ...

    def change(self, row: Mapping[str, Any], settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        """The column changes for a change of the kind's settings, and a generated secret (or None)."""
        ...

    def activation(self, row: Mapping[str, Any], *, enabled: bool, now: dt.datetime) -> dict[str, Any]:
        """The column changes of (de)activating a trigger of this kind (``enabled`` included)."""
        ...

    def present(self, row: Mapping[str, Any], *, now: dt.datetime | None, upcoming: int,
                new_secret: str | None) -> dict[str, Any] | None:
        """The kind's section of the API view (None: the kind has none)."""
        ...

    def rotate_secret(self, row: Mapping[str, Any], secret: str | None, *,
                      keep_previous_until: dt.datetime | None) -> tuple[dict[str, Any], str | None]:
        """The column changes installing a new signing secret (``secret``, or one generated and returned to
        show once); the previous one verifies until ``keep_previous_until`` (None: not at all). A kind
        without a secret raises :class:`NoSecretToRotate`."""
        ...

    def tick(self, now: dt.datetime) -> int:
        """The kind's share of the housekeeping tick; how many triggers fired."""
        ...


class KindUnavailable(Conflict):
    """The trigger's kind is not one of the process's kinds (a deployment that no longer has it).

    Such a trigger is listed and shown (``available: false``) and can be deleted; it is never fired or changed.
    """

    code = "trigger_kind_unavailable"

    def __init__(self, kind: str) -> None:
        super().__init__(f"This trigger's kind ({kind}) is not available in this deployment; it cannot be "
                         "fired or changed, only deleted.")


class NoSecretToRotate(Conflict):
    """Only triggers of a kind that verifies signatures (webhooks) have a signing secret."""

    code = "not_a_webhook"

    def __init__(self, kind: str) -> None:
        super().__init__(f"Only webhook triggers have a signing secret to rotate ({kind} triggers have none).")


def invalid(path: str, issue: str) -> ValidationFailed:
    return ValidationFailed("The trigger is invalid.", details=[{"path": path, "issue": issue}])


def prefixed(exc: SteplineError, prefix: str) -> SteplineError:
    exc.details = [{**d, "path": prefix + d.get("path", "")} for d in exc.details]
    return exc
