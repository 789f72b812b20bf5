"""Trigger kinds as a registry, like step types: one module per kind, meeting :class:`TriggerKind`.

Creating, changing, (de)activating and showing a trigger (``manage``, ``views``)
and the tick (``jobs``) go through :data:`KINDS`. A new kind is one module here,
its entry below and its tests; a kind with settings of its own also names its
section of the request bodies (``models``).
"""

from __future__ import annotations

from typing import Any

from chalicelib.services.triggers.kinds import cron, manual, webhook
from chalicelib.services.triggers.kinds.base import TriggerKind, invalid

KINDS: dict[str, TriggerKind] = {
    "manual": manual.KIND,
    "webhook": webhook.KIND,
    "cron": cron.KIND,
}
KIND_NAMES: tuple[str, ...] = tuple(KINDS)

__all__ = ["KINDS", "KIND_NAMES", "TriggerKind", "check_sections", "kind_of"]


def kind_of(name: str) -> TriggerKind:
    return KINDS[name]


def check_sections(name: str, sections: dict[str, Any]) -> None:
    """Refuse the settings section of another kind (``sections``: section name → the body's value)."""
    for other in KINDS.values():
        if other.section and other.name != name and sections.get(other.section) is not None:
            raise invalid(f"/{other.section}",
                          f"only {other.name} triggers have {other.section_title} (this one is {name})")
