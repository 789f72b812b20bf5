"""Request and response models of the identity routes (pydantic; they also feed the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from chalicelib.api.contract import JsonObject, Out, Timestamp, page_of

RoleName = Literal["owner", "admin", "builder", "viewer"]
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Body(BaseModel):
    """A request body: unknown fields refused, and no lax coercion (``0`` is not ``false``, ``"5"`` not ``5``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


# The password policy (identity/passwords) answers 422 ``password_policy_violation``; documented here.
NEW_PASSWORD: JsonDict = {"minLength": 10, "maxLength": 256,
                          "description": "10 to 256 characters, not only whitespace."}


class LoginBody(Body):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    tenant_id: str | None = Field(None, pattern=UUID, description="Sign in to this tenant (default: the first).")


class RefreshBody(Body):
    # Absent when the browser presents it in the session cookie (see http/session_cookies).
    refresh_token: str | None = Field(None, min_length=1, max_length=200)


class LogoutBody(Body):
    refresh_token: str | None = Field(None, max_length=200)


class ForgotBody(Body):
    email: str = Field(min_length=3, max_length=320)


class ResetBody(Body):
    token: str = Field(min_length=1, max_length=200)
    new_password: str = Field(max_length=1024, json_schema_extra=NEW_PASSWORD)


class ChangeBody(Body):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024, json_schema_extra=NEW_PASSWORD)


class SwitchBody(Body):
    tenant_id: str = Field(pattern=UUID)


class AcceptInviteBody(Body):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(max_length=1024, json_schema_extra=NEW_PASSWORD)
    name: str | None = Field(None, max_length=200)


class WorkspaceBody(Body):
    name: str = Field(min_length=1, max_length=200)


class MemberBody(Body):
    user_id: str = Field(pattern=UUID)


class RoleBody(Body):
    role: RoleName


class InviteBody(Body):
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL)
    role: RoleName
    workspace_ids: list[Annotated[str, Field(pattern=UUID)]] = Field(default_factory=list, max_length=100)


class ApiTokenBody(Body):
    name: str = Field(min_length=1, max_length=200)
    role: RoleName
    workspace_ids: list[str] | None = Field(
        None, max_length=100,
        description="The workspaces a builder or viewer token reaches (required for those roles); "
                    "owner and admin tokens reach every workspace and take none.")
    expires_in_days: int | None = Field(None, ge=1, le=3650)


# --- responses --------------------------------------------------------------------------------------

class TenantMembership(Out):
    tenant_id: str
    role: RoleName
    name: str
    slug: str


class Session(Out):
    """Tokens of a signed-in session (the refresh token rotates on every use)."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(
        None, description="Absent when asked for the cookie transport (X-Session-Transport: cookie): "
                          "then it is in an httpOnly cookie.")
    refresh_token_transport: Literal["cookie"] | None = Field(
        None, description="`cookie` when the refresh token was set as the httpOnly `stepline_refresh` cookie.")
    tenant_id: str
    role: RoleName
    user_id: str


class LoginSession(Session):
    tenants: list[TenantMembership] = Field(description="Every tenant the user belongs to.")


class UserSummary(Out):
    id: str
    email: str
    name: str
    created_at: Timestamp


class TenantSummary(Out):
    id: str
    name: str
    slug: str


class Workspace(Out):
    id: str
    name: str
    created_at: Timestamp


class Me(Out):
    user: UserSummary | None = Field(description="Null for an API token.")
    tenant: TenantSummary | None
    role: RoleName
    kind: Literal["user", "api"]
    tenants: list[TenantMembership]
    workspaces: list[Workspace] = Field(description="The workspaces the caller can see.")


class Member(Out):
    user_id: str
    email: str
    name: str
    role: RoleName
    created_at: Timestamp


class Membership(Out):
    workspace_id: str
    user_id: str


class Invite(Out):
    id: str
    email: str
    role: RoleName
    workspace_ids: list[str]
    expires_at: Timestamp
    accepted_at: Timestamp | None
    revoked_at: Timestamp | None
    created_at: Timestamp
    status: Literal["pending", "accepted", "revoked", "expired"]


class ApiToken(Out):
    id: str
    name: str
    role: RoleName
    workspace_ids: list[str] | None = Field(
        description="The workspaces the token reaches; null for an owner/admin token, which reaches every one.")
    masked: str = Field(description="The token's last characters, for recognising it.")
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None
    created_at: Timestamp


class NewApiToken(ApiToken):
    token: str = Field(description="The secret, shown this once.")


class AuditEntry(Out):
    id: str
    tenant_id: str
    actor_id: str | None
    actor_kind: str = Field(description="user | api | system")
    action: str
    target_type: str
    target_id: str | None
    changes: JsonObject = Field(description="Before/after values; secrets appear masked or not at all.")
    request_id: str | None
    created_at: Timestamp


WorkspacePage = page_of(Workspace)
MemberPage = page_of(Member)
InvitePage = page_of(Invite)
ApiTokenPage = page_of(ApiToken)
AuditPage = page_of(AuditEntry)


class LimitUsage(Out):
    limit: int
    used: int


class RequestRateLimit(Out):
    burst: int = Field(description="Requests a principal may send at once.")
    per_second: float = Field(description="How fast the bucket refills.")


class TenantLimitsView(Out):
    """The tenant's quotas and limits, with what it uses now (admins)."""

    workflows: LimitUsage = Field(description="Workflows in the tenant (409 `workflow_quota_exceeded` past it).")
    concurrent_runs: LimitUsage = Field(description="Runs executing now (triggers wait; the API answers 429 "
                                        "`concurrency_limit_reached`).")
    runs_per_hour: LimitUsage = Field(description="Runs admitted in the last hour (429 `run_quota_exceeded`).")
    api_rate_limit: RequestRateLimit = Field(description="Per user and per API token on `/api/*` (429 "
                                             "`rate_limited`).")
    webhook_rate_limit: RequestRateLimit = Field(description="Webhook deliveries per tenant (429 `rate_limited`).")
    run_retention_days: int = Field(description="Finished runs are deleted this many days after they end.")
    delivery_retention_days: int = Field(description="Trigger deliveries are kept this many days.")
