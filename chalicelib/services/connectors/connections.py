"""Connections: credentials for one app in one workspace.

Secrets are write-only. They are sealed with a fresh data key on every write
(``secrets_box``) and reads show ``credentials_preview``: secret fields masked
(``••••abcd``), plain fields (a username, a token's expiry) as they are.

Changing a connection's settings could send its credentials somewhere else
(``base_url``, a shop subdomain), so a settings change must re-enter the
secrets, which then replace the stored ones entirely. Otherwise a secrets
change merges: given fields replace, ``null`` removes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, cast, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from chalicelib.connectors.definition import ConnectorDefinition
from chalicelib.connectors.request_builder import effective_settings
from chalicelib.connectors.schema_errors import validate_against
from chalicelib.db.pagination import paginate
from chalicelib.db.uow import tenant_uow
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.ids import new_id
from chalicelib.masking import is_secret_key, mask_secret
from chalicelib.services import audit
from chalicelib.services.authentication import Principal
from chalicelib.services.connectors.definitions import AppRef, app_ref, current_source
from chalicelib.services.connectors.errors import ConnectionInUse, DuplicateName, SecretsRequired
from chalicelib.services.connectors.ids import builtin_app_id, is_builtin
from chalicelib.services.connectors.secrets_box import seal, unseal
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.connectors import connections
from chalicelib.tables.workflows import workflow_versions, workflows

OK, EXPIRED, REFRESH_FAILED, INVALID = "ok", "expired", "refresh_failed", "invalid"
STATUSES = (OK, EXPIRED, REFRESH_FAILED, INVALID)


# --- what a connection shows ----------------------------------------------------------------------


def is_secret_field(connector: ConnectorDefinition, name: str) -> bool:
    """Secret: marked ``writeOnly``, undeclared, or named like a secret."""
    return (
        name in connector.secret_fields
        or name not in connector.declared_credential_fields
        or is_secret_key(name)
    )


def preview(connector: ConnectorDefinition, secrets: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: (mask_secret(str(value)) if is_secret_field(connector, name) else value)
        for name, value in sorted(secrets.items())
    }


def app_id_of(row: Mapping[str, Any]) -> str:
    return builtin_app_id(row["builtin_app"]) if row["builtin_app"] else str(row["app_id"])


def view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "workspace_id": str(row["workspace_id"]),
        "app_id": app_id_of(row),
        "name": row["name"],
        "settings": row["settings"],
        "credentials": row["credentials_preview"],
        "status": row["status"],
        "status_detail": row["status_detail"],
        "token_expires_at": row["token_expires_at"],
        "last_tested_at": row["last_tested_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def initial_status(connector: ConnectorDefinition, secrets: Mapping[str, Any]) -> tuple[str, str | None]:
    if connector.auth.type == "oauth2" and not secrets.get(getattr(connector.auth, "access_token_field", "")):
        return INVALID, "authorization_required"
    return OK, None


def expiry_of(secrets: Mapping[str, Any]) -> datetime | None:
    """The access token's expiry (``expires_at``, RFC 3339) as stored by the OAuth2 flow."""
    value = secrets.get("expires_at")
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- validation -----------------------------------------------------------------------------------


def check_settings(connector: ConnectorDefinition, settings: Mapping[str, Any]) -> None:
    details = validate_against(
        connector.settings_schema, effective_settings(connector, settings), base="/settings"
    )
    if details:
        raise ValidationFailed("The connection's settings are invalid.", details=details)


def check_secrets(connector: ConnectorDefinition, secrets: Mapping[str, Any]) -> None:
    """Against ``auth_fields``; OAuth2 tokens arrive with the authorization, so they are not required here."""
    schema = dict(connector.auth_fields)
    if connector.auth.type == "oauth2":
        schema.pop("required", None)
    details = validate_against(schema, dict(secrets), base="/secrets", redact=True)
    if details:
        raise ValidationFailed("The connection's secrets are invalid.", details=details)


def merged_secrets(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(current)
    for name, value in changes.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


# --- storage --------------------------------------------------------------------------------------


def row_of(
    uow: UnitOfWork, connection_id: str, *, workspace_id: str | None = None, lock: bool = False
) -> dict[str, Any]:
    query = select(connections).where(connections.c.id == connection_id)
    if workspace_id is not None:
        query = query.where(connections.c.workspace_id == workspace_id)
    row = uow.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise NotFound("No such connection.")
    return dict(row)


def app_ref_of_row(row: Mapping[str, Any]) -> AppRef:
    if row["builtin_app"]:
        return AppRef(builtin_app_id(row["builtin_app"]), row["builtin_app"], True)
    return AppRef(str(row["app_id"]), "", False)


def store_secrets(
    uow: UnitOfWork,
    row: Mapping[str, Any],
    connector: ConnectorDefinition,
    secrets: Mapping[str, Any],
    **values: Any,
) -> None:
    """Seal ``secrets`` with a fresh data key and refresh everything derived from them."""
    envelope = seal(str(row["tenant_id"]), str(row["id"]), secrets) if secrets else None
    uow.execute(
        update(connections)
        .where(connections.c.id == row["id"])
        .values(
            secrets_envelope=envelope,
            credentials_preview=preview(connector, secrets),
            token_expires_at=expiry_of(secrets),
            updated_at=func.now(),
            **values,
        )
    )


# --- routes' services -----------------------------------------------------------------------------


def list_connections(principal: Principal, ws: str, params: dict[str, str]) -> dict[str, Any]:
    """A workspace's connections, newest first; ``app_id`` and ``status`` filter."""
    with tenant_uow(principal.tenant_id) as uow:
        query = select(connections).where(connections.c.workspace_id == ws)
        if params.get("status"):
            query = query.where(connections.c.status == params["status"])
        if params.get("app_id"):
            app = params["app_id"]
            query = query.where(
                connections.c.builtin_app == app.split(":", 1)[1]
                if is_builtin(app)
                else connections.c.app_id == app
            )
        page = paginate(uow, query, connections, params)
    return {"items": [view(r) for r in page["items"]], "next_cursor": page["next_cursor"]}


def get_connection(principal: Principal, ws: str, connection_id: str) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        return view(row_of(uow, connection_id, workspace_id=ws))


def create_connection(
    principal: Principal, ws: str, name: str, app_id: str, settings: dict[str, Any], secrets: dict[str, Any]
) -> dict[str, Any]:
    connection_id = new_id()
    with tenant_uow(principal.tenant_id) as uow:
        try:
            app = app_ref(uow, app_id)
        except NotFound:
            raise ValidationFailed(
                "Unknown app.", details=[{"path": "/app_id", "issue": "no such app"}]
            ) from None
        connector = current_source(uow, app).connector
        check_settings(connector, settings)
        secrets = {k: v for k, v in secrets.items() if v is not None}
        check_secrets(connector, secrets)
        status, detail = initial_status(connector, secrets)
        try:
            with uow.connection.begin_nested():
                uow.execute(
                    insert(connections).values(
                        id=connection_id,
                        tenant_id=principal.tenant_id,
                        workspace_id=ws,
                        name=name,
                        app_id=app.row_id,
                        builtin_app=app.slug if app.builtin else None,
                        settings=settings,
                        status=status,
                        status_detail=detail,
                        created_by=principal.actor_id,
                    )
                )
        except IntegrityError:
            raise DuplicateName("A connection with this name exists in the workspace.") from None
        row = row_of(uow, connection_id)
        store_secrets(uow, row, connector, secrets)
        row = row_of(uow, connection_id)
        audit.record(
            uow,
            principal,
            "connection.created",
            "connection",
            connection_id,
            after={
                "name": name,
                "app_id": app.id,
                "settings": settings,
                "credentials": row["credentials_preview"],
            },
            secret_keys=tuple(connector.secret_fields),
        )
        uow.commit()
    return view(row)


def update_connection(
    principal: Principal, ws: str, connection_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Rename, change settings (secrets must come along), or change secrets."""
    with tenant_uow(principal.tenant_id) as uow:
        before = row_of(uow, connection_id, workspace_id=ws, lock=True)
        connector = current_source(uow, app_ref_of_row(before)).connector
        values: dict[str, Any] = {}
        if "name" in changes and changes["name"] != before["name"]:
            values["name"] = changes["name"]
        settings_changed = "settings" in changes and changes["settings"] != before["settings"]
        secrets: dict[str, Any] | None = None
        if settings_changed:
            check_settings(connector, changes["settings"])
            if before["secrets_envelope"] is not None and "secrets" not in changes:
                raise SecretsRequired(
                    "Changing settings could send the credentials elsewhere: enter the secrets again.",
                    details=[{"path": "/secrets", "issue": "is required when settings change"}],
                )
            values["settings"] = changes["settings"]
            secrets = {k: v for k, v in (changes.get("secrets") or {}).items() if v is not None}
        elif "secrets" in changes:
            current = unseal(principal.tenant_id, connection_id, before["secrets_envelope"])
            secrets = merged_secrets(current, changes["secrets"] or {})
        try:
            with uow.connection.begin_nested():
                if secrets is not None:
                    check_secrets(connector, secrets)
                    status, detail = initial_status(connector, secrets)
                    store_secrets(
                        uow, before, connector, secrets, status=status, status_detail=detail, **values
                    )
                elif values:
                    uow.execute(
                        update(connections)
                        .where(connections.c.id == connection_id)
                        .values(**values, updated_at=func.now())
                    )
        except IntegrityError:
            raise DuplicateName("A connection with this name exists in the workspace.") from None
        after = row_of(uow, connection_id)
        if values or secrets is not None:
            audit.record(
                uow,
                principal,
                "connection.updated",
                "connection",
                connection_id,
                before={k: before[k] for k in ("name", "settings", "credentials_preview")},
                after={k: after[k] for k in ("name", "settings", "credentials_preview")},
                secret_keys=tuple(connector.secret_fields),
            )
        uow.commit()
    return view(after)


def rotate_secrets(
    principal: Principal, ws: str, connection_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Replace secrets (given fields; ``null`` removes) and re-seal everything under a fresh data key."""
    with tenant_uow(principal.tenant_id) as uow:
        before = row_of(uow, connection_id, workspace_id=ws, lock=True)
        connector = current_source(uow, app_ref_of_row(before)).connector
        secrets = merged_secrets(
            unseal(principal.tenant_id, connection_id, before["secrets_envelope"]), changes
        )
        check_secrets(connector, secrets)
        status, detail = initial_status(connector, secrets)
        store_secrets(uow, before, connector, secrets, status=status, status_detail=detail)
        after = row_of(uow, connection_id)
        audit.record(
            uow,
            principal,
            "connection.rotated",
            "connection",
            connection_id,
            before={"credentials": before["credentials_preview"], "key": _key_label(before)},
            after={
                "credentials": after["credentials_preview"],
                "key": _key_label(after),
                "rotated_fields": sorted(changes),
            },
            secret_keys=tuple(connector.secret_fields),
        )
        uow.commit()
    return view(after)


def _key_label(row: Mapping[str, Any]) -> str | None:
    envelope = row["secrets_envelope"]
    return f"{envelope['kek']}#{envelope['kv']}" if envelope else None


def workflows_using(uow: UnitOfWork, connection_id: str) -> list[dict[str, str]]:
    """Workflows whose draft or a published version names the connection (a node's or a secret's)."""
    draft = or_(cast(workflows.c.graph, Text).contains(connection_id),
                cast(workflows.c.secrets, Text).contains(connection_id))
    published = select(workflow_versions.c.workflow_id).where(or_(
        cast(workflow_versions.c.graph, Text).contains(connection_id),
        cast(workflow_versions.c.secrets, Text).contains(connection_id)))
    rows = uow.execute(select(workflows.c.id, workflows.c.title)
                       .where(or_(draft, workflows.c.id.in_(published))).order_by(workflows.c.title)).all()
    return [{"id": str(r.id), "title": r.title} for r in rows]


def delete_connection(principal: Principal, ws: str, connection_id: str) -> None:
    """Delete a connection no workflow uses (409 ``connection_in_use`` naming the workflows otherwise)."""
    with tenant_uow(principal.tenant_id) as uow:
        before = row_of(uow, connection_id, workspace_id=ws)
        users = workflows_using(uow, connection_id)
        if users:
            raise ConnectionInUse(
                f"{len(users)} workflow(s) use this connection; change them first: "
                + ", ".join(u["title"] for u in users[:10]),
                details=[{"path": f"/workflows/{u['id']}", "issue": f"uses this connection ({u['title']})"}
                         for u in users])
        uow.execute(delete(connections).where(connections.c.id == connection_id))
        audit.record(
            uow,
            principal,
            "connection.deleted",
            "connection",
            connection_id,
            before={"name": before["name"], "app_id": app_id_of(before)},
        )
        uow.commit()
