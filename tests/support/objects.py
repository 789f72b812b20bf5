"""One factory per kind of id a route takes: ``FACTORIES[param](ctx, tenant) -> id``.

The cross-tenant test walks the route table and needs, for every path
parameter, an object of ACME's to aim BETA's token at. A new route whose
parameter has no factory here makes that test fail: add the factory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable

from tests.support.api import Api, DemoTokens


@dataclass
class Ctx:
    api: Api
    tokens: DemoTokens

    def owner(self, tenant: str) -> str:
        return self.tokens[(tenant, "owner")]

    def workspace(self, tenant: str) -> str:
        return self.tokens.ids(tenant)["workspaces"]["Operations"]


def _ok(reply: Any) -> Any:
    assert reply.status in (200, 201, 202), reply.body
    return reply.body


def _workspace(ctx: Ctx, tenant: str) -> str:
    return ctx.workspace(tenant)


def _user(ctx: Ctx, tenant: str) -> str:
    users = _ok(ctx.api.get("/api/users?role=viewer", token=ctx.owner(tenant)))
    return users["items"][0]["user_id"]


def _invite(ctx: Ctx, tenant: str) -> str:
    return _ok(ctx.api.post("/api/invites", {"email": f"x{uuid.uuid4().hex[:8]}@{tenant}.test", "role": "viewer"},
                            token=ctx.owner(tenant)))["id"]


def _api_token(ctx: Ctx, tenant: str) -> str:
    return _ok(ctx.api.post("/api/api-tokens", {"name": "probe", "role": "viewer"}, token=ctx.owner(tenant)))["id"]


FACTORIES: dict[str, Callable[[Ctx, str], str]] = {
    "ws": _workspace,
    "user_id": _user,
    "invite_id": _invite,
    "token_id": _api_token,
}


def register(param: str, factory: Callable[[Ctx, str], str]) -> None:
    FACTORIES[param] = factory
