"""Request bodies shared by the identity routes (pydantic; they also feed the OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RoleName = Literal["owner", "admin", "builder", "viewer"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginBody(Body):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    tenant_id: str | None = None


class RefreshBody(Body):
    # Absent when the browser presents it in the session cookie (see http/session_cookies).
    refresh_token: str | None = Field(None, min_length=1, max_length=200)


class LogoutBody(Body):
    refresh_token: str | None = Field(None, max_length=200)


class ForgotBody(Body):
    email: str = Field(min_length=3, max_length=320)


class ResetBody(Body):
    token: str = Field(min_length=1, max_length=200)
    new_password: str = Field(max_length=1024)


class ChangeBody(Body):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class SwitchBody(Body):
    tenant_id: str = Field(min_length=1, max_length=64)


class AcceptInviteBody(Body):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(max_length=1024)
    name: str | None = Field(None, max_length=200)


class WorkspaceBody(Body):
    name: str = Field(min_length=1, max_length=200)


class MemberBody(Body):
    user_id: str = Field(min_length=1, max_length=64)


class RoleBody(Body):
    role: RoleName


class InviteBody(Body):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    role: RoleName
    workspace_ids: list[str] = Field(default_factory=list, max_length=100)


class ApiTokenBody(Body):
    name: str = Field(min_length=1, max_length=200)
    role: RoleName
    expires_in_days: int | None = Field(None, ge=1, le=3650)
