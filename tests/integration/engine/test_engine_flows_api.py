"""Workflows over the API: CRUD, graph validation, publishing, roles, audit, tenancy."""

from __future__ import annotations

import copy

from tests.integration.engine.engine_harness import chain_graph, edge, node


def _path(acme, *parts):
    return "/".join([f"/api/workspaces/{acme['ws']}/flows", *parts])


def test_create_answers_201_with_location_and_keeps_the_start_payload_as_given(acme):
    api, token = acme["api"], acme["token"]
    # GIVEN a start payload with nested nulls and odd keys
    start_payload = {"payload": {"order": None, "items": []}, "note": "kept"}
    # WHEN it is created with it, and another without one
    given = api.post(_path(acme), {"title": "Orders", "start_payload": start_payload}, token=token)
    default = api.post(_path(acme), {"title": "Defaults"}, token=token)
    # THEN both answer 201 with Location, and the payloads are stored exactly
    assert given.status == 201 and default.status == 201
    assert given.headers["Location"] == _path(acme, given.body["id"])
    assert given.body["start_payload"] == start_payload
    assert default.body["start_payload"] == {"payload": None}
    assert default.body["status"] == "draft" and default.body["enabled"] is False
    # AND a run without input starts from the stored payload, which the run does not change
    api.put(_path(acme, given.body["id"], "graph"), chain_graph(1), token=token)
    run = api.post(_path(acme, given.body["id"], "runs"), {}, token=token)
    assert run.status == 202 and run.body["input"] == {"order": None, "items": []}
    assert api.get(_path(acme, given.body["id"]), token=token).body["start_payload"] == start_payload


def test_list_filters_and_pages(acme):
    api, token = acme["api"], acme["token"]
    marker = "pager-" + acme["ws"][:6]
    for status in ("draft", "test", "production"):
        assert api.post(_path(acme), {"title": f"{marker} {status}", "status": status}, token=token).status == 201
    # WHEN filtering by status and title, one per page
    first = api.get(_path(acme) + f"?q={marker}&limit=2", token=token).body
    second = api.get(_path(acme) + f"?q={marker}&limit=2&cursor={first['next_cursor']}", token=token).body
    only_test = api.get(_path(acme) + f"?q={marker}&status=test", token=token).body
    # THEN newest first, no overlap, the filter applies
    titles = [f["title"] for f in first["items"] + second["items"]]
    assert titles == [f"{marker} production", f"{marker} test", f"{marker} draft"]
    assert second["next_cursor"] is None
    assert [f["title"] for f in only_test["items"]] == [f"{marker} test"]


def test_list_words_are_literal_and_filters_combine_across_pages(acme):
    api, token = acme["api"], acme["token"]
    marker = "lit-" + acme["ws"][:6]
    # GIVEN titles where % and _ would be wildcards, enabled and not
    for title, enabled in ((f"{marker} 100% _done_", True), (f"{marker} 1000 xdonex", True),
                           (f"{marker} 100% _done_ off", False)):
        assert api.post(_path(acme), {"title": title, "enabled": enabled}, token=token).status == 201

    def titles(query):
        reply = api.get(_path(acme) + query, token=token)
        assert reply.status == 200, reply.body
        return [f["title"] for f in reply.body["items"]], reply.body["next_cursor"]

    # WHEN searching words with % and _ THEN they match literally (case-insensitive)
    assert titles(f"?q={marker}%20100%25%20_DONE_")[0] == [f"{marker} 100% _done_ off", f"{marker} 100% _done_"]
    # AND filters combine; oldest first pages forward with its own cursor
    assert titles(f"?q={marker}%20100%25&enabled=false")[0] == [f"{marker} 100% _done_ off"]
    first, cursor = titles(f"?q={marker}&enabled=true&order=asc&limit=1")
    second, last = titles(f"?q={marker}&enabled=true&order=asc&limit=1&cursor={cursor}")
    assert (first, second, last) == ([f"{marker} 100% _done_"], [f"{marker} 1000 xdonex"], None)
    # AND a cursor of one order is refused in the other
    refused = api.get(_path(acme) + f"?q={marker}&enabled=true&limit=1&cursor={cursor}", token=token)
    assert refused.status == 400 and refused.error_code == "invalid_cursor"


def test_update_delete_and_roles(acme, tokens):
    api, token, viewer = acme["api"], acme["token"], acme["viewer"]
    flow = api.post(_path(acme), {"title": "Editable"}, token=token).body
    # a viewer reads but may not change anything
    assert api.get(_path(acme, flow["id"]), token=viewer).status == 200
    assert api.patch(_path(acme, flow["id"]), {"title": "x"}, token=viewer).status == 403
    assert api.post(_path(acme), {"title": "x"}, token=viewer).status == 403
    assert api.put(_path(acme, flow["id"], "graph"), chain_graph(1), token=viewer).status == 403
    # a builder updates part of it
    changed = api.patch(_path(acme, flow["id"]), {"title": "Edited", "enabled": True, "env": {"REGION": "eu"}},
                        token=token)
    assert changed.status == 200
    assert changed.body["title"] == "Edited" and changed.body["enabled"] is True
    assert changed.body["env"] == {"REGION": "eu"} and changed.body["description"] == ""
    # unknown fields are refused
    assert api.patch(_path(acme, flow["id"]), {"colour": "red"}, token=token).status == 422
    # delete answers 204 and the flow is gone
    assert api.delete(_path(acme, flow["id"]), token=token).status == 204
    assert api.get(_path(acme, flow["id"]), token=token).status == 404
    # every change was audited
    audit = api.get(f"/api/audit?target_id={flow['id']}", token=tokens[("acme", "admin")]).body["items"]
    assert {a["action"] for a in audit} >= {"workflow.created", "workflow.updated", "workflow.deleted"}


def test_graph_validation_points_at_the_failing_node_and_edge(acme):
    api, token = acme["api"], acme["token"]
    flow = api.post(_path(acme), {"title": "Validated"}, token=token).body
    bad = {"nodes": [node("start", "start"), node("x", "teleport"), node("Bad Name", "end")],
           "edges": [edge("start", "x"), edge("x", "nowhere")]}
    reply = api.put(_path(acme, flow["id"], "graph"), bad, token=token)
    assert reply.status == 422 and reply.error_code == "validation_failed"
    paths = {d["path"] for d in reply.body["error"]["details"]}
    assert {"/nodes/1/type", "/nodes/2/name"} <= paths
    # a cycle and a missing connection are reported too
    cyclic = {"nodes": [node("start", "start"), node("a", "transform", output={}), node("b", "transform", output={}),
                        node("end", "end")],
              "edges": [edge("start", "a"), edge("a", "b"), edge("b", "a"), edge("b", "end")]}
    reply = api.put(_path(acme, flow["id"], "graph"), cyclic, token=token)
    assert reply.status == 422
    assert any("cycle" in d["issue"] or "already has an incoming edge" in d["issue"]
               for d in reply.body["error"]["details"])
    connected = chain_graph(0)
    connected["nodes"].insert(1, {**node("call", "http_request", url="http://127.0.0.1:9/"),
                                  "connection_id": "00000000-0000-4000-8000-000000000000"})
    connected["edges"] = [edge("start", "call"), edge("call", "end")]
    reply = api.put(_path(acme, flow["id"], "graph"), connected, token=token)
    assert reply.status == 422
    assert {"path": "/nodes/1/connection_id", "issue": "no such connection in this workspace"} in \
        reply.body["error"]["details"]
    # inside a create body the pointers are prefixed
    reply = api.post(_path(acme), {"title": "bad", "graph": bad}, token=token)
    assert reply.status == 422 and any(d["path"].startswith("/graph/nodes/") for d in reply.body["error"]["details"])
    # and a valid graph is stored as sent
    ok = api.put(_path(acme, flow["id"], "graph"), chain_graph(2), token=token)
    assert ok.status == 200 and ok.body["graph"] == chain_graph(2)


def test_publish_makes_immutable_versions_and_production_runs_use_the_latest(acme):
    api, token = acme["api"], acme["token"]
    flow = api.post(_path(acme), {"title": "Published"}, token=token).body
    assert api.post(_path(acme, flow["id"], "publish"), {}, token=token).status == 409  # nothing to publish
    first_graph = chain_graph(1)
    api.put(_path(acme, flow["id"], "graph"), first_graph, token=token)
    v1 = api.post(_path(acme, flow["id"], "publish"), {"note": "first"}, token=token)
    assert v1.status == 201 and v1.body["number"] == 1 and v1.body["graph"] == first_graph
    # WHEN the draft changes and is published again
    second_graph = copy.deepcopy(chain_graph(3))
    api.put(_path(acme, flow["id"], "graph"), second_graph, token=token)
    v2 = api.post(_path(acme, flow["id"], "publish"), {}, token=token).body
    versions = api.get(_path(acme, flow["id"], "versions"), token=token).body["items"]
    # THEN version 1 still holds what it held
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[1]["graph"] == first_graph and versions[0]["graph"] == second_graph
    assert v2["number"] == 2
    # a production run needs the flow enabled and in production
    refused = api.post(_path(acme, flow["id"], "runs"), {"mode": "production"}, token=token)
    assert refused.status == 409 and refused.error_code == "workflow_not_runnable"
    api.patch(_path(acme, flow["id"]), {"status": "production", "enabled": True}, token=token)
    run = api.post(_path(acme, flow["id"], "runs"), {"mode": "production"}, token=token)
    assert run.status == 202 and run.body["version_number"] == 2 and run.body["mode"] == "production"
    assert run.headers["Location"].endswith(f"/runs/{run.body['id']}")
    pinned = api.post(_path(acme, flow["id"], "runs"), {"mode": "production", "version": 1}, token=token).body
    detail = api.get(f"/api/workspaces/{acme['ws']}/runs/{pinned['id']}", token=token).body
    assert detail["version_number"] == 1 and detail["graph"] == first_graph
    # test runs use the draft
    test_run = api.post(_path(acme, flow["id"], "runs"), {"mode": "test"}, token=token).body
    assert test_run["version_number"] is None


def test_input_schema_is_checked_when_saved_and_at_run_start(acme):
    api, token = acme["api"], acme["token"]
    bad = api.post(_path(acme), {"title": "Schema", "input_schema": {"type": "bogus"}}, token=token)
    assert bad.status == 422 and bad.body["error"]["details"][0]["path"].startswith("/input_schema")
    schema = {"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "string"}}}
    flow = api.post(_path(acme), {"title": "Schema", "input_schema": schema, "graph": chain_graph(1)},
                    token=token).body
    refused = api.post(_path(acme, flow["id"], "runs"), {"input": {"order_id": 7}}, token=token)
    assert refused.status == 422
    assert refused.body["error"]["details"] == [{"path": "/input/order_id", "issue": "7 is not of type 'string'"}]
    assert api.post(_path(acme, flow["id"], "runs"), {"input": {"order_id": "A-7"}}, token=token).status == 202


def test_secret_references_need_existing_connections(acme):
    api, token = acme["api"], acme["token"]
    reply = api.post(_path(acme), {"title": "Secrets", "secrets": {
        "API_TOKEN": {"connection_id": "00000000-0000-4000-8000-000000000001", "field": "token"}}}, token=token)
    assert reply.status == 422
    assert reply.body["error"]["details"] == [
        {"path": "/secrets/API_TOKEN/connection_id", "issue": "no such connection in this workspace"}]


def test_another_tenant_gets_404_on_flows_and_runs(acme, tokens):
    api, token = acme["api"], acme["token"]
    flow = api.post(_path(acme), {"title": "Private", "graph": chain_graph(1)}, token=token).body
    run = api.post(_path(acme, flow["id"], "runs"), {}, token=token).body
    beta = tokens[("beta", "owner")]
    beta_ws = tokens.ids("beta")["workspaces"]["Operations"]
    for method, path in [
        ("GET", _path(acme, flow["id"])), ("PATCH", _path(acme, flow["id"])), ("DELETE", _path(acme, flow["id"])),
        ("PUT", _path(acme, flow["id"], "graph")), ("POST", _path(acme, flow["id"], "publish")),
        ("POST", _path(acme, flow["id"], "runs")), ("GET", _path(acme, flow["id"], "versions")),
        ("GET", f"/api/workspaces/{acme['ws']}/runs/{run['id']}"),
        ("GET", f"/api/workspaces/{beta_ws}/runs/{run['id']}"),
        ("GET", f"/api/workspaces/{beta_ws}/runs/{run['id']}/stream"),
        ("POST", f"/api/workspaces/{beta_ws}/runs/{run['id']}/cancel"),
        ("GET", f"/api/workspaces/{beta_ws}/flows/{flow['id']}"),
    ]:
        reply = api.call(method, path, token=beta, json_body={} if method != "GET" else None)
        assert (reply.status, reply.error_code) == (404, "not_found"), (method, path, reply.body)
    listed = api.get(f"/api/workspaces/{beta_ws}/runs", token=beta).body["items"]
    assert run["id"] not in {r["id"] for r in listed}
