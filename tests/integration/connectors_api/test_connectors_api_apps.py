"""Apps, versions and actions over the API: built-in catalog, drafts, publishing, immutability, 422s."""

from __future__ import annotations

import pytest

from tests.integration.connectors_api.connector_docs import app_fields, orders_document, unique


@pytest.fixture
def draft_app(api, builder):
    """A custom app with draft version 1 (two actions)."""
    slug = unique("orders")
    reply = api.post("/api/apps", {**app_fields(slug), "definition": orders_document(slug)}, token=builder)
    assert reply.status == 201, reply.body
    return reply.body


def _actions(api, token, app_id, version_id):
    reply = api.get(f"/api/apps/{app_id}/versions/{version_id}/actions", token=token)
    assert reply.status == 200, reply.body
    return reply.body["items"]


def test_the_builtin_catalog_is_listed_with_stable_ids_and_is_read_only(api, viewer, builder):
    listed = api.get("/api/apps?source=builtin", token=viewer).body["items"]
    ids = {a["id"] for a in listed}
    assert {
        "builtin:http",
        "builtin:slack",
        "builtin:github",
        "builtin:stripe",
        "builtin:shopify",
        "builtin:sendgrid",
        "builtin:hubspot",
    } <= ids
    slack = api.get("/api/apps/builtin:slack", token=viewer).body
    assert slack["builtin"] and slack["status"] == "published" and slack["auth_type"] == "bearer"
    versions = api.get("/api/apps/builtin:slack/versions", token=viewer).body["items"]
    assert [v["id"] for v in versions] == ["builtin:slack@1"]
    actions = _actions(api, viewer, "builtin:slack", "builtin:slack@1")
    post = next(a for a in actions if a["key"] == "post_message")
    assert post["id"] == "builtin:slack:post_message"
    assert post["input_schema"]["properties"]["body"]["required"] == ["channel"]
    # THEN tenants cannot change it, and unknown catalog ids are plain 404s
    assert (
        api.patch("/api/apps/builtin:slack", {"name": "Mine"}, token=builder).error_code
        == "builtin_read_only"
    )
    assert api.post("/api/apps/builtin:slack/versions", {}, token=builder).status == 403
    assert api.get("/api/apps/builtin:nope", token=viewer).status == 404
    assert api.get("/api/apps/builtin:slack/versions/builtin:github@1", token=viewer).status == 404


def test_apps_list_pages_through_the_catalog_then_custom_apps(api, builder, draft_app):
    seen, cursor = [], None
    for _ in range(20):
        reply = api.get("/api/apps?limit=3" + (f"&cursor={cursor}" if cursor else ""), token=builder)
        assert reply.status == 200 and len(reply.body["items"]) <= 3
        seen += [a["id"] for a in reply.body["items"]]
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and seen[0] == "builtin:github" and draft_app["id"] in seen
    custom = api.get("/api/apps?source=custom", token=builder).body["items"]
    assert all(not a["builtin"] for a in custom) and draft_app["id"] in {a["id"] for a in custom}


def test_create_answers_201_with_location_and_validates_the_document_with_paths(api, builder):
    slug = unique("orders")
    reply = api.post("/api/apps", {**app_fields(slug), "definition": orders_document(slug)}, token=builder)
    assert reply.status == 201 and reply.headers["Location"] == f"/api/apps/{reply.body['id']}"
    assert reply.body["status"] == "draft" and reply.body["draft_version_id"]
    # a duplicate slug is a conflict
    again = api.post("/api/apps", {**app_fields(slug), "definition": orders_document(slug)}, token=builder)
    assert again.status == 409 and again.error_code == "duplicate_slug"
    # GIVEN a document whose action templates read an undeclared setting and whose schema is broken
    bad = orders_document(unique("x"))
    bad["actions"][1]["path"] = "/orders/{{ settings.region }}"
    bad["actions"][0]["query_schema"] = {"type": "nope"}
    reply = api.post("/api/apps", {**app_fields(unique("bad")), "definition": bad}, token=builder)
    assert reply.status == 422
    paths = {d["path"] for d in reply.body["error"]["details"]}
    assert "/definition/actions/1/path" in paths and any(
        p.startswith("/definition/actions/0/query_schema") for p in paths
    )
    # pydantic checks the body itself
    reply = api.post(
        "/api/apps", {"name": "x", "slug": "Bad Slug", "vendor": "v", "category": "c"}, token=builder
    )
    assert reply.status == 422 and reply.body["error"]["details"][0]["path"] == "/slug"


def test_publish_makes_a_version_immutable_and_changes_go_into_a_new_draft(api, builder, draft_app):
    app_id, v1 = draft_app["id"], draft_app["draft_version_id"]
    # WHEN the draft is published
    published = api.post(f"/api/apps/{app_id}/publish", token=builder)
    assert published.status == 200 and published.body["status"] == "published" and published.body["id"] == v1
    assert api.get(f"/api/apps/{app_id}", token=builder).body["status"] == "published"
    # THEN editing it, its actions, or publishing it again answers 409
    edit = api.patch(f"/api/apps/{app_id}/versions/{v1}", {"notes": "changed"}, token=builder)
    assert edit.status == 409 and edit.error_code == "version_immutable"
    action = _actions(api, builder, app_id, v1)[0]
    assert (
        api.patch(
            f"/api/apps/{app_id}/versions/{v1}/actions/{action['id']}", {"name": "Renamed"}, token=builder
        ).error_code
        == "version_immutable"
    )
    assert (
        api.post(
            f"/api/apps/{app_id}/versions/{v1}/actions",
            {"key": "more", "name": "More", "method": "GET", "path": "/more"},
            token=builder,
        ).status
        == 409
    )
    assert api.delete(f"/api/apps/{app_id}/versions/{v1}/actions/{action['id']}", token=builder).status == 409
    assert (
        api.post(f"/api/apps/{app_id}/versions/{v1}/publish", token=builder).error_code
        == "invalid_version_transition"
    )
    assert api.post(f"/api/apps/{app_id}/publish", token=builder).error_code == "no_draft"
    # WHEN a new draft is opened, it starts from the latest document, with its own action ids
    draft = api.post(f"/api/apps/{app_id}/versions", {}, token=builder)
    assert draft.status == 201 and draft.body["number"] == 2 and draft.body["status"] == "draft"
    assert (
        draft.body["definition"]["actions"]
        == api.get(f"/api/apps/{app_id}/versions/{v1}", token=builder).body["definition"]["actions"]
    )
    v2_actions = _actions(api, builder, app_id, draft.body["id"])
    assert {a["key"] for a in v2_actions} == {"echo", "create_order"}
    assert not {a["id"] for a in v2_actions} & {a["id"] for a in _actions(api, builder, app_id, v1)}
    second = api.post(f"/api/apps/{app_id}/versions", {}, token=builder)
    assert second.status == 409 and second.error_code == "draft_exists"
    # the published version is untouched by edits of the draft
    api.patch(
        f"/api/apps/{app_id}/versions/{draft.body['id']}/actions/{v2_actions[0]['id']}",
        {"name": "Echo v2"},
        token=builder,
    )
    assert _actions(api, builder, app_id, v1)[0]["name"] == "Echo"
    # deprecate v1, then publish v2
    deprecated = api.post(f"/api/apps/{app_id}/versions/{v1}/deprecate", token=builder)
    assert deprecated.status == 200 and deprecated.body["status"] == "deprecated"
    assert api.post(f"/api/apps/{app_id}/versions/{v1}/deprecate", token=builder).status == 409
    assert api.get(f"/api/apps/{app_id}", token=builder).body["status"] == "deprecated"
    assert api.post(f"/api/apps/{app_id}/versions/{draft.body['id']}/publish", token=builder).status == 200
    listed = api.get(f"/api/apps/{app_id}/versions", token=builder).body["items"]
    assert [(v["number"], v["status"]) for v in listed] == [(2, "published"), (1, "deprecated")]


def test_actions_crud_on_a_draft_with_422_paths_relative_to_the_body(api, builder, draft_app):
    app_id, version = draft_app["id"], draft_app["draft_version_id"]
    base = f"/api/apps/{app_id}/versions/{version}/actions"
    # GIVEN a new action
    created = api.post(
        base,
        {
            "key": "list_orders",
            "name": "List orders",
            "method": "GET",
            "path": "/anything/orders",
            "body_encoding": "none",
            "query_schema": {"type": "object", "properties": {"limit": {"type": "integer"}}},
        },
        token=builder,
    )
    assert created.status == 201 and created.headers["Location"] == f"{base}/{created.body['id']}"
    assert created.body["input_schema"]["properties"]["query"]["properties"]["limit"] == {"type": "integer"}
    assert (
        api.post(
            base, {"key": "list_orders", "name": "Again", "method": "GET", "path": "/x"}, token=builder
        ).error_code
        == "duplicate_action_key"
    )
    # WHEN an action is invalid, THEN the pointers name the spot in the body
    bad = api.post(
        base, {"key": "bad", "name": "Bad", "method": "FETCH", "path": "/a/{{ path.id }}"}, token=builder
    )
    assert bad.status == 422 and {d["path"] for d in bad.body["error"]["details"]} == {"/method"}
    bad = api.post(
        base, {"key": "bad", "name": "Bad", "method": "GET", "path": "/a/{{ path.id }}"}, token=builder
    )
    assert bad.status == 422 and bad.body["error"]["details"] == [
        {"path": "/path_schema", "issue": "must declare and require path parameter 'id'"}
    ]
    bad = api.patch(
        f"{base}/{created.body['id']}", {"sample_input": {"query": {"limit": "ten"}}}, token=builder
    )
    assert bad.status == 422 and bad.body["error"]["details"][0]["path"] == "/sample_input/query/limit"
    # renaming keeps the id; the test action follows its rename
    echo = next(a for a in _actions(api, builder, app_id, version) if a["key"] == "echo")
    renamed = api.patch(f"{base}/{echo['id']}", {"key": "ping"}, token=builder)
    assert renamed.status == 200 and renamed.body["id"] == echo["id"] and renamed.body["is_test_action"]
    # removing the test action breaks the document: 422 pointing at the document
    refused = api.delete(f"{base}/{echo['id']}", token=builder)
    assert refused.status == 422 and refused.body["error"]["details"][0]["path"] == "/definition/test_action"
    assert api.delete(f"{base}/{created.body['id']}", token=builder).status == 204
    assert api.get(f"{base}/{created.body['id']}", token=builder).status == 404
    assert api.get(f"/api/actions/{echo['id']}", token=builder).body["key"] == "ping"


def test_app_metadata_follows_into_the_draft_and_delete(api, builder, viewer, draft_app):
    app_id = draft_app["id"]
    assert api.patch(f"/api/apps/{app_id}", {"name": "Orders"}, token=viewer).status == 403
    changed = api.patch(f"/api/apps/{app_id}", {"name": "Orders v2", "description": "New"}, token=builder)
    assert changed.status == 200 and changed.body["name"] == "Orders v2"
    version = api.get(f"/api/apps/{app_id}/versions/{draft_app['draft_version_id']}", token=builder).body
    assert version["definition"]["name"] == "Orders v2" and version["definition"]["description"] == "New"
    assert (
        api.delete(f"/api/apps/{app_id}/versions/{draft_app['draft_version_id']}", token=builder).status
        == 204
    )
    assert api.delete(f"/api/apps/{app_id}", token=builder).status == 204
    assert api.get(f"/api/apps/{app_id}", token=builder).status == 404


def test_providers_and_node_templates(api, builder, tokens, draft_app):
    admin = tokens[("acme", "admin")]
    api.post(f"/api/apps/{draft_app['id']}/publish", token=builder)
    providers = api.get("/api/providers?limit=200", token=builder).body["items"]
    by_id = {p["id"]: p for p in providers}
    assert by_id["builtin:stripe"]["auth_fields"]["properties"]["secret_key"]["writeOnly"] is True
    assert by_id[draft_app["id"]]["needs_connection"] is True
    templates = api.get("/api/node-templates?limit=200", token=builder).body["items"]
    kinds = {t["kind"] for t in templates}
    assert kinds >= {"step_type", "app_action"}
    assert any(t["kind"] == "step_type" and t["type"] == "delay" for t in templates)
    slack_post = next(t for t in templates if t.get("ref") == "builtin:slack:post_message")
    assert slack_post["input_schema"]["properties"]["body"]["required"] == ["channel"]
    assert any(t.get("app_id") == draft_app["id"] for t in templates)
    # POST is for admins, with safe names
    body = {
        "name": unique("notify").replace("-", "_"),
        "title": "Notify ops",
        "step_type": "action",
        "action_ref": "builtin:slack:post_message",
        "config": {"input": {"body": {"channel": "C1"}}},
    }
    assert api.post("/api/node-templates", body, token=builder).status == 403
    assert (
        api.post("/api/node-templates", {**body, "name": "Bad Name!"}, token=admin).body["error"]["details"][
            0
        ]["path"]
        == "/name"
    )
    assert api.post("/api/node-templates", {**body, "name": "delay"}, token=admin).status == 422
    # a preset follows the nodes' $secrets rule: only where a credential goes
    leaky = {**body, "step_type": "transform", "action_ref": None,
             "config": {"output": {"t": "{{ $secrets.k | upper }}"}}}
    refused = api.post("/api/node-templates", leaky, token=admin)
    assert refused.status == 422 and refused.body["error"]["details"][0]["path"] == "/config/output/t"
    created = api.post("/api/node-templates", body, token=admin)
    assert created.status == 201 and created.body["ref"] == f"tpl:{body['name']}"
    assert api.post("/api/node-templates", body, token=admin).error_code == "duplicate_name"
    custom = api.get("/api/node-templates?kind=custom", token=builder).body["items"]
    assert body["name"] in {t["name"] for t in custom}
    assert api.delete(f"/api/node-templates/{created.body['id']}", token=admin).status == 204


def test_demo_tenants_have_sample_apps_and_connections(api, tokens):
    for tenant, app_slug, connection in (
        ("acme", "acme-orders", "Team Slack"),
        ("beta", "beta-inventory", "Stripe (test mode)"),
    ):
        owner = tokens[(tenant, "owner")]
        custom = api.get("/api/apps?source=custom&limit=200", token=owner).body["items"]
        sample = next(a for a in custom if a["slug"] == app_slug)
        assert sample["status"] == "published"
        assert [
            v["status"] for v in api.get(f"/api/apps/{sample['id']}/versions", token=owner).body["items"]
        ] == ["draft", "published"]
        ws = tokens.ids(tenant)["workspaces"]["Operations"]
        names = {
            c["name"]: c
            for c in api.get(f"/api/workspaces/{ws}/connections?limit=200", token=owner).body["items"]
        }
        assert connection in names and all(
            "placeholder" not in str(v) for v in names[connection]["credentials"].values()
        )
    acme_slugs = {
        a["slug"]
        for a in api.get("/api/apps?source=custom&limit=200", token=tokens[("acme", "owner")]).body["items"]
    }
    assert "beta-inventory" not in acme_slugs


def test_percent_encoded_ids_name_the_same_resources(api, viewer):
    # GIVEN ids with a colon, which clients that encode path segments send as %3A
    # WHEN they are read encoded THEN the answer is the same as for the raw id
    raw = api.get("/api/apps/builtin:slack/versions/builtin:slack@1", token=viewer)
    encoded = api.get("/api/apps/builtin%3Aslack/versions/builtin%3Aslack%401", token=viewer)
    assert raw.status == encoded.status == 200
    assert encoded.body == raw.body
    action = api.get("/api/actions/builtin%3Aslack%3Apost_message", token=viewer)
    assert action.status == 200 and action.body["id"] == "builtin:slack:post_message"
