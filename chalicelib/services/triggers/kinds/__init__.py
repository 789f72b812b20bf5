"""Trigger kinds as a registry, like step types: one module per kind, meeting :class:`TriggerKind`.

The composition root lists the kinds (``bootstrap.TRIGGER_KINDS``) in the
container; everything else reads them from there: the names the API accepts
(``models.Kind``), creating, changing, (de)activating, showing a trigger and
rotating its secret (``manage``, ``views``), the tick (``jobs``), and the settings
sections of the request and answer bodies with their JSON schema (``models.KindSections``).
A new kind, with or without settings of its own, is one module here, its line in
``bootstrap.py`` and its tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.container import current
from chalicelib.services.triggers.kinds.base import KindUnavailable, SectionRole, TriggerKind, invalid

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["TriggerKind", "check_sections", "kind_names", "kind_of", "kind_of_trigger", "registered",
           "section_models"]


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


def kind_of_trigger(row: Mapping[str, Any]) -> TriggerKind:
    """The kind of a stored trigger (409 ``trigger_kind_unavailable`` when the process no longer has it)."""
    kind = registered().get(row["kind"])
    if kind is None:
        raise KindUnavailable(row["kind"])
    return kind


def check_sections(name: str, sections: Mapping[str, Any]) -> None:
    """Refuse the settings section of another kind (``sections``: section name → the body's value)."""
    for other in registered().values():
        if other.section and other.name != name and sections.get(other.section) is not None:
            raise invalid(f"/{other.section}",
                          f"only {other.name} triggers have {other.section_title} (this one is {name})")


def section_models(role: SectionRole) -> dict[str, tuple[type[BaseModel], TriggerKind]]:
    """Section name → (the model of its ``role``, the kind owning it), for each registered kind that has one."""
    found: dict[str, tuple[type[BaseModel], TriggerKind]] = {}
    for kind in registered().values():
        model = getattr(kind, role, None) if kind.section else None
        if kind.section and model is not None:
            found[kind.section] = (model, kind)
    return found
