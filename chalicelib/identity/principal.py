"""The authenticated caller, as every layer sees it."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.identity.roles import Role


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. Tenant and role come only from verified credentials."""

    user_id: str | None
    tenant_id: str
    role: Role
    kind: str  # "user" | "api"
    session_id: str | None = None
    token_id: str | None = None
    workspace_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def actor_id(self) -> str | None:
        return self.user_id or self.token_id

    @property
    def sees_all_workspaces(self) -> bool:
        # One rule for users and API tokens: below admin, only the workspaces in ``workspace_ids``.
        return self.role >= Role.ADMIN
