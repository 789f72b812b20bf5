"""``manual``: started by hand (``POST …/fire``); no settings of its own, nothing in the tick."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


class ManualKind:
    name = "manual"
    section = None
    section_title = ""

    def create(self, tenant_id: str, trigger_id: str, settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        return {}, None

    def change(self, row: Mapping[str, Any], settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        return {}, None

    def activation(self, row: Mapping[str, Any], *, enabled: bool, now: dt.datetime) -> dict[str, Any]:
        return {"enabled": enabled}

    def present(self, row: Mapping[str, Any], *, now: dt.datetime | None, upcoming: int,
                new_secret: str | None) -> dict[str, Any] | None:
        return None

    def tick(self, now: dt.datetime) -> int:
        return 0


KIND = ManualKind()
