"""Workspace access is one rule for users and API tokens, on every route of the route table.

The demo builder and viewer users are members of the Operations workspace
only; the builder and viewer API tokens are scoped to it when minted. Every
route with ``{ws}`` — reads and writes alike — called by them on Marketing
answers 404 ``No such workspace.`` (or 403 when the role is not enough
anyway), exactly as another tenant's workspace does; on Operations it gets
past the workspace check. Paths carry random ids and bodies are empty, so
nothing is changed.
"""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import text

from chalicelib.db.uow import system_uow
from chalicelib.http.routing import ROUTE_TABLE
from devstack.security_doc import ROLES

PARAM = re.compile(r"\{(\w+)\}")
NO_WORKSPACE = "No such workspace."


def _target(path: str, ws: str) -> str:
    return PARAM.sub(lambda m: ws if m.group(1) == "ws" else str(uuid.uuid4()), path)


def _workspace_routes() -> list[tuple[str, str, str]]:
    return sorted({(m, r.path, r.access.name) for r in ROUTE_TABLE for m in r.methods if "{ws}" in r.path})


@pytest.mark.parametrize("kind", ["user", "api"])
@pytest.mark.parametrize("role", ["builder", "viewer"])
def test_a_scoped_principal_gets_404_on_every_route_of_a_workspace_outside_its_scope(
        api, tokens, api_tokens, app_module, kind, role):
    credentials = tokens if kind == "user" else api_tokens
    token = credentials[("acme", role)]
    spaces = tokens.ids("acme")["workspaces"]
    inside, outside = spaces["Operations"], spaces["Marketing"]
    routes = _workspace_routes()
    assert len(routes) > 30  # the route table was loaded
    wrong = []
    for method, path, least in routes:
        allowed = least in ROLES and ROLES.index(role) >= ROLES.index(least)
        out = api.call(method, _target(path, outside), token=token, json_body={} if method != "GET" else None)
        message = (out.body or {}).get("error", {}).get("message") if isinstance(out.body, dict) else None
        if allowed and not (out.status == 404 and message == NO_WORKSPACE):
            wrong.append(f"outside {method} {path} → {out.status} {message}")
        elif not allowed and out.status not in (403, 404):
            wrong.append(f"outside {method} {path} → {out.status} {message} (role below {least})")
        if allowed:
            inn = api.call(method, _target(path, inside), token=token, json_body={} if method != "GET" else None)
            inn_message = (inn.body or {}).get("error", {}).get("message") if isinstance(inn.body, dict) else None
            if inn.status in (401, 403) or inn_message == NO_WORKSPACE:
                wrong.append(f"inside {method} {path} → {inn.status} {inn_message}")
    assert wrong == []


def test_a_scoped_token_sees_only_its_workspaces_where_no_path_names_one(api, tokens, api_tokens):
    token = api_tokens[("acme", "builder")]
    spaces = tokens.ids("acme")["workspaces"]
    me = api.get("/api/me", token=token).body
    assert me["kind"] == "api" and [w["id"] for w in me["workspaces"]] == [spaces["Operations"]]
    listed = api.get("/api/workspaces?limit=200", token=token).body["items"]
    assert [w["id"] for w in listed] == [spaces["Operations"]]
    assert api.get(f"/api/metrics?workspace_id={spaces['Marketing']}", token=token).status == 404
    assert api.get(f"/api/metrics?workspace_id={spaces['Operations']}", token=token).status == 200
    assert api.get("/api/metrics", token=token).body["workspace_ids"] == [spaces["Operations"]]
    # owner and admin tokens reach every workspace, as owner and admin users do
    everything = api.get("/api/workspaces?limit=200", token=api_tokens[("acme", "admin")]).body["items"]
    assert {spaces["Operations"], spaces["Marketing"]} <= {w["id"] for w in everything}


def test_the_scope_is_chosen_at_creation_and_all_workspaces_only_for_owner_and_admin(api, tokens, seeded):
    owner = tokens[("acme", "owner")]
    spaces = tokens.ids("acme")["workspaces"]
    beta_ws = tokens.ids("beta")["workspaces"]["Operations"]

    def mint(**body):
        return api.post("/api/api-tokens", {"name": "scope", **body}, token=owner)

    missing = mint(role="builder")
    assert missing.status == 422 and missing.body["error"]["details"][0]["path"] == "/workspace_ids"
    widened = mint(role="admin", workspace_ids=[spaces["Operations"]])
    assert widened.status == 422 and widened.body["error"]["details"][0]["path"] == "/workspace_ids"
    for bad in (beta_ws, str(uuid.uuid4()), "not-a-uuid"):
        foreign = mint(role="viewer", workspace_ids=[spaces["Operations"], bad])
        assert foreign.status == 422 and foreign.body["error"]["details"][0]["path"] == "/workspace_ids/1", bad
    scoped = mint(role="builder", workspace_ids=[spaces["Marketing"]])
    assert scoped.status == 201 and scoped.body["workspace_ids"] == [spaces["Marketing"]]
    admin = mint(role="admin")
    assert admin.status == 201 and admin.body["workspace_ids"] is None
    listed = {t["id"]: t for t in api.get("/api/api-tokens?limit=200", token=owner).body["items"]}
    assert listed[scoped.body["id"]]["workspace_ids"] == [spaces["Marketing"]]
    # the Marketing-scoped builder token works there and nowhere else
    flows = "/api/workspaces/{}/flows"
    assert api.get(flows.format(spaces["Marketing"]), token=scoped.body["token"]).status == 200
    assert api.get(flows.format(spaces["Operations"]), token=scoped.body["token"]).status == 404


def test_a_builder_token_minted_without_a_scope_reaches_no_workspace(api, tokens, api_tokens, owner_engine):
    # GIVEN a builder token from before scopes existed (no workspace_ids stored)
    token = api.post("/api/api-tokens", {"name": "legacy", "role": "builder",
                                         "workspace_ids": [tokens.ids("acme")["workspaces"]["Operations"]]},
                     token=tokens[("acme", "owner")]).body
    with system_uow(db_engine=owner_engine) as uow:
        uow.execute(text("UPDATE api_tokens SET workspace_ids = NULL WHERE id = CAST(:id AS uuid)"),
                    {"id": token["id"]})
        uow.commit()
    # THEN it sees no workspace, rather than all of them
    assert api.get("/api/workspaces", token=token["token"]).body["items"] == []
    for ws in tokens.ids("acme")["workspaces"].values():
        assert api.get(f"/api/workspaces/{ws}/flows", token=token["token"]).status == 404
