"""Tenancy management: the caller, workspaces and their members, users, invites, API tokens.

Every function takes the authenticated :class:`Principal` and runs in a unit of
work scoped to its tenant; every mutation is audited in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from chalicelib.adapters.mail import Mail
from chalicelib.config import get_settings
from chalicelib.container import current
from chalicelib.db.pagination import paginate
from chalicelib.db.uow import system_uow, tenant_uow
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.identity import passwords
from chalicelib.identity.opaque_tokens import TokenPurpose, generate_token, hash_token
from chalicelib.identity.roles import Role, check_can_grant, check_member_removal, check_role_change, parse_role
from chalicelib.ids import is_uuid, new_id
from chalicelib.services import audit
from chalicelib.services.authentication import Principal
from chalicelib.services.sign_in import InvalidCredentials, InvalidResetToken, _issue, normalise_email, profile
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.identity import (
    api_tokens,
    invites,
    memberships,
    tenants,
    users,
    workspace_members,
    workspaces,
)

INVITE_TTL = dt.timedelta(days=7)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- me ------------------------------------------------------------------------------
def me(principal: Principal) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        tenant = uow.execute(select(tenants.c.id, tenants.c.name, tenants.c.slug)
                             .where(tenants.c.id == principal.tenant_id)).mappings().first()
        user = None
        if principal.user_id:
            user = uow.execute(select(users.c.id, users.c.email, users.c.name, users.c.created_at)
                               .where(users.c.id == principal.user_id)).mappings().first()
        visible = _visible_workspaces(uow, principal).all()
    with system_uow() as uow:
        member_of = [] if principal.user_id is None else [dict(r) for r in uow.execute(
            select(memberships.c.tenant_id, memberships.c.role, tenants.c.name, tenants.c.slug)
            .join(tenants, tenants.c.id == memberships.c.tenant_id)
            .where(memberships.c.user_id == principal.user_id)).mappings()]
    return {"user": dict(user) if user else None, "tenant": dict(tenant) if tenant else None,
            "role": principal.role.value, "kind": principal.kind, "tenants": member_of,
            "workspaces": [dict(w) for w in visible]}


# -- workspaces ---------------------------------------------------------------------
def _visible_workspaces(uow: UnitOfWork, principal: Principal, params: dict[str, str] | None = None) -> Any:
    q = select(workspaces.c.id, workspaces.c.name, workspaces.c.created_at)
    if not principal.sees_all_workspaces:
        # a user's memberships or a token's scope, as authentication read them
        q = q.where(workspaces.c.id.in_(sorted(principal.workspace_ids)))
    if params is None:
        return uow.execute(q.order_by(workspaces.c.name)).mappings()
    return paginate(uow, q, workspaces, params)


def check_workspace_visible(principal: Principal, ws: str) -> None:
    """``NotFound`` unless ``ws`` is a workspace of the caller's tenant that the caller may see."""
    if not is_uuid(ws) or not (principal.sees_all_workspaces or ws in principal.workspace_ids):
        raise NotFound("No such workspace.")
    with tenant_uow(principal.tenant_id) as uow:
        if uow.execute(select(workspaces.c.id).where(workspaces.c.id == ws)).first() is None:
            raise NotFound("No such workspace.")


def list_workspaces(principal: Principal, params: dict[str, str]) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        return _visible_workspaces(uow, principal, params)


def _workspace(uow: UnitOfWork, ws: str) -> dict[str, Any]:
    row = uow.execute(select(workspaces.c.id, workspaces.c.name, workspaces.c.created_at)
                      .where(workspaces.c.id == ws)).mappings().first()
    if row is None:
        raise NotFound("No such workspace.")
    return dict(row)


def get_workspace(principal: Principal, ws: str) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        return _workspace(uow, ws)


def _name_taken(uow: UnitOfWork, name: str, exclude: str | None = None) -> bool:
    q = select(workspaces.c.id).where(func.lower(workspaces.c.name) == name.lower())
    if exclude:
        q = q.where(workspaces.c.id != exclude)
    return uow.execute(q).first() is not None


def create_workspace(principal: Principal, name: str) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        if _name_taken(uow, name):
            raise Conflict("A workspace with this name exists.", code="duplicate_name")
        ws = new_id()
        uow.execute(insert(workspaces).values(id=ws, tenant_id=principal.tenant_id, name=name))
        audit.record(uow, principal, "workspace.created", "workspace", ws, after={"name": name})
        result = _workspace(uow, ws)
        uow.commit()
    return result


def rename_workspace(principal: Principal, ws: str, name: str) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        before = _workspace(uow, ws)
        if _name_taken(uow, name, exclude=ws):
            raise Conflict("A workspace with this name exists.", code="duplicate_name")
        uow.execute(update(workspaces).where(workspaces.c.id == ws).values(name=name))
        audit.record(uow, principal, "workspace.renamed", "workspace", ws, before={"name": before["name"]},
                     after={"name": name})
        result = _workspace(uow, ws)
        uow.commit()
    return result


def delete_workspace(principal: Principal, ws: str) -> None:
    with tenant_uow(principal.tenant_id) as uow:
        before = _workspace(uow, ws)
        uow.execute(delete(workspaces).where(workspaces.c.id == ws))
        audit.record(uow, principal, "workspace.deleted", "workspace", ws, before={"name": before["name"]})
        uow.commit()


def list_workspace_members(principal: Principal, ws: str) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        rows = uow.execute(
            select(users.c.id.label("user_id"), users.c.email, users.c.name, memberships.c.role,
                   workspace_members.c.created_at)
            .join(users, users.c.id == workspace_members.c.user_id)
            .join(memberships, memberships.c.user_id == workspace_members.c.user_id)
            .where(workspace_members.c.workspace_id == ws).order_by(users.c.email)).mappings().all()
    return {"items": [dict(r) for r in rows], "next_cursor": None}


def add_workspace_member(principal: Principal, ws: str, user_id: str) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        if uow.execute(select(memberships.c.user_id).where(memberships.c.user_id == user_id)).first() is None:
            raise ValidationFailed("The user is not a member of this tenant.",
                                   details=[{"path": "/user_id", "issue": "unknown user"}])
        uow.execute(_insert_member(principal.tenant_id, ws, user_id))
        audit.record(uow, principal, "workspace.member_added", "workspace", ws, after={"user_id": user_id})
        uow.commit()
    return {"workspace_id": ws, "user_id": user_id}


def _insert_member(tenant_id: str, ws: str, user_id: str) -> Any:
    """Idempotent: adding a member twice is not an error."""
    return pg_insert(workspace_members).values(tenant_id=tenant_id, workspace_id=ws,
                                               user_id=user_id).on_conflict_do_nothing()


def remove_workspace_member(principal: Principal, ws: str, user_id: str) -> None:
    with tenant_uow(principal.tenant_id) as uow:
        gone = uow.execute(delete(workspace_members).where(workspace_members.c.workspace_id == ws,
                                                           workspace_members.c.user_id == user_id)).rowcount
        if not gone:
            raise NotFound("The user is not a member of this workspace.")
        audit.record(uow, principal, "workspace.member_removed", "workspace", ws, before={"user_id": user_id})
        uow.commit()


# -- users ------------------------------------------------------------------------------
def _user_row(uow: UnitOfWork, user_id: str) -> dict[str, Any]:
    row = uow.execute(select(users.c.id.label("user_id"), users.c.email, users.c.name, memberships.c.role,
                             memberships.c.created_at)
                      .join(memberships, memberships.c.user_id == users.c.id)
                      .where(users.c.id == user_id)).mappings().first()
    if row is None:
        raise NotFound("No such user.")
    return dict(row)


def list_users(principal: Principal, params: dict[str, str]) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        q = select(memberships.c.user_id, users.c.email, users.c.name, memberships.c.role, memberships.c.created_at) \
            .join(users, memberships.c.user_id == users.c.id)
        if params.get("role"):
            q = q.where(memberships.c.role == params["role"])
        return paginate(uow, q, memberships, params, key="user_id")


def _owner_count(uow: UnitOfWork) -> int:
    # Locks the tenant's owner rows so two concurrent demotions cannot both pass the last-owner rule.
    return len(uow.execute(select(memberships.c.user_id).where(memberships.c.role == Role.OWNER.value)
                           .with_for_update()).all())


def change_role(principal: Principal, user_id: str, role: str) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        owners = _owner_count(uow)
        before = _user_row(uow, user_id)
        check_role_change(actor_id=principal.actor_id or "", actor_role=principal.role, target_id=user_id,
                          current_role=before["role"], new_role=role, owner_count=owners)
        uow.execute(update(memberships).where(memberships.c.user_id == user_id).values(role=parse_role(role).value))
        audit.record(uow, principal, "user.role_changed", "user", user_id, before={"role": before["role"]},
                     after={"role": role})
        result = _user_row(uow, user_id)
        uow.commit()
    return result


def remove_user(principal: Principal, user_id: str) -> None:
    with tenant_uow(principal.tenant_id) as uow:
        owners = _owner_count(uow)
        before = _user_row(uow, user_id)
        check_member_removal(actor_id=principal.actor_id or "", actor_role=principal.role, target_id=user_id,
                             target_role=before["role"], owner_count=owners)
        uow.execute(delete(workspace_members).where(workspace_members.c.user_id == user_id))
        uow.execute(delete(memberships).where(memberships.c.user_id == user_id))
        audit.record(uow, principal, "user.removed", "user", user_id, before={"email": before["email"],
                                                                            "role": before["role"]})
        uow.commit()


# -- invites ---------------------------------------------------------------------------
_INVITE_COLUMNS = (invites.c.id, invites.c.email, invites.c.role, invites.c.workspace_ids, invites.c.expires_at,
                   invites.c.accepted_at, invites.c.revoked_at, invites.c.created_at)


def _invite_status(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["status"] = ("accepted" if row["accepted_at"] else "revoked" if row["revoked_at"]
                     else "expired" if row["expires_at"] <= _now() else "pending")
    return row


def create_invite(principal: Principal, email: str, role: str, workspace_ids: list[str]) -> dict[str, Any]:
    check_can_grant(principal.role, role)
    email = normalise_email(email)
    token = generate_token(TokenPurpose.INVITE)
    with tenant_uow(principal.tenant_id) as uow:
        for index, ws in enumerate(workspace_ids):
            if not is_uuid(ws) or uow.execute(select(workspaces.c.id).where(workspaces.c.id == ws)).first() is None:
                raise ValidationFailed("Unknown workspace.", details=[{"path": f"/workspace_ids/{index}",
                                                                       "issue": "unknown workspace"}])
        invite_id = new_id()
        uow.execute(insert(invites).values(id=invite_id, tenant_id=principal.tenant_id, email=email, role=role,
                                           workspace_ids=list(workspace_ids), token_hash=token.token_hash,
                                           invited_by=principal.actor_id if principal.kind == "user" else None,
                                           expires_at=_now() + INVITE_TTL))
        audit.record(uow, principal, "invite.created", "invite", invite_id, after={"email": email, "role": role})
        row = uow.execute(select(*_INVITE_COLUMNS).where(invites.c.id == invite_id)).mappings().first()
        tenant_name = uow.execute(select(tenants.c.name).where(tenants.c.id == principal.tenant_id)).scalar()
        uow.commit()
    link = f"{get_settings().public_base_url}/accept-invite?token={token.value}"
    current().mailer().send(Mail(
        to=email, subject=f"You are invited to {tenant_name} on Stepline", kind="invite",
        body=f"You were invited as {role}. Accept within 7 days:\n{link}\nInvite token: {token.value}\n"))
    return _invite_status(row)


def list_invites(principal: Principal, params: dict[str, str]) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        page = paginate(uow, select(*_INVITE_COLUMNS), invites, params)
    page["items"] = [_invite_status(r) for r in page["items"]]
    return page


def revoke_invite(principal: Principal, invite_id: str) -> None:
    with tenant_uow(principal.tenant_id) as uow:
        done = uow.execute(update(invites).where(invites.c.id == invite_id, invites.c.accepted_at.is_(None),
                                                 invites.c.revoked_at.is_(None)).values(revoked_at=func.now())).rowcount
        if not done:
            raise Conflict("The invite was already accepted or revoked.", code="invite_not_pending")
        audit.record(uow, principal, "invite.revoked", "invite", invite_id)
        uow.commit()


def accept_invite(token: str, password: str, name: str | None, *, client_ip: str) -> dict[str, Any]:
    """Accept once: creates the membership with the invited role (and the user when new)."""
    with system_uow() as uow:
        invite = uow.execute(
            update(invites).where(invites.c.token_hash == hash_token(token or ""), invites.c.accepted_at.is_(None),
                                  invites.c.revoked_at.is_(None), invites.c.expires_at > func.now())
            .values(accepted_at=func.now()).returning(*invites.c)).mappings().first()
        if invite is None:
            raise InvalidResetToken()
        user = uow.execute(select(users).where(users.c.email == invite["email"])).mappings().first()
        if user is None or not user["password_hash"]:
            passwords.check_password_policy(password)
            hashed = passwords.hash_password(password, profile=profile())
            if user is None:
                user_id = new_id()
                uow.execute(insert(users).values(id=user_id, email=invite["email"], name=name or "",
                                                 password_hash=hashed, password_changed_at=func.now()))
            else:
                user_id = user["id"]
                uow.execute(update(users).where(users.c.id == user_id).values(password_hash=hashed))
        else:
            if not passwords.verify_password(user["password_hash"], password or "", profile=profile()):
                raise InvalidCredentials("This address already has an account: give its password to accept.")
            user_id = user["id"]
        uow.set_tenant(invite["tenant_id"])
        if uow.execute(select(memberships.c.role).where(memberships.c.tenant_id == invite["tenant_id"],
                                                        memberships.c.user_id == user_id)).first():
            raise Conflict("Already a member of this tenant.", code="already_member")
        uow.execute(insert(memberships).values(tenant_id=invite["tenant_id"], user_id=user_id, role=invite["role"]))
        for ws in invite["workspace_ids"] or []:
            uow.execute(_insert_member(invite["tenant_id"], ws, user_id))
        audit.record(uow, None, "invite.accepted", "invite", invite["id"], tenant_id=invite["tenant_id"],
                     after={"user_id": user_id, "role": invite["role"]})
        result = _issue(uow, user_id=user_id, tenant_id=invite["tenant_id"], role=invite["role"],
                        client_ip=client_ip)
        uow.commit()
    return result


# -- API tokens ---------------------------------------------------------------------------
_TOKEN_COLUMNS = (api_tokens.c.id, api_tokens.c.name, api_tokens.c.role, api_tokens.c.workspace_ids,
                  api_tokens.c.masked, api_tokens.c.expires_at, api_tokens.c.last_used_at, api_tokens.c.revoked_at,
                  api_tokens.c.created_at)


def _token_scope(uow: UnitOfWork, principal: Principal, role: str, workspace_ids: list[str] | None) -> list[str] | None:
    """The workspace scope of a new token: all (``None``) for owner/admin, a chosen list below (422 otherwise)."""
    if parse_role(role) >= Role.ADMIN:
        if workspace_ids is not None:
            raise ValidationFailed("Owner and admin tokens reach every workspace; give no workspace_ids.",
                                   details=[{"path": "/workspace_ids", "issue": f"not allowed for role {role}"}])
        return None
    if workspace_ids is None:
        raise ValidationFailed("A builder or viewer token needs the workspaces it may reach.",
                               details=[{"path": "/workspace_ids", "issue": f"required for role {role}"}])
    chosen: list[str] = []
    for index, ws in enumerate(workspace_ids):
        visible = principal.sees_all_workspaces or ws in principal.workspace_ids
        if not (is_uuid(ws) and visible
                and uow.execute(select(workspaces.c.id).where(workspaces.c.id == ws)).first() is not None):
            raise ValidationFailed("Unknown workspace.", details=[{"path": f"/workspace_ids/{index}",
                                                                   "issue": "unknown workspace"}])
        if ws not in chosen:
            chosen.append(ws)
    return chosen


def create_api_token(principal: Principal, name: str, role: str, expires_in_days: int | None,
                     *, workspace_ids: list[str] | None = None) -> dict[str, Any]:
    check_can_grant(principal.role, role)
    token = generate_token(TokenPurpose.API)
    token_id = new_id()
    expires = _now() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    with tenant_uow(principal.tenant_id) as uow:
        scope = _token_scope(uow, principal, role, workspace_ids)
        uow.execute(insert(api_tokens).values(id=token_id, tenant_id=principal.tenant_id, name=name, role=role,
                                              workspace_ids=scope, token_hash=token.token_hash,
                                              masked=token.masked, expires_at=expires,
                                              created_by=principal.user_id))
        audit.record(uow, principal, "api_token.created", "api_token", token_id,
                     after={"name": name, "role": role, "workspace_ids": scope})
        row = dict(uow.execute(select(*_TOKEN_COLUMNS).where(api_tokens.c.id == token_id)).mappings().first())
        uow.commit()
    row["token"] = token.value  # shown once, never again
    return row


def list_api_tokens(principal: Principal, params: dict[str, str]) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        return paginate(uow, select(*_TOKEN_COLUMNS), api_tokens, params)


def revoke_api_token(principal: Principal, token_id: str) -> None:
    with tenant_uow(principal.tenant_id) as uow:
        done = uow.execute(update(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                           .values(revoked_at=func.now())).rowcount
        if not done:
            raise Conflict("The token is already revoked.", code="already_revoked")
        audit.record(uow, principal, "api_token.revoked", "api_token", token_id)
        uow.commit()
