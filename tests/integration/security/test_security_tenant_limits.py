"""Per-principal API rate limit and the workflows-per-tenant quota: clear 4xx answers with stable codes."""

from __future__ import annotations

import pytest

from chalicelib.services import tenant_limits


@pytest.fixture
def limits():
    yield tenant_limits
    tenant_limits.reset()


def _mint(api, tokens, name):
    reply = api.post("/api/api-tokens", {"name": name, "role": "viewer",
                                         "workspace_ids": [tokens.ids("acme")["workspaces"]["Operations"]]},
                     token=tokens[("acme", "owner")])
    assert reply.status == 201, reply.body
    return reply.body["token"]


def test_an_api_token_past_its_rate_limit_gets_429_with_the_headers(api, tokens, limits):
    # GIVEN two fresh API tokens of one tenant, minted before the limit is lowered
    first, second = _mint(api, tokens, "rate bot 1"), _mint(api, tokens, "rate bot 2")
    # AND a bucket of 3 requests refilling one every 2 seconds
    limits.configure(api_burst=3, api_per_second=0.5)
    # WHEN the first token sends four rapid GETs
    replies = [api.get("/api/me", token=first) for _ in range(4)]
    # THEN the fourth is refused, with Retry-After and both RateLimit headers
    assert [r.status for r in replies] == [200, 200, 200, 429], replies[-1].body
    refused = replies[-1]
    assert refused.error_code == "rate_limited" and refused.body["error"]["request_id"]
    assert refused.headers["Retry-After"] == "2"
    assert refused.headers["RateLimit-Policy"] == '"api";q=3;w=6'
    assert refused.headers["RateLimit"].startswith('"api";r=0;')
    # AND every answer says how much is left
    assert replies[0].headers["RateLimit"].startswith('"api";r=2;')
    assert replies[2].headers["RateLimit"].startswith('"api";r=0;')
    # AND the limit is per principal: the other token (and the user who minted them) are not limited
    assert api.get("/api/me", token=second).status == 200
    assert api.get("/api/me", token=tokens[("acme", "owner")]).status == 200


def test_public_routes_are_not_counted(api, tokens, limits):
    limits.configure(api_burst=1, api_per_second=0.001)
    assert all(api.get("/health").status in (200, 503) for _ in range(3))


def test_creating_a_workflow_past_the_tenant_quota_is_refused(api, tokens, limits):
    # GIVEN a quota of as many workflows as the tenant has now, plus one
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    owner = tokens[("acme", "owner")]
    from sqlalchemy import text

    from chalicelib.db.uow import tenant_uow

    with tenant_uow(tokens.ids("acme")["tenant_id"]) as uow:
        count = uow.execute(text("SELECT count(*) FROM workflows")).scalar()
    limits.configure(max_workflows=count + 1)
    # WHEN two more are created THEN the first fits and the second is refused with a stable code
    made = api.post(f"/api/workspaces/{ws}/flows", {"title": "within quota"}, token=owner)
    assert made.status == 201, made.body
    over = api.post(f"/api/workspaces/{ws}/flows", {"title": "over quota"}, token=owner)
    assert over.status == 409 and over.error_code == "workflow_quota_exceeded", over.body
    # AND deleting one makes room again
    assert api.delete(f"/api/workspaces/{ws}/flows/{made.body['id']}", token=owner).status == 204
    assert api.post(f"/api/workspaces/{ws}/flows", {"title": "room again"}, token=owner).status == 201


def test_admins_see_the_tenant_limits_and_usage(api, tokens, limits):
    limits.configure(max_workflows=777, api_burst=40, api_per_second=2)
    seen = api.get("/api/limits", token=tokens[("acme", "admin")])
    assert seen.status == 200, seen.body
    assert seen.body["workflows"]["limit"] == 777 and seen.body["workflows"]["used"] >= 1
    assert seen.body["api_rate_limit"] == {"burst": 40, "per_second": 2}
    assert {"concurrent_runs", "runs_per_hour", "webhook_rate_limit", "run_retention_days"} <= set(seen.body)
    assert api.get("/api/limits", token=tokens[("acme", "builder")]).status == 403
