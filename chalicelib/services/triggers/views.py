"""How triggers and deliveries look in the API (secrets masked, URLs and next fire time shown)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from chalicelib.services.triggers.kinds import registered

DELIVERY_FIELDS = ("id", "trigger_id", "workspace_id", "workflow_id", "kind", "mode", "outcome", "reason",
                   "dedupe_key", "dedupe_source", "external_id", "slot", "run_id", "duplicate_of",
                   "status_code", "body_bytes", "actor_id", "created_at", "started_at")


def present_trigger(row: Mapping[str, Any], *, now: dt.datetime | None = None, upcoming: int = 0,
                    new_secret: str | None = None) -> dict[str, Any]:
    """The API view of a trigger row; ``new_secret`` is shown once, when the platform generated it.

    A trigger whose kind the process no longer has is shown without its kind's section, ``available: false``.
    """
    data: dict[str, Any] = {
        "id": str(row["id"]),
        "workspace_id": str(row["workspace_id"]),
        "flow_id": str(row["workflow_id"]),
        "kind": row["kind"],
        "name": row["name"],
        "enabled": row["enabled"],
        "input": row["input"],
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    kind = registered().get(row["kind"])
    data["available"] = kind is not None
    if kind is None:
        return data
    section = kind.present(row, now=now, upcoming=upcoming, new_secret=new_secret)
    if kind.section and section is not None:
        data[kind.section] = section
    return data


def present_delivery(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in DELIVERY_FIELDS}


def present_delivery_detail(row: Mapping[str, Any]) -> dict[str, Any]:
    """One delivery with the request as received (stored masked; ``None`` for cron firings and manual starts)."""
    data = present_delivery(row)
    data["request"] = None if row["request_method"] is None else {
        "method": row["request_method"],
        "headers": row["request_headers"] or {},
        "body": row["request_body"],
        "body_encoding": row["request_body_encoding"],
        "truncated": bool(row["request_truncated"]),
        "size": row["body_bytes"],
    }
    return data
