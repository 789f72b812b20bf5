"""App versions: ``draft`` → ``published`` (immutable) → ``deprecated``.

An app has at most one draft (a partial unique index makes a race between two
builders end with one winner and one 409). A new draft starts from the
latest version's document unless a document is given. Every save validates
the whole document; transitions are compare-and-set updates, so publishing
twice or editing a published version answers 409.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from chalicelib.db.pagination import paginate
from chalicelib.db.uow import tenant_uow
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.ids import new_id
from chalicelib.services import audit
from chalicelib.services.authentication import Principal
from chalicelib.services.connectors import views
from chalicelib.services.connectors.definitions import AppRef, app_ref, builtin_source
from chalicelib.services.connectors.documents import validated, with_metadata
from chalicelib.services.connectors.errors import (
    BuiltinReadOnly,
    DraftExists,
    InvalidVersionTransition,
    NoDraft,
    VersionImmutable,
)
from chalicelib.services.connectors.ids import builtin_version_id, is_uuid
from chalicelib.services.connectors.listing import page_of
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.connectors import app_actions, app_versions, apps

DRAFT, PUBLISHED, DEPRECATED = "draft", "published", "deprecated"


# --- shared with apps and actions -----------------------------------------------------------------


def version_row(uow: UnitOfWork, app_id: str, version_id: str, *, lock: bool = False) -> dict[str, Any]:
    """The version ``version_id`` of custom app ``app_id``; ``NotFound`` otherwise."""
    if not is_uuid(version_id):
        raise NotFound("No such version.")
    query = select(app_versions).where(app_versions.c.id == version_id, app_versions.c.app_id == app_id)
    row = uow.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise NotFound("No such version.")
    return dict(row)


def editable_app(uow: UnitOfWork, app_id: str) -> AppRef:
    """The custom app ``app_id``; built-in apps are read-only (403)."""
    ref = app_ref(uow, app_id)
    if ref.builtin:
        raise BuiltinReadOnly("Built-in apps are read-only; create a custom app to change one.")
    return ref


def require_draft(row: dict[str, Any]) -> None:
    if row["status"] != DRAFT:
        raise VersionImmutable(
            f"Version {row['number']} is {row['status']} and cannot change; open a new draft."
        )


def sync_action_rows(
    uow: UnitOfWork, row: dict[str, Any], keys: list[str], renamed: dict[str, str] | None = None
) -> None:
    """Keep one ``app_actions`` row (a stable action id) per action key of the version."""
    renamed = renamed or {}
    for old, new in renamed.items():
        uow.execute(
            update(app_actions)
            .where(app_actions.c.version_id == row["id"], app_actions.c.key == old)
            .values(key=new)
        )
    existing = set(
        uow.execute(select(app_actions.c.key).where(app_actions.c.version_id == row["id"])).scalars()
    )
    gone = existing - set(keys)
    if gone:
        uow.execute(
            delete(app_actions).where(app_actions.c.version_id == row["id"], app_actions.c.key.in_(gone))
        )
    for key in keys:
        if key not in existing:
            uow.execute(
                insert(app_actions).values(
                    id=new_id(),
                    tenant_id=row["tenant_id"],
                    app_id=row["app_id"],
                    version_id=row["id"],
                    key=key,
                )
            )


def insert_version(
    uow: UnitOfWork, principal: Principal, app: dict[str, Any], definition: dict[str, Any], *, notes: str = ""
) -> dict[str, Any]:
    """Open the app's draft with ``definition`` (validated, metadata folded in)."""
    document = with_metadata(definition, app)
    validated(document)
    number = (
        uow.execute(
            select(func.max(app_versions.c.number)).where(app_versions.c.app_id == app["id"])
        ).scalar()
        or 0
    ) + 1
    version_id = new_id()
    try:
        with uow.connection.begin_nested():
            uow.execute(
                insert(app_versions).values(
                    id=version_id,
                    tenant_id=app["tenant_id"],
                    app_id=app["id"],
                    number=number,
                    status=DRAFT,
                    definition=document,
                    notes=notes,
                    created_by=principal.actor_id,
                )
            )
    except IntegrityError:
        raise DraftExists("The app already has a draft; edit or publish it first.") from None
    row = version_row(uow, app["id"], version_id)
    sync_action_rows(uow, row, [a["key"] for a in document["actions"]])
    return row


def refold_draft(uow: UnitOfWork, app: dict[str, Any]) -> None:
    """After a metadata change, fold it into the draft's document (published ones keep theirs)."""
    draft = (
        uow.execute(
            select(app_versions).where(app_versions.c.app_id == app["id"], app_versions.c.status == DRAFT)
        )
        .mappings()
        .first()
    )
    if draft is None:
        return
    document = with_metadata(draft["definition"], app)
    validated(document)
    uow.execute(
        update(app_versions)
        .where(app_versions.c.id == draft["id"])
        .values(definition=document, updated_at=func.now())
    )


def refresh_app_status(uow: UnitOfWork, app_id: str) -> None:
    """``published`` while any version is, else ``deprecated`` if any is, else ``draft``."""

    def having(status: str) -> Any:
        return exists().where(app_versions.c.app_id == app_id, app_versions.c.status == status)

    status = uow.execute(select(having(PUBLISHED), having(DEPRECATED))).one()
    value = PUBLISHED if status[0] else DEPRECATED if status[1] else DRAFT
    uow.execute(update(apps).where(apps.c.id == app_id).values(status=value, updated_at=func.now()))


def _app_row(uow: UnitOfWork, app_id: str) -> dict[str, Any]:
    return dict(uow.execute(select(apps).where(apps.c.id == app_id)).mappings().one())


# --- routes' services -----------------------------------------------------------------------------


def list_versions(principal: Principal, app_id: str, params: dict[str, str]) -> dict[str, Any]:
    """Versions, newest first (``status`` filters)."""
    with tenant_uow(principal.tenant_id) as uow:
        ref = app_ref(uow, app_id)
        if ref.builtin:
            return page_of([views.builtin_version(builtin_source(ref.slug).connector, detail=False)], params)
        query = select(app_versions).where(app_versions.c.app_id == app_id)
        if params.get("status"):
            query = query.where(app_versions.c.status == params["status"])
        page = paginate(uow, query, app_versions, params)
    return {
        "items": [views.custom_version(r, detail=False) for r in page["items"]],
        "next_cursor": page["next_cursor"],
    }


def get_version(principal: Principal, app_id: str, version_id: str) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        ref = app_ref(uow, app_id)
        if ref.builtin:
            if version_id != builtin_version_id(ref.slug):
                raise NotFound("No such version.")
            return views.builtin_version(builtin_source(ref.slug).connector, detail=True)
        return views.custom_version(version_row(uow, app_id, version_id), detail=True)


def create_draft(
    principal: Principal, app_id: str, definition: dict[str, Any] | None, notes: str = ""
) -> dict[str, Any]:
    """A new draft: ``definition`` when given, else a copy of the latest version's document."""
    with tenant_uow(principal.tenant_id) as uow:
        editable_app(uow, app_id)
        app = _app_row(uow, app_id)
        uow.execute(select(apps.c.id).where(apps.c.id == app_id).with_for_update())  # serialise numbering
        if definition is None:
            latest = uow.execute(
                select(app_versions.c.definition)
                .where(app_versions.c.app_id == app_id)
                .order_by(app_versions.c.number.desc())
                .limit(1)
            ).scalar()
            if latest is None:
                raise ValidationFailed(
                    "The app has no version to copy; send a definition.",
                    details=[{"path": "/definition", "issue": "is required"}],
                )
            definition = latest
        row = insert_version(uow, principal, app, definition, notes=notes)
        audit.record(
            uow,
            principal,
            "app_version.created",
            "app_version",
            str(row["id"]),
            after={"app_id": app_id, "number": row["number"]},
        )
        uow.commit()
    return views.custom_version(row, detail=True)


def update_draft(
    principal: Principal, app_id: str, version_id: str, definition: dict[str, Any] | None, notes: str | None
) -> dict[str, Any]:
    """Replace the draft's document and/or notes; any other status answers 409."""
    with tenant_uow(principal.tenant_id) as uow:
        editable_app(uow, app_id)
        row = version_row(uow, app_id, version_id, lock=True)
        require_draft(row)
        values: dict[str, Any] = {}
        if definition is not None:
            document = with_metadata(definition, _app_row(uow, app_id))
            validated(document)
            values["definition"] = document
        if notes is not None:
            values["notes"] = notes
        if values:
            uow.execute(
                update(app_versions)
                .where(app_versions.c.id == version_id)
                .values(**values, updated_at=func.now())
            )
            if "definition" in values:
                sync_action_rows(uow, row, [a["key"] for a in values["definition"]["actions"]])
            audit.record(
                uow,
                principal,
                "app_version.updated",
                "app_version",
                version_id,
                after={"changed": sorted(values)},
            )
        row = version_row(uow, app_id, version_id)
        uow.commit()
    return views.custom_version(row, detail=True)


def delete_draft(principal: Principal, app_id: str, version_id: str) -> None:
    with tenant_uow(principal.tenant_id) as uow:
        editable_app(uow, app_id)
        row = version_row(uow, app_id, version_id, lock=True)
        require_draft(row)
        uow.execute(delete(app_versions).where(app_versions.c.id == version_id))
        refresh_app_status(uow, app_id)
        audit.record(
            uow,
            principal,
            "app_version.deleted",
            "app_version",
            version_id,
            before={"app_id": app_id, "number": row["number"]},
        )
        uow.commit()


def _transition(principal: Principal, app_id: str, version_id: str, *, frm: str, to: str) -> dict[str, Any]:
    stamp = {"published_at": func.now()} if to == PUBLISHED else {"deprecated_at": func.now()}
    with tenant_uow(principal.tenant_id) as uow:
        editable_app(uow, app_id)
        row = version_row(uow, app_id, version_id)
        changed = uow.execute(
            update(app_versions)
            .where(app_versions.c.id == version_id, app_versions.c.status == frm)
            .values(status=to, updated_at=func.now(), **stamp)
        ).rowcount
        if changed == 0:
            raise InvalidVersionTransition(
                f"Version {row['number']} is {row['status']}; only a {frm} version can become {to}."
            )
        refresh_app_status(uow, app_id)
        audit.record(
            uow,
            principal,
            f"app_version.{to}",
            "app_version",
            version_id,
            before={"status": frm},
            after={"status": to},
        )
        row = version_row(uow, app_id, version_id)
        uow.commit()
    return views.custom_version(row, detail=False)


def publish_version(principal: Principal, app_id: str, version_id: str) -> dict[str, Any]:
    """Draft → published: from now on the version never changes."""
    return _transition(principal, app_id, version_id, frm=DRAFT, to=PUBLISHED)


def deprecate_version(principal: Principal, app_id: str, version_id: str) -> dict[str, Any]:
    """Published → deprecated: still runs where used, offered no more."""
    return _transition(principal, app_id, version_id, frm=PUBLISHED, to=DEPRECATED)


def publish_app(principal: Principal, app_id: str) -> dict[str, Any]:
    """Publish the app's current draft."""
    with tenant_uow(principal.tenant_id) as uow:
        editable_app(uow, app_id)
        draft = uow.execute(
            select(app_versions.c.id).where(app_versions.c.app_id == app_id, app_versions.c.status == DRAFT)
        ).scalar()
    if draft is None:
        raise NoDraft("The app has no draft to publish.")
    return publish_version(principal, app_id, str(draft))
