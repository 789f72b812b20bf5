"""How triggers and deliveries look in the API (secrets masked, URLs and next fire time shown)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from chalicelib.config import get_settings
from chalicelib.services.triggers import secrets
from chalicelib.triggers.cron import upcoming_slots

DELIVERY_FIELDS = ("id", "trigger_id", "workspace_id", "workflow_id", "kind", "mode", "outcome", "reason",
                   "dedupe_key", "dedupe_source", "external_id", "slot", "run_id", "duplicate_of",
                   "status_code", "body_bytes", "actor_id", "created_at", "started_at")


def webhook_url(workspace_id: str, path: str, *, test: bool = False) -> str:
    base = get_settings().public_base_url.rstrip("/")
    return f"{base}/webhooks/{workspace_id}/{path}" + ("/test" if test else "")


def present_trigger(row: Mapping[str, Any], *, now: dt.datetime | None = None, upcoming: int = 0,
                    new_secret: str | None = None) -> dict[str, Any]:
    """The API view of a trigger row; ``new_secret`` is shown once, when the platform generated it."""
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
    config = row["config"] or {}
    if row["kind"] == "webhook":
        data["webhook"] = {
            "path": row["webhook_path"],
            "url": webhook_url(str(row["workspace_id"]), row["webhook_path"]),
            "test_url": webhook_url(str(row["workspace_id"]), row["webhook_path"], test=True),
            "signature_scheme": row["signature_scheme"],
            "secret": secrets.masked(row["secret_hint"]),
            "previous_secret_expires_at": _still_valid(row["previous_secret_expires_at"], now),
            "correlation_key": config.get("correlation_key"),
            "payload": config.get("payload", "envelope"),
        }
        if new_secret is not None:
            data["webhook"]["new_secret"] = new_secret
    elif row["kind"] == "cron":
        schedule: dict[str, Any] = {
            "cron": row["cron_expression"],
            "timezone": row["timezone"],
            "missed_slot_policy": row["missed_slot_policy"],
            "next_fire_at": row["next_fire_at"],
            "last_slot": row["last_slot"],
        }
        if upcoming and row["enabled"] and now is not None:
            schedule["upcoming"] = upcoming_slots(row["cron_expression"], row["timezone"], now, upcoming)
        data["schedule"] = schedule
    return data


def _still_valid(expires_at: dt.datetime | None, now: dt.datetime | None) -> dt.datetime | None:
    if expires_at is None or (now is not None and expires_at <= now):
        return None
    return expires_at


def present_delivery(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in DELIVERY_FIELDS}
