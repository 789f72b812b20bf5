"""A small client over chalice.test.Client (API Gateway events, in process) with demo logins."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

from chalice.test import Client

from chalicelib.services import demo

# chalice.test.Client swaps os.environ for the stage's environment_variables (.chalice/config.json) during
# every invocation. A stage the config does not name adds only the shared variables, so a request in a test
# never runs under another STAGE (and never caches settings of one): every test Client uses this stage.
TEST_STAGE = "test"


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error_code(self) -> str | None:
        return (self.body or {}).get("error", {}).get("code") if isinstance(self.body, dict) else None


class Api:
    """``api.get("/api/me", token=…)`` → Reply(status, parsed JSON body, headers)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def call(self, method: str, path: str, *, token: str | None = None, json_body: Any = None,
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> Reply:
        all_headers = {"content-type": "application/json", **(headers or {})}
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        body = raw if raw is not None else (json.dumps(json_body) if json_body is not None else None)
        response = self.client.http.request(method, path, headers=all_headers, body=body)
        text = response.body.decode() if isinstance(response.body, bytes) else response.body
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return Reply(response.status_code, parsed, dict(response.headers))

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, json_body=body if body is not None else {}, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PATCH", path, json_body=body or {}, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PUT", path, json_body=body or {}, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.call("DELETE", path, **kw)

    def login(self, email: str, password: str = demo.DEMO_PASSWORD, **extra: Any) -> dict[str, Any]:
        reply = self.post("/auth/login", {"email": email, "password": password, **extra})
        assert reply.status == 200, reply.body
        return reply.body


def demo_login(api: Api, role: str, tenant: str = "acme") -> str:
    return api.login(demo.demo_email(role, tenant))["access_token"]


class DemoTokens(dict):
    """Access tokens of the demo users, by (tenant slug, role); logged in lazily."""

    def __init__(self, api: Api) -> None:
        super().__init__()
        self.api = api

    # A cached token with less than this left is replaced: a long suite outlives an access token's lifetime.
    MIN_REMAINING_SECONDS = 120

    def __getitem__(self, key: tuple[str, str]) -> str:
        token = super().get(key)
        if token is None or _seconds_left(token) < self.MIN_REMAINING_SECONDS:
            tenant, role = key
            token = demo_login(self.api, role, tenant)
            self[key] = token
        return token

    def ids(self, tenant: str = "acme") -> dict[str, Any]:
        """The caller's tenant id and visible workspaces, from /api/me of the tenant's owner."""
        me = self.api.get("/api/me", token=self[(tenant, "owner")]).body
        return {"tenant_id": me["tenant"]["id"], "workspaces": {w["name"]: w["id"] for w in me["workspaces"]}}


def _seconds_left(token: str) -> float:
    """Seconds until the access token's ``exp`` (read, not verified: the server verifies)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(claims.get("exp", 0)) - time.time()
