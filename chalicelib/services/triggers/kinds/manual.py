"""``manual``: started by hand (``POST …/fire``); no settings of its own, nothing in the tick.

Runs started directly (``POST …/flows/{id}/runs``, no trigger row) are labelled here too:
:func:`direct_start` says ``manual`` for a person and ``api`` for an API token.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from chalicelib.services.triggers.kinds.base import NoSecretToRotate


class ManualKind:
    name: str = "manual"
    section: str | None = None
    section_title: str = ""
    settings: type[BaseModel] | None = None
    changes: type[BaseModel] | None = None
    view: type[BaseModel] | None = None

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

    def rotate_secret(self, row: Mapping[str, Any], secret: str | None, *,
                      keep_previous_until: dt.datetime | None) -> tuple[dict[str, Any], str | None]:
        raise NoSecretToRotate(self.name)

    def tick(self, now: dt.datetime) -> int:
        return 0


KIND = ManualKind()

API_START = "api"  # a run started directly with an API token


def direct_start(principal: Any) -> str:
    """The trigger label of a run ``principal`` starts directly: ``api`` for an API token, else ``manual``."""
    return API_START if principal.kind == "api" else KIND.name
