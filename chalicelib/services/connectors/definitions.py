"""Finding connector definitions: apps, versions and actions, built-in or custom, by id.

Built-in ids resolve against the catalog files (global); UUIDs resolve
against the tenant's rows, inside the caller's unit of work (row-level
security scopes them). A version's definition is validated into a
``ConnectorDefinition`` once per (version, last change) and cached: published
versions never change, a draft's cache entry dies with its next save.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select

from chalicelib.cache import BoundedCache
from chalicelib.connectors.catalog import get_builtin, load_catalog
from chalicelib.connectors.definition import ConnectorDefinition
from chalicelib.connectors.errors import ActionNotFound
from chalicelib.connectors.format import validate_connector
from chalicelib.errors import NotFound
from chalicelib.services.connectors.errors import AppHasNoVersion
from chalicelib.services.connectors.ids import (
    builtin_action_id,
    builtin_app_id,
    builtin_version_id,
    is_uuid,
    parse_builtin,
)
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.connectors import app_actions, app_versions, apps

_cache: BoundedCache[tuple[str, str], ConnectorDefinition] = BoundedCache(256)


@dataclass(frozen=True)
class AppRef:
    """An app, built-in (``id`` = ``builtin:<slug>``) or custom (``id`` = its UUID)."""

    id: str
    slug: str
    builtin: bool

    @property
    def row_id(self) -> str | None:
        """The ``apps`` row id (``None`` for built-in apps)."""
        return None if self.builtin else self.id


@dataclass(frozen=True)
class VersionedConnector:
    """A connector definition and the version it came from."""

    app: AppRef
    version_id: str
    version_status: str
    connector: ConnectorDefinition


@dataclass(frozen=True)
class ResolvedAction:
    """An action id resolved to its connector, version and key."""

    action_id: str
    key: str
    source: VersionedConnector

    @property
    def connector(self) -> ConnectorDefinition:
        return self.source.connector

    @property
    def app(self) -> AppRef:
        return self.source.app


def definition_of(version_id: str, changed: Any, document: Mapping[str, Any]) -> ConnectorDefinition:
    """The validated definition of a stored version (cached by id and last change)."""
    key = (str(version_id), str(changed))
    found = _cache.get(key)
    if found is None:
        found = validate_connector(document)
        _cache.put(key, found)
    return found


def builtin_source(slug: str) -> VersionedConnector:
    connector = get_builtin(slug)
    return VersionedConnector(
        AppRef(builtin_app_id(slug), slug, True), builtin_version_id(slug), "published", connector
    )


def app_ref(uow: UnitOfWork, app_id: str) -> AppRef:
    """The app named by ``app_id``; ``NotFound`` when it is neither built-in nor the tenant's."""
    ref = parse_builtin(app_id)
    if ref is not None:
        if ref.kind != "app" or ref.slug not in load_catalog():
            raise NotFound("No such app.")
        return AppRef(app_id, ref.slug, True)
    if not is_uuid(app_id):
        raise NotFound("No such app.")
    row = uow.execute(select(apps.c.id, apps.c.slug).where(apps.c.id == app_id)).first()
    if row is None:
        raise NotFound("No such app.")
    return AppRef(str(row.id), row.slug, False)


_PREFERENCE = case((app_versions.c.status == "published", 0), (app_versions.c.status == "draft", 1), else_=2)


def current_source(uow: UnitOfWork, app: AppRef) -> VersionedConnector:
    """The version connections of ``app`` use: latest published, else the draft, else latest deprecated."""
    if app.builtin:
        return builtin_source(app.slug)
    row = (
        uow.execute(
            select(
                app_versions.c.id, app_versions.c.status, app_versions.c.updated_at, app_versions.c.definition
            )
            .where(app_versions.c.app_id == app.id)
            .order_by(_PREFERENCE, app_versions.c.number.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise AppHasNoVersion("The app has no version yet: add a definition first.")
    return VersionedConnector(
        app, str(row["id"]), row["status"], definition_of(row["id"], row["updated_at"], row["definition"])
    )


def resolve_action(uow: UnitOfWork, action_id: str) -> ResolvedAction:
    """The action named by ``action_id`` (built-in or the tenant's); ``ActionNotFound`` otherwise."""
    ref = parse_builtin(action_id)
    if ref is not None:
        if ref.kind != "action" or ref.slug not in load_catalog():
            raise ActionNotFound("No such action.")
        source = builtin_source(ref.slug)
        source.connector.action(ref.key or "")  # ActionNotFound when the key is unknown
        return ResolvedAction(builtin_action_id(ref.slug, ref.key or ""), ref.key or "", source)
    if not is_uuid(action_id):
        raise ActionNotFound("No such action.")
    row = (
        uow.execute(
            select(
                app_actions.c.id,
                app_actions.c.key,
                app_versions.c.id.label("version_id"),
                app_versions.c.status,
                app_versions.c.updated_at,
                app_versions.c.definition,
                apps.c.id.label("app_id"),
                apps.c.slug,
            )
            .join(app_versions, app_versions.c.id == app_actions.c.version_id)
            .join(apps, apps.c.id == app_actions.c.app_id)
            .where(app_actions.c.id == action_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise ActionNotFound("No such action.")
    connector = definition_of(row["version_id"], row["updated_at"], row["definition"])
    source = VersionedConnector(
        AppRef(str(row["app_id"]), row["slug"], False), str(row["version_id"]), row["status"], connector
    )
    return ResolvedAction(str(row["id"]), row["key"], source)


def needs_connection(connector: ConnectorDefinition) -> bool:
    """Whether calls need a connection: for credentials, or for settings without defaults."""
    if connector.auth.type != "none":
        return True
    schema = connector.settings_schema if isinstance(connector.settings_schema, Mapping) else {}
    props = schema.get("properties", {})
    return any(
        not (isinstance(props.get(name), Mapping) and "default" in props[name])
        for name in schema.get("required", [])
    )
