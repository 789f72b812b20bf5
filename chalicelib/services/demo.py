"""Demo data and the platform reset.

``seed_if_empty`` creates tenants ACME and BETA, each with an owner, an admin,
a builder and a viewer (password ``DEMO_PASSWORD``) and two workspaces; the
builder and the viewer belong to the first workspace only. The other areas'
samples are the container's ``demo_seeders`` (listed in ``chalicelib/bootstrap.py``).

``reset`` purges all business data, reseeds the demo tenants and marks every
session and token issued before it as invalid.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select

from chalicelib.container import current
from chalicelib.db.uow import system_uow
from chalicelib.identity import passwords
from chalicelib.ids import new_id
from chalicelib.services import sign_in
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.identity import (
    login_failures,
    memberships,
    outbound_mail,
    password_resets,
    tenants,
    users,
    workspace_members,
    workspaces,
)

DEMO_PASSWORD = "stepline-demo-2026"
DEMO_TENANTS = {"acme": "ACME", "beta": "BETA"}
DEMO_ROLES = ("owner", "admin", "builder", "viewer")
DEMO_WORKSPACES = ("Operations", "Marketing")

def demo_email(role: str, slug: str) -> str:
    return f"{role}@{slug}.test"


def seed_if_empty() -> bool:
    with system_uow() as uow:
        if uow.execute(select(tenants.c.id).limit(1)).first() is not None:
            return False
        _seed(uow)
        uow.commit()
    return True


def _seed(uow: UnitOfWork) -> dict[str, Any]:
    hashed = passwords.hash_password(DEMO_PASSWORD, profile=sign_in.profile())
    seeded: dict[str, Any] = {}
    for slug, name in DEMO_TENANTS.items():
        tenant_id = new_id()
        uow.execute(insert(tenants).values(id=tenant_id, name=name, slug=slug))
        uow.set_tenant(tenant_id)
        user_ids: dict[str, str] = {}
        for role in DEMO_ROLES:
            user_id = new_id()
            uow.execute(insert(users).values(id=user_id, email=demo_email(role, slug),
                                             name=f"{name} {role.title()}", password_hash=hashed))
            uow.execute(insert(memberships).values(tenant_id=tenant_id, user_id=user_id, role=role))
            user_ids[role] = user_id
        ws_ids = []
        for ws_name in DEMO_WORKSPACES:
            ws = new_id()
            uow.execute(insert(workspaces).values(id=ws, tenant_id=tenant_id, name=ws_name))
            ws_ids.append(ws)
        for role in ("builder", "viewer"):
            uow.execute(insert(workspace_members).values(tenant_id=tenant_id, workspace_id=ws_ids[0],
                                                         user_id=user_ids[role]))
        seeded[slug] = {"tenant_id": tenant_id, "workspaces": ws_ids, "users": user_ids}
    for seeder in current().demo_seeders:
        seeder(uow, seeded)
    return seeded


def reset() -> dict[str, Any]:
    """Purge business data, reseed, and refuse every token issued before now."""
    with system_uow() as uow:
        uow.execute(delete(tenants))  # cascades to every tenant-owned table
        for table in (password_resets, login_failures, outbound_mail, users):
            uow.execute(delete(table))
        sign_in.global_reset_marker(uow)
        seeded = _seed(uow)
        uow.commit()
    return {"tenants": {slug: data["tenant_id"] for slug, data in seeded.items()}}
