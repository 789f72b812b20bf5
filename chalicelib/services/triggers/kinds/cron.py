"""``cron``: fires at the slots of a cron schedule in a timezone; every tick scans the due slots.

The tick spans tenants, so finding due triggers is the one system-scoped
query (ids only, through the partial index on ``next_fire_at``); each trigger
is then handled in its own tenant's transactions. Which slot fires comes from
``chalicelib.triggers.cron.due_slots`` (per-trigger timezone, DST rules and
the missed-slot policy). Exactly once: the delivery row of a slot is unique
per ``(trigger_id, slot)``, so two overlapping or repeated ticks that compute
the same slot start one run — the loser's insert does nothing.

Afterwards ``last_slot`` and ``next_fire_at`` move forward (only ever
forward, and only if the schedule was not changed meanwhile).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select, update

from chalicelib.container import current
from chalicelib.db.uow import system_uow, tenant_uow
from chalicelib.observability import logger
from chalicelib.services.triggers.firing import FireResult, Firing, fire
from chalicelib.services.triggers.kinds.base import NoSecretToRotate, invalid
from chalicelib.services.triggers.models import SectionView, SettingsModel
from chalicelib.services.triggers.settings import now as clock_now
from chalicelib.tables.triggers import triggers
from chalicelib.triggers.cron import due_slots, next_fire_at, parse_schedule, upcoming_slots

NAME = "cron"  # the kind's name; the due-slot index of the table names it too (``kind = 'cron'``)
SCAN_BATCH = 500


MissedSlots = Literal["fire_once", "skip"]


class ScheduleSettings(SettingsModel):
    cron: str = Field(min_length=1, max_length=200)
    timezone: str = Field("UTC", min_length=1, max_length=64)
    missed_slot_policy: MissedSlots = "fire_once"


class ScheduleChanges(SettingsModel):
    cron: str | None = Field(None, min_length=1, max_length=200)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    missed_slot_policy: MissedSlots | None = None


class ScheduleView(SectionView):
    cron: str
    timezone: str
    missed_slot_policy: MissedSlots
    next_fire_at: dt.datetime | None
    last_slot: dt.datetime | None
    upcoming: list[dt.datetime] | None = Field(None, description="The next fire times (one trigger read by id).")


@dataclass(frozen=True)
class SlotFired:
    trigger_id: str
    slot: dt.datetime
    result: FireResult


def cron_input(trigger: Any, slot: dt.datetime) -> Any:
    """What a cron run starts with: the trigger's configured input, as a manual start passes it.

    The slot and time zone are the run's trigger details (``$trigger.slot``), not part of its input.
    """
    return trigger["input"]


def scan(now: dt.datetime | None = None) -> list[SlotFired]:
    """Fire every due cron trigger's slot; returns what fired (for the tick's log and the tests)."""
    now = now or clock_now()
    with system_uow() as uow:
        due = uow.execute(select(triggers.c.id, triggers.c.tenant_id).where(
            triggers.c.kind == NAME, triggers.c.enabled, triggers.c.next_fire_at <= now)
            .order_by(triggers.c.next_fire_at).limit(SCAN_BATCH)).all()
    fired: list[SlotFired] = []
    for trigger_id, tenant_id in due:
        try:
            fired += fire_due(str(tenant_id), str(trigger_id), now)
        except Exception:  # one broken trigger must not stop the others
            logger.exception("cron trigger failed", extra={"trigger_id": str(trigger_id)})
    return fired


def fire_due(tenant_id: str, trigger_id: str, now: dt.datetime) -> list[SlotFired]:
    with tenant_uow(tenant_id) as uow:
        row = uow.execute(select(triggers).where(triggers.c.id == trigger_id)).mappings().first()
        if row is not None and current().workflow_directory().state(uow, str(row["workflow_id"])) is None:
            # Its workflow was deleted: stop scheduling instead of recording a refusal every slot.
            uow.execute(update(triggers).where(triggers.c.id == trigger_id)
                        .values(enabled=False, next_fire_at=None))
            uow.commit()
            logger.warning("cron trigger deactivated: its workflow no longer exists",
                           extra={"trigger_id": trigger_id})
            return []
    if row is None or row["kind"] != NAME or not row["enabled"]:
        return []
    expression, tz = row["cron_expression"], row["timezone"]
    fired = []
    for slot in due_slots(expression, tz, row["last_slot"], now, row["missed_slot_policy"]):
        firing = Firing(trigger=row, kind=NAME, input=cron_input(row, slot), slot=slot, recoverable=True)
        result = fire(firing, now)
        fired.append(SlotFired(trigger_id, slot, result))
    newest = max((f.slot for f in fired), default=None)
    with tenant_uow(tenant_id) as uow:
        changes: dict[str, Any] = {"next_fire_at": next_fire_at(expression, tz, now)}
        if newest is not None:
            changes["last_slot"] = func.greatest(func.coalesce(triggers.c.last_slot, newest), newest)
        uow.execute(update(triggers).where(
            triggers.c.id == trigger_id, triggers.c.cron_expression == expression, triggers.c.timezone == tz,
            triggers.c.enabled).values(**changes))
        uow.commit()
    return fired


def _schedule_values(cron: str, timezone: str, missed_slot_policy: str, enabled: bool,
                     now: dt.datetime) -> dict[str, Any]:
    parsed = parse_schedule(cron, timezone, pointer="/schedule")
    return {"cron_expression": parsed.expression, "timezone": parsed.timezone,
            "missed_slot_policy": missed_slot_policy, "last_slot": None,
            "next_fire_at": next_fire_at(parsed.expression, parsed.timezone, now) if enabled else None}


class CronKind:
    name: str = NAME
    section: str | None = "schedule"
    section_title: str = "a schedule"
    settings: type[BaseModel] | None = ScheduleSettings
    changes: type[BaseModel] | None = ScheduleChanges
    view: type[BaseModel] | None = ScheduleView

    def create(self, tenant_id: str, trigger_id: str, settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        if settings is None:
            raise invalid("/schedule", "required for cron triggers")
        return _schedule_values(settings.cron, settings.timezone, settings.missed_slot_policy, enabled, now), None

    def change(self, row: Mapping[str, Any], settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        if settings is None:
            return {}, None
        return _schedule_values(settings.cron or row["cron_expression"], settings.timezone or row["timezone"],
                                settings.missed_slot_policy or row["missed_slot_policy"], enabled, now), None

    def activation(self, row: Mapping[str, Any], *, enabled: bool, now: dt.datetime) -> dict[str, Any]:
        """A cron trigger starts afresh when activated: no slot from before it was active fires."""
        expression, tz = row["cron_expression"], row["timezone"]
        return {"enabled": enabled, "last_slot": None,
                "next_fire_at": next_fire_at(expression, tz, now) if enabled else None}

    def present(self, row: Mapping[str, Any], *, now: dt.datetime | None, upcoming: int,
                new_secret: str | None) -> dict[str, Any] | None:
        schedule: dict[str, Any] = {
            "cron": row["cron_expression"],
            "timezone": row["timezone"],
            "missed_slot_policy": row["missed_slot_policy"],
            "next_fire_at": row["next_fire_at"],
            "last_slot": row["last_slot"],
        }
        if upcoming and row["enabled"] and now is not None:
            schedule["upcoming"] = upcoming_slots(row["cron_expression"], row["timezone"], now, upcoming)
        return schedule

    def rotate_secret(self, row: Mapping[str, Any], secret: str | None, *,
                      keep_previous_until: dt.datetime | None) -> tuple[dict[str, Any], str | None]:
        raise NoSecretToRotate(self.name)

    def tick(self, now: dt.datetime) -> int:
        return len(scan(now))


KIND = CronKind()
