"""The flow editor's view of the catalog: providers and node templates.

- ``GET /api/providers``: every app a workflow can use — built-in, and the
  tenant's apps with a published version — with what a connection form needs.
- ``GET /api/node-templates``: the built-in step types (the container's step catalog),
  every usable app action with its argument schemas, and the tenant's own
  templates (``POST /api/node-templates``, admins): a saved preset of a step
  type or an action, with default config and optionally a default connection,
  referenced from a node as ``tpl:<name>``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.exc import IntegrityError

from chalicelib.connectors.catalog import load_catalog
from chalicelib.connectors.definition import ConnectorDefinition
from chalicelib.container import current
from chalicelib.db.uow import tenant_uow
from chalicelib.engine.graph_checks import SAFE_NAME, misplaced_secrets
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.ids import new_id
from chalicelib.services import audit
from chalicelib.services.authentication import Principal
from chalicelib.services.connectors import views
from chalicelib.services.connectors.definitions import definition_of, needs_connection, resolve_action
from chalicelib.services.connectors.errors import DuplicateName
from chalicelib.services.connectors.ids import TEMPLATE_PREFIX, builtin_app_id, builtin_version_id
from chalicelib.services.connectors.listing import page_of
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.connectors import app_actions, app_versions, apps, connections, node_templates

ACTION_STEP = "action"


def _provider(
    connector: ConnectorDefinition, *, app_id: str, version_id: str, builtin: bool
) -> dict[str, Any]:
    return {
        "id": app_id,
        "version_id": version_id,
        "builtin": builtin,
        **{name: getattr(connector, name) for name in views.APP_FIELDS},
        "auth_type": connector.auth.type,
        "auth_fields": connector.auth_fields,
        "settings_schema": connector.settings_schema,
        "needs_connection": needs_connection(connector),
        "test_action": connector.test_action,
        "action_count": len(connector.actions),
    }


def _published(uow: UnitOfWork) -> list[tuple[dict[str, Any], ConnectorDefinition]]:
    """Each custom app's latest published version (newest apps first)."""
    rows = (
        uow.execute(
            select(
                app_versions.c.id, app_versions.c.app_id, app_versions.c.updated_at, app_versions.c.definition
            )
            .ext(distinct_on(app_versions.c.app_id))
            .where(app_versions.c.status == "published")
            .order_by(app_versions.c.app_id, app_versions.c.number.desc())
        )
        .mappings()
        .all()
    )
    created = dict(uow.execute(select(apps.c.id, apps.c.created_at)).all())
    out = [(dict(r), definition_of(r["id"], r["updated_at"], r["definition"])) for r in rows]
    return sorted(
        out, key=lambda item: (created.get(item[0]["app_id"]), str(item[0]["app_id"])), reverse=True
    )


def list_providers(principal: Principal, params: dict[str, str]) -> dict[str, Any]:
    items = [
        _provider(c, app_id=builtin_app_id(slug), version_id=builtin_version_id(slug), builtin=True)
        for slug, c in sorted(load_catalog().items())
    ]
    with tenant_uow(principal.tenant_id) as uow:
        items += [
            _provider(c, app_id=str(r["app_id"]), version_id=str(r["id"]), builtin=False)
            for r, c in _published(uow)
        ]
    return page_of(items, params)


def _step_type_templates() -> list[dict[str, Any]]:
    return [
        {"kind": "step_type", "ref": None, **described} for described in current().step_catalog.describe()
    ]


def _action_template(action: dict[str, Any], connector: ConnectorDefinition) -> dict[str, Any]:
    return {
        "kind": "app_action",
        "type": ACTION_STEP,
        "ref": action["id"],
        "title": f"{connector.name}: {action['name']}",
        "description": action["description"],
        "app_id": action["app_id"],
        "version_id": action["version_id"],
        "needs_connection": needs_connection(connector),
        "input_schema": action["input_schema"],
        "output_schema": action["output_schema"],
        "sample_input": action["sample_input"],
    }


def _custom_template(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "custom",
        "id": str(row["id"]),
        "type": row["step_type"],
        "ref": TEMPLATE_PREFIX + row["name"],
        "name": row["name"],
        "title": row["title"],
        "description": row["description"],
        "action_ref": row["action_ref"],
        "config": row["config"],
        "default_connection_id": str(row["default_connection_id"]) if row["default_connection_id"] else None,
        "created_at": row["created_at"],
    }


def list_node_templates(principal: Principal, params: dict[str, str]) -> dict[str, Any]:
    """Step types, then app actions (built-in, then published custom), then the tenant's templates."""
    kind = params.get("kind")
    items: list[dict[str, Any]] = []
    if kind in (None, "step_type"):
        items += _step_type_templates()
    with tenant_uow(principal.tenant_id) as uow:
        if kind in (None, "app_action"):
            for _, connector in sorted(load_catalog().items()):
                items += [
                    _action_template(views.builtin_action(connector, a.key), connector)
                    for a in connector.actions
                ]
            for row, connector in _published(uow):
                ids = dict(
                    uow.execute(
                        select(app_actions.c.key, app_actions.c.id).where(
                            app_actions.c.version_id == row["id"]
                        )
                    ).all()
                )
                items += [
                    _action_template(
                        views.action(
                            connector,
                            a.key,
                            action_id=str(ids[a.key]),
                            app_id=str(row["app_id"]),
                            version_id=str(row["id"]),
                            builtin=False,
                        ),
                        connector,
                    )
                    for a in connector.actions
                    if a.key in ids
                ]
        if kind in (None, "custom"):
            rows = uow.execute(select(node_templates).order_by(node_templates.c.name)).mappings().all()
            items += [_custom_template(dict(r)) for r in rows]
    return page_of(items, params)


def create_node_template(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Save a named preset (admins). The name must be safe and must not shadow a step type."""
    name, catalog = body["name"], current().step_catalog
    details = []
    if not SAFE_NAME.match(name):
        details.append({"path": "/name", "issue": f"must match {SAFE_NAME.pattern}"})
    if name in catalog:
        details.append({"path": "/name", "issue": "is the name of a built-in step type"})
    if body["step_type"] not in catalog:
        details.append({"path": "/step_type", "issue": "is not a built-in step type"})
    issues = catalog.check_config(body["step_type"], body["config"]) if not details else []
    details += [{"path": "/config" + i["path"], "issue": i["issue"]} for i in issues]
    if not details:  # a preset copied into a node must not carry a secret where a node may not
        details += misplaced_secrets(catalog, body["step_type"], dict(body["config"] or {}), "/config", name)
    if body["step_type"] == ACTION_STEP and not body.get("action_ref"):
        details.append({"path": "/action_ref", "issue": "is required for an action template"})
    if details:
        raise ValidationFailed("The node template is invalid.", details=details)
    template_id = new_id()
    with tenant_uow(principal.tenant_id) as uow:
        if body.get("action_ref"):
            try:
                resolve_action(uow, body["action_ref"])
            except NotFound:
                raise ValidationFailed(details=[{"path": "/action_ref", "issue": "no such action"}]) from None
        if (
            body.get("default_connection_id")
            and uow.execute(
                select(connections.c.id).where(connections.c.id == body["default_connection_id"])
            ).first()
            is None
        ):
            raise ValidationFailed(
                details=[{"path": "/default_connection_id", "issue": "no such connection"}]
            )
        try:
            with uow.connection.begin_nested():
                uow.execute(
                    insert(node_templates).values(
                        id=template_id, tenant_id=principal.tenant_id, created_by=principal.actor_id, **body
                    )
                )
        except IntegrityError:
            raise DuplicateName(f"A node template named {name!r} exists.") from None
        row = dict(
            uow.execute(select(node_templates).where(node_templates.c.id == template_id)).mappings().one()
        )
        audit.record(
            uow,
            principal,
            "node_template.created",
            "node_template",
            template_id,
            after={k: body[k] for k in ("name", "title", "step_type", "action_ref")},
        )
        uow.commit()
    return _custom_template(row)


def delete_node_template(principal: Principal, template_id: str) -> None:
    with tenant_uow(principal.tenant_id) as uow:
        row = uow.execute(select(node_templates.c.name).where(node_templates.c.id == template_id)).first()
        if row is None:
            raise NotFound("No such node template.")
        uow.execute(delete(node_templates).where(node_templates.c.id == template_id))
        audit.record(
            uow, principal, "node_template.deleted", "node_template", template_id, before={"name": row.name}
        )
        uow.commit()


def template_row(uow: UnitOfWork, name: str) -> dict[str, Any] | None:
    row = uow.execute(select(node_templates).where(node_templates.c.name == name)).mappings().first()
    return dict(row) if row else None
