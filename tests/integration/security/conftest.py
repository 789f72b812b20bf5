"""Security test fixtures: API tokens held to the same rules as the demo users."""

from __future__ import annotations

import pytest


class DemoApiTokens(dict):
    """``api_tokens[("acme", "builder")]``: an API token of that role, minted on first use by the owner.

    Builder and viewer tokens are scoped to the Operations workspace, as the
    demo builder and viewer users are members of it only; owner and admin
    tokens reach every workspace, as owner and admin users do.
    """

    def __init__(self, api, tokens) -> None:
        super().__init__()
        self.api, self.tokens = api, tokens

    def __missing__(self, key: tuple[str, str]) -> str:
        tenant, role = key
        body: dict = {"name": f"{role} bot", "role": role}
        if role in ("builder", "viewer"):
            body["workspace_ids"] = [self.tokens.ids(tenant)["workspaces"]["Operations"]]
        reply = self.api.post("/api/api-tokens", body, token=self.tokens[(tenant, "owner")])
        assert reply.status == 201, reply.body
        self[key] = reply.body["token"]
        return self[key]


@pytest.fixture
def api_tokens(api, tokens, seeded):
    return DemoApiTokens(api, tokens)
