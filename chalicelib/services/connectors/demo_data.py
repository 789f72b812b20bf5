"""Demo samples for ACME and BETA: a custom app (published v1 and a draft v2) and a few connections.

The secrets are obvious placeholders; they are sealed like any other, so the
demo exercises the same path as real data. One of the container's demo
seeders (``chalicelib/bootstrap.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, update

from chalicelib.connectors.catalog import get_builtin
from chalicelib.ids import new_id
from chalicelib.services.connectors.connections import preview
from chalicelib.services.connectors.documents import validated, with_metadata
from chalicelib.services.connectors.secrets_box import seal
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.connectors import app_actions, app_versions, apps, connections


def _orders_api(slug: str, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    app = {
        "name": name,
        "slug": slug,
        "vendor": name.split()[0],
        "category": "ecommerce",
        "description": "The company's own order service.",
        "icon": "",
    }
    document = {
        "format_version": 1,
        **app,
        "base_url": "{{ settings.base_url }}",
        "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key", "field": "api_key"},
        "auth_fields": {
            "type": "object",
            "required": ["api_key"],
            "properties": {"api_key": {"type": "string", "minLength": 8, "writeOnly": True}},
        },
        "settings_schema": {
            "type": "object",
            "required": ["base_url"],
            "properties": {"base_url": {"type": "string", "pattern": "^https?://"}},
        },
        "test_action": "ping",
        "actions": [
            {"key": "ping", "name": "Ping", "method": "GET", "path": "/ping", "body_encoding": "none"},
            {
                "key": "get_order",
                "name": "Get order",
                "method": "GET",
                "path": "/orders/{{ path.order_id }}",
                "body_encoding": "none",
                "path_schema": {
                    "type": "object",
                    "required": ["order_id"],
                    "properties": {"order_id": {"type": "string", "minLength": 1}},
                },
                "sample_input": {"path": {"order_id": "1001"}},
            },
        ],
    }
    return app, document


def _app(uow: UnitOfWork, tenant_id: str, slug: str, name: str) -> None:
    fields, document = _orders_api(slug, name)
    app_id = new_id()
    uow.execute(insert(apps).values(id=app_id, tenant_id=tenant_id, status="published", **fields))
    document = with_metadata(document, fields)
    validated(document)
    for number, status in ((1, "published"), (2, "draft")):
        version_id = new_id()
        uow.execute(
            insert(app_versions).values(
                id=version_id,
                tenant_id=tenant_id,
                app_id=app_id,
                number=number,
                status=status,
                definition=document,
                notes="Seeded sample." if number == 1 else "",
                # one transaction seeds both: older versions get older stamps, so "newest first" holds
                created_at=func.now() - timedelta(minutes=2 - number),
                published_at=func.now() if status == "published" else None,
            )
        )
        for action in document["actions"]:
            uow.execute(
                insert(app_actions).values(
                    id=new_id(), tenant_id=tenant_id, app_id=app_id, version_id=version_id, key=action["key"]
                )
            )


def _connection(
    uow: UnitOfWork,
    tenant_id: str,
    workspace_id: str,
    slug: str,
    name: str,
    settings: dict[str, Any],
    secrets: dict[str, Any],
) -> None:
    connection_id = new_id()
    uow.execute(
        insert(connections).values(
            id=connection_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            builtin_app=slug,
            name=name,
            settings=settings,
            status="ok",
        )
    )
    uow.execute(
        update(connections)
        .where(connections.c.id == connection_id)
        .values(
            secrets_envelope=seal(tenant_id, connection_id, secrets) if secrets else None,
            credentials_preview=preview(get_builtin(slug), secrets),
        )
    )


def seed(uow: UnitOfWork, seeded: dict[str, Any]) -> None:
    acme, beta = seeded.get("acme"), seeded.get("beta")
    if acme:
        uow.set_tenant(acme["tenant_id"])
        _app(uow, acme["tenant_id"], "acme-orders", "ACME Orders API")
        ops = acme["workspaces"][0]
        _connection(
            uow,
            acme["tenant_id"],
            ops,
            "slack",
            "Team Slack",
            {},
            {"token": "xoxb-demo-0000-acme-placeholder-token"},
        )
        _connection(
            uow, acme["tenant_id"], ops, "http", "Status page", {"base_url": "https://status.example.com"}, {}
        )
    if beta:
        uow.set_tenant(beta["tenant_id"])
        _app(uow, beta["tenant_id"], "beta-inventory", "BETA Inventory API")
        _connection(
            uow,
            beta["tenant_id"],
            beta["workspaces"][0],
            "stripe",
            "Stripe (test mode)",
            {},
            {"secret_key": "sk_test_demo_beta_placeholder_key_0000"},
        )

