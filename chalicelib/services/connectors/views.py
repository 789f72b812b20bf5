"""How apps, versions and actions read in the API: one shape for built-in and custom ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.connectors.definition import ConnectorDefinition
from chalicelib.services.connectors.ids import (
    BUILTIN_VERSION,
    builtin_action_id,
    builtin_app_id,
    builtin_version_id,
)

APP_FIELDS = ("name", "slug", "vendor", "category", "description", "icon")


def builtin_app(connector: ConnectorDefinition) -> dict[str, Any]:
    return {
        "id": builtin_app_id(connector.slug),
        "builtin": True,
        **{name: getattr(connector, name) for name in APP_FIELDS},
        "status": "published",
        "auth_type": connector.auth.type,
        "latest_version_id": builtin_version_id(connector.slug),
        "created_at": None,
        "updated_at": None,
    }


def custom_app(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "builtin": False,
        **{name: row[name] for name in APP_FIELDS},
        "status": row["status"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def builtin_version(connector: ConnectorDefinition, *, detail: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": builtin_version_id(connector.slug),
        "app_id": builtin_app_id(connector.slug),
        "builtin": True,
        "number": BUILTIN_VERSION,
        "status": "published",
        "notes": "",
        "auth_type": connector.auth.type,
        "action_count": len(connector.actions),
        "created_at": None,
        "updated_at": None,
        "published_at": None,
        "deprecated_at": None,
    }
    if detail:
        view["definition"] = dict(connector.raw)
    return view


def custom_version(row: Mapping[str, Any], *, detail: bool) -> dict[str, Any]:
    definition = row["definition"] or {}
    view: dict[str, Any] = {
        "id": str(row["id"]),
        "app_id": str(row["app_id"]),
        "builtin": False,
        "number": row["number"],
        "status": row["status"],
        "notes": row["notes"],
        "auth_type": (definition.get("auth") or {}).get("type"),
        "action_count": len(definition.get("actions") or []),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "published_at": row["published_at"],
        "deprecated_at": row["deprecated_at"],
    }
    if detail:
        view["definition"] = definition
    return view


def action(
    connector: ConnectorDefinition, key: str, *, action_id: str, app_id: str, version_id: str, builtin: bool
) -> dict[str, Any]:
    """An action with its argument schemas (what a flow editor needs to build a node's input)."""
    definition = connector.action(key)
    raw: dict[str, Any] = next((a for a in connector.raw.get("actions", []) if a.get("key") == key), {})
    return {
        "id": action_id,
        "app_id": app_id,
        "version_id": version_id,
        "builtin": builtin,
        "key": key,
        "name": definition.name,
        "description": definition.description,
        "method": definition.method,
        "path": definition.path,
        "input_schema": definition.input_schema,
        "output_schema": definition.output_schema,
        "sample_input": definition.sample_input,
        "retry": {
            "max_attempts": definition.retry.max_attempts,
            "base_delay": definition.retry.base_delay,
            "max_delay": definition.retry.max_delay,
            "multiplier": definition.retry.multiplier,
            "max_total_seconds": definition.max_total_seconds,
        },
        "timeout_seconds": definition.timeout_seconds,
        "is_test_action": key == connector.test_action,
        "definition": raw,
    }


def builtin_action(connector: ConnectorDefinition, key: str) -> dict[str, Any]:
    return action(
        connector,
        key,
        action_id=builtin_action_id(connector.slug, key),
        app_id=builtin_app_id(connector.slug),
        version_id=builtin_version_id(connector.slug),
        builtin=True,
    )
