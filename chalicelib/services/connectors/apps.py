"""Apps: the built-in catalog (global, read-only) and the tenant's custom apps.

A custom app's metadata lives on its row and is folded into its draft's
document on every save; published versions keep the metadata they were
published with. Creating an app with a ``definition`` opens draft 1.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from chalicelib.connectors.catalog import load_catalog
from chalicelib.db.pagination import paginate
from chalicelib.db.uow import tenant_uow
from chalicelib.ids import new_id
from chalicelib.services import audit
from chalicelib.services.authentication import Principal
from chalicelib.services.connectors import views
from chalicelib.services.connectors.definitions import app_ref
from chalicelib.services.connectors.errors import AppInUse, BuiltinReadOnly, DuplicateSlug
from chalicelib.services.connectors.listing import catalog_then_rows
from chalicelib.services.connectors.versions import insert_version, refold_draft
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.connectors import app_versions, apps, connections

SOURCES = ("all", "builtin", "custom")


def builtin_apps(category: str | None = None) -> list[dict[str, Any]]:
    return [
        views.builtin_app(c)
        for _, c in sorted(load_catalog().items())
        if category is None or c.category == category
    ]


def list_apps(principal: Principal, params: dict[str, str]) -> dict[str, Any]:
    """Built-in apps first (by slug), then the tenant's, newest first (``source``, ``category`` filter)."""
    source = params.get("source", "all")
    if source not in SOURCES:
        source = "all"
    category = params.get("category") or None
    catalog = builtin_apps(category) if source in ("all", "builtin") else []
    with tenant_uow(principal.tenant_id) as uow:

        def rows_page(limit: int, cursor: str | None) -> dict[str, Any]:
            query = select(apps)
            if category:
                query = query.where(apps.c.category == category)
            page = paginate(uow, query, apps, {"limit": str(limit), **({"cursor": cursor} if cursor else {})})
            return {"items": [views.custom_app(r) for r in page["items"]], "next_cursor": page["next_cursor"]}

        return catalog_then_rows(catalog, rows_page if source in ("all", "custom") else None, params)


def _row(uow: UnitOfWork, app_id: str) -> dict[str, Any]:
    return dict(uow.execute(select(apps).where(apps.c.id == app_id)).mappings().one())


def get_app(principal: Principal, app_id: str) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        ref = app_ref(uow, app_id)
        if ref.builtin:
            return views.builtin_app(load_catalog()[ref.slug])
        view = views.custom_app(_row(uow, app_id))
        versions = uow.execute(
            select(app_versions.c.id, app_versions.c.status)
            .where(app_versions.c.app_id == app_id)
            .order_by(app_versions.c.number.desc())
        ).all()
    view["latest_version_id"] = str(versions[0].id) if versions else None
    view["draft_version_id"] = next((str(v.id) for v in versions if v.status == "draft"), None)
    return view


def _check_slug_free(uow: UnitOfWork, slug: str) -> None:
    if slug in load_catalog() or uow.execute(select(apps.c.id).where(apps.c.slug == slug)).first():
        raise DuplicateSlug(f"An app with slug {slug!r} exists.")


def create_app(
    principal: Principal, fields: dict[str, Any], definition: dict[str, Any] | None, notes: str = ""
) -> dict[str, Any]:
    """Create a custom app; with a ``definition``, also its draft version 1."""
    app_id = new_id()
    with tenant_uow(principal.tenant_id) as uow:
        _check_slug_free(uow, fields["slug"])
        try:
            uow.execute(
                insert(apps).values(
                    id=app_id,
                    tenant_id=principal.tenant_id,
                    status="draft",
                    created_by=principal.actor_id,
                    **fields,
                )
            )
        except IntegrityError:
            raise DuplicateSlug(f"An app with slug {fields['slug']!r} exists.") from None
        row = _row(uow, app_id)
        if definition is not None:
            insert_version(uow, principal, row, definition, notes=notes)
        audit.record(uow, principal, "app.created", "app", app_id, after=fields)
        uow.commit()
    return get_app(principal, app_id)


def update_app(principal: Principal, app_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change metadata; the draft's document follows, published versions do not."""
    with tenant_uow(principal.tenant_id) as uow:
        if app_ref(uow, app_id).builtin:
            raise BuiltinReadOnly("Built-in apps cannot be changed.")
        before = _row(uow, app_id)
        if changes:
            uow.execute(update(apps).where(apps.c.id == app_id).values(**changes, updated_at=func.now()))
            refold_draft(uow, _row(uow, app_id))
            audit.record(
                uow,
                principal,
                "app.updated",
                "app",
                app_id,
                before={k: before[k] for k in changes},
                after=changes,
            )
        uow.commit()
    return get_app(principal, app_id)


def delete_app(principal: Principal, app_id: str) -> None:
    with tenant_uow(principal.tenant_id) as uow:
        if app_ref(uow, app_id).builtin:
            raise BuiltinReadOnly("Built-in apps cannot be deleted.")
        before = _row(uow, app_id)
        if uow.execute(select(exists().where(connections.c.app_id == app_id))).scalar():
            raise AppInUse("Connections still use this app; delete them first.")
        uow.execute(delete(apps).where(apps.c.id == app_id))
        audit.record(
            uow, principal, "app.deleted", "app", app_id, before={k: before[k] for k in views.APP_FIELDS}
        )
        uow.commit()
