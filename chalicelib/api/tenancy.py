"""``/api``: the caller, workspaces, users, invites, API tokens, audit."""

from __future__ import annotations

from pydantic import Field

from chalicelib.api.contract import CreatedRange, SortedListQuery, id_param
from chalicelib.api.models import (
    ApiTokenBody,
    ApiTokenPage,
    AuditPage,
    Invite,
    InviteBody,
    InvitePage,
    Me,
    Member,
    MemberBody,
    MemberPage,
    Membership,
    NewApiToken,
    RoleBody,
    RoleName,
    TenantLimitsView,
    Workspace,
    WorkspaceBody,
    WorkspacePage,
)
from chalicelib.http.access import ADMIN, VIEWER, Access, Ref
from chalicelib.http.routing import Call, Routes
from chalicelib.identity.roles import Role
from chalicelib.services import audit, tenancy, tenant_limits
from chalicelib.tables.identity import api_tokens, invites, memberships

routes = Routes("tenancy")



class UserFilters(SortedListQuery):
    role: RoleName | None = None


class AuditFilters(SortedListQuery, CreatedRange):
    actor_id: str | None = id_param("Who acted (a user or API token id).")
    action: str | None = Field(None, max_length=100, description="e.g. `connection.created`.")
    target_type: str | None = Field(None, max_length=60)
    target_id: str | None = Field(None, max_length=100)


USER = {"user_id": Ref(memberships, in_workspace=False, column="user_id")}
ADMIN_ON_USER = Access(Role.ADMIN, ids=USER)


@routes.route("/api/me", access=VIEWER, response=Me)
def me(call: Call):
    return tenancy.me(call.principal)


@routes.route("/api/limits", access=ADMIN, response=TenantLimitsView)
def get_limits(call: Call):
    """The tenant's quotas and limits, and what it uses of them now."""
    return tenant_limits.view(call.principal.tenant_id)


@routes.route("/api/workspaces", access=VIEWER, response=WorkspacePage, query=SortedListQuery)
def list_workspaces(call: Call):
    return tenancy.list_workspaces(call.principal, call.query)


@routes.route("/api/workspaces", methods=("POST",), access=ADMIN, status=201, body=WorkspaceBody, response=Workspace)
def create_workspace(call: Call):
    return tenancy.create_workspace(call.principal, call.body(WorkspaceBody).name)


@routes.route("/api/workspaces/{ws}", access=VIEWER, response=Workspace)
def get_workspace(call: Call):
    return tenancy.get_workspace(call.principal, call.params["ws"])


@routes.route("/api/workspaces/{ws}", methods=("PATCH",), access=ADMIN, body=WorkspaceBody, response=Workspace)
def rename_workspace(call: Call):
    return tenancy.rename_workspace(call.principal, call.params["ws"], call.body(WorkspaceBody).name)


@routes.route("/api/workspaces/{ws}", methods=("DELETE",), access=ADMIN, status=204)
def delete_workspace(call: Call):
    tenancy.delete_workspace(call.principal, call.params["ws"])


@routes.route("/api/workspaces/{ws}/members", access=VIEWER, response=MemberPage)
def list_members(call: Call):
    return tenancy.list_workspace_members(call.principal, call.params["ws"])


@routes.route("/api/workspaces/{ws}/members", methods=("POST",), access=ADMIN, status=201, body=MemberBody,
              response=Membership)
def add_member(call: Call):
    return tenancy.add_workspace_member(call.principal, call.params["ws"], call.body(MemberBody).user_id)


@routes.route("/api/workspaces/{ws}/members/{user_id}", methods=("DELETE",), access=ADMIN_ON_USER, status=204)
def remove_member(call: Call):
    tenancy.remove_workspace_member(call.principal, call.params["ws"], call.params["user_id"])


@routes.route("/api/users", access=VIEWER, response=MemberPage, query=UserFilters)
def list_users(call: Call):
    return tenancy.list_users(call.principal, call.query)


@routes.route("/api/users/{user_id}", methods=("PATCH",), access=ADMIN_ON_USER, body=RoleBody, response=Member)
def change_role(call: Call):
    return tenancy.change_role(call.principal, call.params["user_id"], call.body(RoleBody).role)


@routes.route("/api/users/{user_id}", methods=("DELETE",), access=ADMIN_ON_USER, status=204)
def remove_user(call: Call):
    tenancy.remove_user(call.principal, call.params["user_id"])


@routes.route("/api/invites", access=ADMIN, response=InvitePage, query=SortedListQuery)
def list_invites(call: Call):
    return tenancy.list_invites(call.principal, call.query)


@routes.route("/api/invites", methods=("POST",), access=ADMIN, status=201, body=InviteBody, response=Invite)
def create_invite(call: Call):
    body = call.body(InviteBody)
    return tenancy.create_invite(call.principal, body.email, body.role, body.workspace_ids)


@routes.route("/api/invites/{invite_id}", methods=("DELETE",),
              access=Access(Role.ADMIN, ids={"invite_id": Ref(invites, in_workspace=False)}), status=204)
def revoke_invite(call: Call):
    tenancy.revoke_invite(call.principal, call.params["invite_id"])


@routes.route("/api/api-tokens", access=ADMIN, response=ApiTokenPage, query=SortedListQuery)
def list_api_tokens(call: Call):
    return tenancy.list_api_tokens(call.principal, call.query)


@routes.route("/api/api-tokens", methods=("POST",), access=ADMIN, status=201, body=ApiTokenBody, response=NewApiToken)
def create_api_token(call: Call):
    body = call.body(ApiTokenBody)
    return tenancy.create_api_token(call.principal, body.name, body.role, body.expires_in_days,
                                    workspace_ids=body.workspace_ids)


@routes.route("/api/api-tokens/{token_id}", methods=("DELETE",),
              access=Access(Role.ADMIN, ids={"token_id": Ref(api_tokens, in_workspace=False)}), status=204)
def revoke_api_token(call: Call):
    tenancy.revoke_api_token(call.principal, call.params["token_id"])


@routes.route("/api/audit", access=ADMIN, response=AuditPage, query=AuditFilters)
def list_audit(call: Call):
    return audit.list_events(call.principal.tenant_id, call.query)
