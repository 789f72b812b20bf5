"""Trigger kinds as a registry, like step types: one module per kind, meeting :class:`TriggerKind`.

The composition root lists the kinds (``bootstrap.TRIGGER_KINDS``) in the
container; everything else reads them from there: the names the API accepts
(``models.Kind``), creating, changing, (de)activating, showing a trigger and
rotating its secret (``manage``, ``views``), and the tick (``jobs``). A new kind
is one module here, its line in ``bootstrap.py`` and its tests; a kind with
settings of its own also names its section of the request and answer bodies
(``models``, ``api/trigger_models``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.container import current
from chalicelib.services.triggers.kinds.base import TriggerKind, invalid

__all__ = ["TriggerKind", "check_sections", "kind_names", "kind_of", "registered"]


def registered() -> Mapping[str, TriggerKind]:
    """The process's trigger kinds, by name."""
    return current().trigger_kinds


def kind_names() -> tuple[str, ...]:
    return tuple(registered())


def kind_of(name: str) -> TriggerKind:
    """The kind called ``name`` (422 at ``/kind`` when the process has no such kind)."""
    kinds = registered()
    if name not in kinds:
        raise invalid("/kind", f"one of {list(kinds)}")
    return kinds[name]


def check_sections(name: str, sections: dict[str, Any]) -> None:
    """Refuse the settings section of another kind (``sections``: section name → the body's value)."""
    for other in registered().values():
        if other.section and other.name != name and sections.get(other.section) is not None:
            raise invalid(f"/{other.section}",
                          f"only {other.name} triggers have {other.section_title} (this one is {name})")
