"""One factory per kind of id a route takes: ``FACTORIES[param](ctx, tenant) -> id``.

The cross-tenant test walks the route table and needs, for every path
parameter, an object of ACME's to aim BETA's token at. A new route whose
parameter has no factory here makes that test fail: add the factory.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    body = {"name": "probe", "role": "viewer", "workspace_ids": []}
    return _ok(ctx.api.post("/api/api-tokens", body, token=ctx.owner(tenant)))["id"]


def _connector_app(ctx: Ctx, tenant: str) -> dict[str, str]:
    """One custom app per tenant (draft v1 with one action), shared by the app/version/action factories."""
    cache = ctx.__dict__.setdefault("_connector_apps", {})
    if tenant not in cache:
        slug = f"probe-{uuid.uuid4().hex[:8]}"
        definition = {"name": "Probe", "slug": slug, "vendor": "Probe", "category": "testing",
                      "base_url": "https://probe.example.com", "auth": {"type": "none"}, "test_action": "ping",
                      "actions": [{"key": "ping", "name": "Ping", "method": "GET", "path": "/ping",
                                   "body_encoding": "none"}]}
        app = _ok(ctx.api.post("/api/apps", {"name": "Probe", "slug": slug, "vendor": "Probe", "category": "testing",
                                             "definition": definition}, token=ctx.owner(tenant)))
        version_id = app["latest_version_id"]
        actions = _ok(ctx.api.get(f"/api/apps/{app['id']}/versions/{version_id}/actions", token=ctx.owner(tenant)))
        cache[tenant] = {"app_id": app["id"], "version_id": version_id, "action_id": actions["items"][0]["id"]}
    return cache[tenant]


def _connection(ctx: Ctx, tenant: str) -> str:
    return _ok(ctx.api.post(f"/api/workspaces/{ctx.workspace(tenant)}/connections",
                            {"name": f"probe-{uuid.uuid4().hex[:8]}", "app_id": "builtin:slack",
                             "secrets": {"token": "xoxb-probe-token-0000"}}, token=ctx.owner(tenant)))["id"]


def _node_template(ctx: Ctx, tenant: str) -> str:
    return _ok(ctx.api.post("/api/node-templates", {"name": f"probe_{uuid.uuid4().hex[:8]}", "title": "Probe",
                                                    "step_type": "delay", "config": {"seconds": 1}},
                            token=ctx.owner(tenant)))["id"]


def _flow(ctx: Ctx, tenant: str) -> str:
    """One workflow per tenant in its Operations workspace (shared by the flow and trigger factories)."""
    cache = ctx.__dict__.setdefault("_flows", {})
    if tenant not in cache:
        cache[tenant] = _ok(ctx.api.post(f"/api/workspaces/{ctx.workspace(tenant)}/flows",
                                         {"title": f"probe {uuid.uuid4().hex[:8]}"}, token=ctx.owner(tenant)))["id"]
    return cache[tenant]


def _trigger(ctx: Ctx, tenant: str) -> str:
    """One manual trigger per tenant (shared by the trigger and delivery factories)."""
    cache = ctx.__dict__.setdefault("_triggers", {})
    if tenant not in cache:
        cache[tenant] = _ok(ctx.api.post(
            f"/api/workspaces/{ctx.workspace(tenant)}/flows/{_flow(ctx, tenant)}/triggers",
            {"kind": "manual", "name": "probe"}, token=ctx.owner(tenant)))["id"]
    return cache[tenant]


def _delivery(ctx: Ctx, tenant: str) -> str:
    """A delivery of the tenant's probe trigger: a test-mode start by hand (recorded whatever its outcome)."""
    one = f"/api/workspaces/{ctx.workspace(tenant)}/flows/{_flow(ctx, tenant)}/triggers/{_trigger(ctx, tenant)}"
    ctx.api.post(one + "/fire", {"mode": "test"}, token=ctx.owner(tenant))
    return _ok(ctx.api.get(one + "/deliveries?limit=1", token=ctx.owner(tenant)))["items"][0]["id"]


FACTORIES: dict[str, Callable[[Ctx, str], str]] = {
    "ws": _workspace,
    "user_id": _user,
    "invite_id": _invite,
    "token_id": _api_token,
    "app_id": lambda ctx, tenant: _connector_app(ctx, tenant)["app_id"],
    "version_id": lambda ctx, tenant: _connector_app(ctx, tenant)["version_id"],
    "action_id": lambda ctx, tenant: _connector_app(ctx, tenant)["action_id"],
    "connection_id": _connection,
    "template_id": _node_template,
    "trigger_id": _trigger,
    "delivery_id": _delivery,
}
FACTORIES.setdefault("flow_id", _flow)


def _run(ctx: Ctx, tenant: str) -> str:
    from tests.integration.engine.engine_harness import run_factory

    return run_factory(ctx, tenant)


def _quarantined(ctx: Ctx, tenant: str) -> str:
    from tests.integration.engine.engine_harness import quarantine_factory

    return quarantine_factory(ctx, tenant)


FACTORIES.update({"run_id": _run, "quarantine_id": _quarantined})


def register(param: str, factory: Callable[[Ctx, str], str]) -> None:
    FACTORIES[param] = factory
