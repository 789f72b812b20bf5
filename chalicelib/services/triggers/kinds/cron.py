"""``cron``: fires at the slots of a cron schedule in a timezone; the tick scans due slots (``schedules``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from chalicelib.services.triggers import schedules
from chalicelib.services.triggers.kinds.base import invalid
from chalicelib.triggers.cron import next_fire_at, parse_schedule, upcoming_slots


def _schedule_values(cron: str, timezone: str, missed_slot_policy: str, enabled: bool,
                     now: dt.datetime) -> dict[str, Any]:
    parsed = parse_schedule(cron, timezone, pointer="/schedule")
    return {"cron_expression": parsed.expression, "timezone": parsed.timezone,
            "missed_slot_policy": missed_slot_policy, "last_slot": None,
            "next_fire_at": next_fire_at(parsed.expression, parsed.timezone, now) if enabled else None}


class CronKind:
    name = "cron"
    section = "schedule"
    section_title = "a schedule"

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

    def tick(self, now: dt.datetime) -> int:
        return len(schedules.scan(now))


KIND = CronKind()
