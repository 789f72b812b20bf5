"""The workflow engine's way into the connector platform.

Two plain functions, and the adapters of the engine's ports
(``chalicelib.services.workflows.ports``) that ``chalicelib/bootstrap.py`` puts
into the container:

- ``resolve_credentials(tenant_id, workspace_id, connection_id, template_ref)``:
  the node's connection, else the template's default connection; decrypted,
  with OAuth2 tokens refreshed when about to expire. ``None`` when no
  connection applies.
- ``invoke_action(tenant_id, workspace_id, template_ref, input, credentials,
  idempotency_key)``: calls the action; the connection is re-read by the id
  the credentials carry (so a token refreshed by another step is used),
  refreshed before expiry and once on a 401, and its health kept current.

A template reference is an action id (``builtin:slack:post_message`` or a
custom action's UUID) or ``tpl:<name>`` (a node template wrapping one).
Credentials are a flat dict: the connection's fields, ``type`` (the app's auth
type), ``connection_id``, and the generic names ``http_request`` reads
(``token``, ``username``/``password``, ``api_key``/``in``/``name``,
``header``/``value``) when the app's own field names differ.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from chalicelib.connectors.definition import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    ConnectorDefinition,
    CustomHeaderAuth,
)
from chalicelib.db.uow import tenant_uow
from chalicelib.errors import NotFound
from chalicelib.services.connectors import live_credentials
from chalicelib.services.connectors.connections import app_ref_of_row
from chalicelib.services.connectors.definitions import (
    ResolvedAction,
    current_source,
    needs_connection,
    resolve_action,
)
from chalicelib.services.connectors.errors import (
    ConnectionNotUsable,
    ConnectionRequired,
    TemplateNotFound,
)
from chalicelib.services.connectors.ids import is_uuid, template_name
from chalicelib.services.connectors.live_credentials import TOKEN_FIELDS, LiveConnection, open_connection
from chalicelib.services.connectors.node_templates import template_row
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.services.workflows.ports import ActionCall, CredentialRequest, ResolvedCredentials
from chalicelib.tables.connectors import connections, node_templates


class Credentials(dict):
    """A plain dict whose ``repr`` never shows a value (a stray log line stays harmless)."""

    def __repr__(self) -> str:
        return f"Credentials(fields={sorted(self)})"

    __str__ = __repr__


@dataclass(frozen=True)
class Template:
    """A template reference, resolved: the action (if any) and the template's default connection."""

    action: ResolvedAction | None
    default_connection_id: str | None


def _template(uow: UnitOfWork, ref: str) -> Template:
    name = template_name(ref)
    if name is None:
        try:
            return Template(resolve_action(uow, ref), None)
        except NotFound:
            raise TemplateNotFound(f"No action {ref!r}.") from None
    row = template_row(uow, name)
    if row is None:
        raise TemplateNotFound(f"No node template {name!r}.")
    action = resolve_action(uow, row["action_ref"]) if row["action_ref"] else None
    default = str(row["default_connection_id"]) if row["default_connection_id"] else None
    return Template(action, default)


def _aliases(connector: ConnectorDefinition, secrets: Mapping[str, Any]) -> dict[str, Any]:
    """The generic names the ``http_request`` step reads, for this app's auth."""
    auth = connector.auth
    if isinstance(auth, BearerAuth):
        return {"token": secrets.get(auth.field)}
    if isinstance(auth, BasicAuth):
        password = secrets.get(auth.password_field) if auth.password_field else ""
        return {"username": secrets.get(auth.username_field), "password": password or ""}
    if isinstance(auth, ApiKeyAuth):
        return {
            "api_key": auth.prefix + str(secrets.get(auth.field) or ""),
            "in": auth.location,
            "name": auth.name,
        }
    if isinstance(auth, CustomHeaderAuth):
        return {
            "type": "header",
            "header": auth.header,
            "value": auth.prefix + str(secrets.get(auth.field) or ""),
        }
    return {}


def credentials_of(conn: LiveConnection, connector: ConnectorDefinition) -> Credentials:
    flat: dict[str, Any] = {"type": connector.auth.type, **conn.secrets}
    for name, value in _aliases(connector, conn.secrets).items():
        if value is not None and (name == "type" or name not in conn.secrets):
            flat[name] = value
    flat["connection_id"] = conn.id
    return Credentials(flat)


def _open_in_workspace(tenant_id: str, workspace_id: str, connection_id: str) -> LiveConnection:
    if not is_uuid(connection_id):
        raise ConnectionNotUsable(
            "No such connection in this workspace.",
            details=[{"path": "/connection_id", "issue": "no such connection"}],
        )
    try:
        return open_connection(tenant_id, connection_id, workspace_id=workspace_id)
    except NotFound:
        raise ConnectionNotUsable(
            "No such connection in this workspace.",
            details=[{"path": "/connection_id", "issue": "no such connection"}],
        ) from None


def resolve(
    tenant_id: str, workspace_id: str, connection_id: str | None, template_ref: str | None
) -> tuple[Credentials | None, bool]:
    """(credentials, required): node connection → template default (same workspace) → none."""
    template = None
    if template_ref:
        with tenant_uow(tenant_id) as uow:
            template = _template(uow, template_ref)
    action = template.action if template else None
    required = needs_connection(action.connector) if action else False
    chosen = connection_id
    if chosen is None and template is not None and template.default_connection_id:
        with tenant_uow(tenant_id) as uow:
            in_workspace = uow.execute(
                select(connections.c.id).where(
                    connections.c.id == template.default_connection_id,
                    connections.c.workspace_id == workspace_id,
                )
            ).first()
        chosen = template.default_connection_id if in_workspace else None
    if chosen is None:
        return None, required
    conn = _open_in_workspace(tenant_id, workspace_id, chosen)
    if action is not None:
        if conn.app.id != action.app.id:
            raise ConnectionNotUsable(
                "The connection belongs to another app than the action.",
                details=[{"path": "/connection_id", "issue": "belongs to another app"}],
            )
        connector = action.connector
    else:
        with tenant_uow(tenant_id) as uow:
            connector = current_source(uow, conn.app).connector
        if connector.auth.type == "none":
            return None, required  # an HTTP step sends nothing extra for a connection without credentials
    live_credentials.ensure_fresh(conn, connector)
    return credentials_of(conn, connector), required


def resolve_credentials(
    tenant_id: str, workspace_id: str, connection_id: str | None, template_ref: str | None
) -> dict[str, Any] | None:
    """The credentials a node uses, or ``None`` when no connection applies (see the module notes)."""
    return resolve(tenant_id, workspace_id, connection_id, template_ref)[0]


def invoke_action(
    tenant_id: str,
    workspace_id: str,
    template_ref: str,
    input: Mapping[str, Any],
    credentials: Mapping[str, Any] | None,
    idempotency_key: str | None,
    *,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Call the action ``template_ref`` names; its output (a non-object output as ``{"result": …}``)."""
    with tenant_uow(tenant_id) as uow:
        template = _template(uow, template_ref)
    if template.action is None:
        raise TemplateNotFound(f"The template {template_ref!r} names no action.")
    action = template.action
    connection_id = (credentials or {}).get("connection_id")
    conn = _open_in_workspace(tenant_id, workspace_id, str(connection_id)) if connection_id else None
    if conn is None and needs_connection(action.connector):
        raise ConnectionRequired("This action needs a connection and none was resolved.")
    if conn is not None and conn.app.id != action.app.id:
        raise ConnectionNotUsable("The connection belongs to another app than the action.")
    result = live_credentials.call(
        conn,
        action.connector,
        action.key,
        dict(input or {}),
        idempotency_key=idempotency_key,
        timeout=timeout,
        single_attempt=True,  # the engine's step attempt is the retry unit
    )
    return result.output if isinstance(result.output, dict) else {"result": result.output}


def missing_references(
    tenant_id: str, workspace_id: str, templates: set[str], connection_ids: set[str]
) -> tuple[set[str], set[str]]:
    """Which template references and connection ids do not exist (for graph validation)."""
    missing_templates: set[str] = set()
    with tenant_uow(tenant_id) as uow:
        for ref in templates:
            try:
                _template(uow, ref)
            except NotFound:
                missing_templates.add(ref)
        wanted = {c for c in connection_ids if is_uuid(c)}
        found = (
            {
                str(c)
                for c in uow.execute(
                    select(connections.c.id).where(
                        connections.c.id.in_(wanted), connections.c.workspace_id == workspace_id
                    )
                ).scalars()
            }
            if wanted
            else set()
        )
    return missing_templates, set(connection_ids) - found


def action_retry(tenant_id: str, workspace_id: str, template_ref: str) -> dict[str, Any] | None:
    """The retry defaults the action ``template_ref`` names declares, in a step's ``retry`` vocabulary."""
    try:
        with tenant_uow(tenant_id) as uow:
            template = _template(uow, template_ref)
    except NotFound:
        return None
    if template.action is None:
        return None
    retry = template.action.connector.action(template.action.key).retry
    return {"max_attempts": retry.max_attempts, "base_delay": retry.base_delay, "max_delay": retry.max_delay,
            "multiplier": retry.multiplier}


def template_presets(uow: UnitOfWork, refs: set[str]) -> dict[str, dict[str, Any]]:
    """``{ref: {"step_type", "config"}}`` for each ``tpl:<name>`` reference that names a node template."""
    names = {template_name(ref): ref for ref in refs if template_name(ref)}
    if not names:
        return {}
    rows = uow.execute(select(node_templates.c.name, node_templates.c.step_type, node_templates.c.config)
                       .where(node_templates.c.name.in_(list(names)))).all()
    return {names[name]: {"step_type": step_type, "config": dict(config or {})} for name, step_type, config in rows}


def secret_fields(tenant_id: str, workspace_id: str, connection_ids: set[str]) -> dict[str, frozenset[str]]:
    """For each of these connections in the workspace, the fields a workflow secret reference may read.

    The names of the credentials a run resolves for it (see :func:`credentials_of`): the
    fields the app declares and the connection stores, OAuth2 token fields, the generic
    aliases of the app's auth, ``type`` and ``connection_id``. A connection without
    credentials (auth ``none``) offers none. Read without decrypting anything.
    """
    wanted = {c for c in connection_ids if is_uuid(c)}
    if not wanted:
        return {}
    found: dict[str, frozenset[str]] = {}
    with tenant_uow(tenant_id) as uow:
        rows = uow.execute(
            select(connections).where(connections.c.id.in_(wanted), connections.c.workspace_id == workspace_id)
        ).mappings().all()
        for row in rows:
            connector = current_source(uow, app_ref_of_row(row)).connector
            if connector.auth.type == "none":
                found[str(row["id"])] = frozenset()
                continue
            names = set(connector.declared_credential_fields) | set(row["credentials_preview"] or {})
            if connector.auth.type == "oauth2":
                names |= set(TOKEN_FIELDS)
            aliases = _aliases(connector, dict.fromkeys(names, "x"))
            names |= {k for k, v in aliases.items() if v is not None}
            found[str(row["id"])] = frozenset(names | {"type", "connection_id"})
    return found


# --- the engine's ports ---------------------------------------------------------------------------


class ConnectorCredentialResolver:
    """``CredentialResolver`` port: node connections, template defaults, and secret references."""

    def resolve(self, request: CredentialRequest) -> ResolvedCredentials:
        template = (
            request.template if request.node_type == "action" or template_name(request.template) else None
        )
        credentials, required = resolve(
            request.tenant_id, request.workspace_id, request.connection_id, template
        )
        return ResolvedCredentials(credentials, required=required)


class ConnectorActionInvoker:
    """``ActionInvoker`` port: the step's deadline bounds the call's whole time budget."""

    def invoke(self, call: ActionCall) -> dict[str, Any]:
        timeout = None
        if call.deadline is not None:
            timeout = max(0.001, call.deadline - time.time())
        return invoke_action(
            call.tenant_id,
            call.workspace_id,
            call.template,
            call.input,
            call.credentials,
            call.idempotency_key,
            timeout=timeout,
        )


class ConnectorActionDefaults:
    """``ActionDefaults`` port: an action's declared retry feeds the step's policy; node templates' presets."""

    def retry(self, tenant_id: str, workspace_id: str, template: str) -> dict[str, Any] | None:
        return action_retry(tenant_id, workspace_id, template)

    def presets(self, uow: UnitOfWork, refs: set[str]) -> dict[str, dict[str, Any]]:
        return template_presets(uow, refs)


class ConnectorReferenceChecker:
    """``ReferenceChecker`` port: templates and connections a graph names that do not exist."""

    def missing(
        self, tenant_id: str, workspace_id: str, templates: set[str], connections: set[str]
    ) -> tuple[set[str], set[str]]:
        return missing_references(tenant_id, workspace_id, templates, connections)

    def secret_fields(self, tenant_id: str, workspace_id: str, connections: set[str]) -> dict[str, frozenset[str]]:
        return secret_fields(tenant_id, workspace_id, connections)
