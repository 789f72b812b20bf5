"""Actions of an app version: read on any version, created, changed and removed on drafts only.

The version's document is the one source of an action's definition; each
action also has an ``app_actions`` row whose UUID is its stable id (what
workflows and ``POST /api/actions/{id}/test`` name). Every change re-validates
the whole document; problems of the changed action point into the request
body (``/path_schema``), others into the document (``/definition/test_action``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update

from chalicelib.connectors.catalog import load_catalog
from chalicelib.connectors.definition import ConnectorDefinition
from chalicelib.db.uow import tenant_uow
from chalicelib.errors import NotFound
from chalicelib.services import audit
from chalicelib.services.authentication import Principal
from chalicelib.services.connectors import views
from chalicelib.services.connectors.definitions import app_ref, definition_of, resolve_action
from chalicelib.services.connectors.documents import validated_with_action
from chalicelib.services.connectors.errors import DuplicateActionKey
from chalicelib.services.connectors.ids import builtin_action_id, builtin_version_id, is_uuid
from chalicelib.services.connectors.listing import page_of
from chalicelib.services.connectors.versions import editable_app, require_draft, sync_action_rows, version_row
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.connectors import app_actions, app_versions


def _ids_by_key(uow: UnitOfWork, version_id: str) -> dict[str, str]:
    rows = uow.execute(
        select(app_actions.c.key, app_actions.c.id).where(app_actions.c.version_id == version_id)
    )
    return {key: str(action_id) for key, action_id in rows}


def _custom_views(connector: ConnectorDefinition, ids: dict[str, str], row: Mapping[str, Any]) -> list[dict]:
    return [
        views.action(
            connector,
            a.key,
            action_id=ids[a.key],
            app_id=str(row["app_id"]),
            version_id=str(row["id"]),
            builtin=False,
        )
        for a in connector.actions
        if a.key in ids
    ]


def _version_actions(uow: UnitOfWork, app_id: str, version_id: str) -> list[dict[str, Any]]:
    ref = app_ref(uow, app_id)
    if ref.builtin:
        if version_id != builtin_version_id(ref.slug):
            raise NotFound("No such version.")
        connector = load_catalog()[ref.slug]
        return [views.builtin_action(connector, a.key) for a in connector.actions]
    row = version_row(uow, app_id, version_id)
    connector = definition_of(row["id"], row["updated_at"], row["definition"])
    return _custom_views(connector, _ids_by_key(uow, version_id), row)


def list_actions(
    principal: Principal, app_id: str, version_id: str, params: dict[str, str]
) -> dict[str, Any]:
    """A version's actions in document order."""
    with tenant_uow(principal.tenant_id) as uow:
        return page_of(_version_actions(uow, app_id, version_id), params)


def get_action(principal: Principal, app_id: str, version_id: str, action_id: str) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        found = next((a for a in _version_actions(uow, app_id, version_id) if a["id"] == action_id), None)
    if found is None:
        raise NotFound("No such action.")
    return found


def describe_action(principal: Principal, action_id: str) -> dict[str, Any]:
    """Any action by id (built-in or the tenant's), with its app's status."""
    with tenant_uow(principal.tenant_id) as uow:
        resolved = resolve_action(uow, action_id)
    source = resolved.source
    view = views.action(
        source.connector,
        resolved.key,
        action_id=resolved.action_id,
        app_id=source.app.id,
        version_id=source.version_id,
        builtin=source.app.builtin,
    )
    view["version_status"] = source.version_status
    return view


def _draft(uow: UnitOfWork, app_id: str, version_id: str) -> dict[str, Any]:
    editable_app(uow, app_id)
    row = version_row(uow, app_id, version_id, lock=True)
    require_draft(row)
    return row


def _save(
    uow: UnitOfWork, row: dict[str, Any], document: dict[str, Any], index: int, renamed: dict[str, str] | None = None
) -> ConnectorDefinition:
    connector = validated_with_action(document, index)
    uow.execute(
        update(app_versions)
        .where(app_versions.c.id == row["id"])
        .values(definition=document, updated_at=func.now())
    )
    sync_action_rows(uow, row, [a["key"] for a in document["actions"]], renamed)
    return connector


def _view_of(uow: UnitOfWork, connector: ConnectorDefinition, row: dict[str, Any], key: str) -> dict[str, Any]:
    ids = _ids_by_key(uow, str(row["id"]))
    return views.action(
        connector,
        key,
        action_id=ids[key],
        app_id=str(row["app_id"]),
        version_id=str(row["id"]),
        builtin=False,
    )


def create_action(principal: Principal, app_id: str, version_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Append an action to a draft."""
    with tenant_uow(principal.tenant_id) as uow:
        row = _draft(uow, app_id, version_id)
        document = dict(row["definition"])
        actions = list(document.get("actions", []))
        if any(a.get("key") == body.get("key") for a in actions):
            raise DuplicateActionKey(f"The version already has an action {body.get('key')!r}.")
        actions.append(body)
        document["actions"] = actions
        connector = _save(uow, row, document, len(actions) - 1)
        view = _view_of(uow, connector, row, body["key"])
        audit.record(
            uow,
            principal,
            "app_action.created",
            "app_action",
            view["id"],
            after={"version_id": version_id, "key": body["key"]},
        )
        uow.commit()
    return view


def _locate(uow: UnitOfWork, row: dict[str, Any], action_id: str) -> tuple[int, str]:
    if not is_uuid(action_id):
        raise NotFound("No such action.")
    key = uow.execute(
        select(app_actions.c.key).where(app_actions.c.id == action_id, app_actions.c.version_id == row["id"])
    ).scalar()
    index = next((i for i, a in enumerate(row["definition"].get("actions", [])) if a.get("key") == key), None)
    if key is None or index is None:
        raise NotFound("No such action.")
    return index, key


def update_action(
    principal: Principal, app_id: str, version_id: str, action_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Merge ``changes`` into a draft's action (top-level fields; ``null`` removes one)."""
    with tenant_uow(principal.tenant_id) as uow:
        row = _draft(uow, app_id, version_id)
        index, key = _locate(uow, row, action_id)
        document = dict(row["definition"])
        actions = list(document["actions"])
        merged = {k: v for k, v in {**actions[index], **changes}.items() if v is not None}
        new_key = merged.get("key", key)
        if new_key != key and any(a.get("key") == new_key for a in actions):
            raise DuplicateActionKey(f"The version already has an action {new_key!r}.")
        actions[index] = merged
        document["actions"] = actions
        if new_key != key and document.get("test_action") == key:
            document["test_action"] = new_key
        connector = _save(uow, row, document, index, {key: new_key} if new_key != key else None)
        view = _view_of(uow, connector, row, new_key)
        audit.record(
            uow, principal, "app_action.updated", "app_action", action_id, after={"changed": sorted(changes)}
        )
        uow.commit()
    return view


def delete_action(principal: Principal, app_id: str, version_id: str, action_id: str) -> None:
    with tenant_uow(principal.tenant_id) as uow:
        row = _draft(uow, app_id, version_id)
        index, key = _locate(uow, row, action_id)
        document = dict(row["definition"])
        document["actions"] = [a for i, a in enumerate(document["actions"]) if i != index]
        _save(uow, row, document, -1)
        audit.record(
            uow,
            principal,
            "app_action.deleted",
            "app_action",
            action_id,
            before={"version_id": version_id, "key": key},
        )
        uow.commit()


def builtin_action_ids() -> list[str]:
    return [builtin_action_id(slug, a.key) for slug, c in sorted(load_catalog().items()) for a in c.actions]
