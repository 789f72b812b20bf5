"""One JSON policy at the edge: bad input answers a 4xx in the error shape, never a 500.

Each case here answered 500 before the policy existed (PostgreSQL refusing NUL,
RecursionError on deep JSON, NaN/Infinity/1e400 in free-form JSON, integers no
column holds, malformed ids reaching a query).
"""

from __future__ import annotations

import uuid

import pytest

DEEP = b"[" * 10_000 + b"]" * 10_000


@pytest.fixture
def acme(tokens, seeded):
    ids = tokens.ids("acme")
    return {"ws": ids["workspaces"]["Operations"], "owner": tokens[("acme", "owner")],
            "builder": tokens[("acme", "builder")]}


@pytest.fixture
def flow(api, acme):
    graph = {"nodes": [{"id": "start", "name": "start", "type": "start", "config": {}},
                       {"id": "end", "name": "end", "type": "end", "config": {}}],
             "edges": [{"from": "start", "to": "end"}]}
    reply = api.post(f"/api/workspaces/{acme['ws']}/flows", {"title": "json policy", "graph": graph},
                     token=acme["builder"])
    assert reply.status == 201, reply.body
    return reply.body


def _raw(api, method, path, raw, token=None):
    return api.call(method, path, raw=raw, token=token)


def _refused(reply, status, code):
    assert reply.status == status, reply.body
    assert reply.error_code == code, reply.body
    assert reply.body["error"]["request_id"]


@pytest.mark.parametrize("path", ["/auth/login", "/auth/forgot"])
def test_nul_in_public_auth_bodies_is_a_400(api, path):
    _refused(_raw(api, "POST", path, b'{"email": "owner\\u0000@acme.test", "password": "x"}'), 400,
             "invalid_character")


def test_nul_in_a_query_parameter_is_a_400(api, acme):
    _refused(api.get(f"/api/workspaces/{acme['ws']}/flows?q=a%00b", token=acme["builder"]), 400, "invalid_character")


@pytest.mark.parametrize("path", ["/auth/login", "/auth/logout", "/api/workspaces"])
def test_json_nested_ten_thousand_deep_is_a_400(api, acme, path):
    _refused(_raw(api, "POST", path, DEEP, token=acme["owner"]), 400, "too_deep")


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"1" + b"0" * 40])
def test_numbers_json_cannot_carry_are_a_400_in_run_input(api, acme, flow, number):
    path = f"/api/workspaces/{acme['ws']}/flows/{flow['id']}/runs"
    _refused(_raw(api, "POST", path, b'{"mode": "test", "input": {"n": ' + number + b"}}", token=acme["builder"]),
             400, "invalid_number")


@pytest.mark.parametrize(("field", "body"), [
    ("start_payload", b'{"start_payload": {"x": NaN}}'),
    ("env", b'{"env": {"X": Infinity}}'),
])
def test_numbers_json_cannot_carry_are_a_400_in_flow_settings(api, acme, flow, field, body):
    path = f"/api/workspaces/{acme['ws']}/flows/{flow['id']}"
    _refused(_raw(api, "PATCH", path, body, token=acme["builder"]), 400, "invalid_number")


def test_numbers_json_cannot_carry_are_a_400_in_trigger_input_and_connection_settings(api, acme, flow):
    triggers = f"/api/workspaces/{acme['ws']}/flows/{flow['id']}/triggers"
    _refused(_raw(api, "POST", triggers, b'{"kind": "manual", "input": {"n": 1e400}}', token=acme["builder"]),
             400, "invalid_number")
    connections = f"/api/workspaces/{acme['ws']}/connections"
    _refused(_raw(api, "POST", connections,
                  b'{"name": "c", "app_id": "builtin:http", "settings": {"base_url": NaN}}', token=acme["builder"]),
             400, "invalid_number")


def test_a_version_beyond_any_column_is_refused_not_a_500(api, acme, flow):
    path = f"/api/workspaces/{acme['ws']}/flows/{flow['id']}/runs"
    _refused(api.post(path, {"mode": "production", "version": 10**40}, token=acme["builder"]), 400, "invalid_number")
    _refused(api.post(path, {"mode": "production", "version": 2**40}, token=acme["builder"]), 422,
             "validation_failed")


@pytest.mark.parametrize("body", [{"x": 1}, {"refresh_token": 5}, [], "text"])
def test_logout_with_any_json_body_is_a_4xx(api, body):
    reply = api.post("/auth/logout", body)
    assert 400 <= reply.status < 500, reply.body
    assert reply.error_code


def test_malformed_ids_in_bodies_are_a_422(api, acme):
    _refused(api.post("/api/invites", {"email": f"x{uuid.uuid4().hex[:6]}@acme.test", "role": "viewer",
                                       "workspace_ids": ["not-a-uuid"]}, token=acme["owner"]), 422,
             "validation_failed")
    _refused(api.post(f"/api/workspaces/{acme['ws']}/members", {"user_id": "42"}, token=acme["owner"]), 422,
             "validation_failed")
    _refused(api.post("/auth/login", {"email": "owner@acme.test", "password": "x", "tenant_id": "t1"}), 422,
             "validation_failed")


def test_lax_coercions_are_refused(api, acme, flow):
    # GIVEN a boolean field, WHEN 0 is sent, THEN it is not read as false
    path = f"/api/workspaces/{acme['ws']}/flows/{flow['id']}"
    _refused(api.patch(path, {"enabled": 0}, token=acme["builder"]), 422, "validation_failed")


def test_audit_entries_record_the_request_id_the_caller_saw(api, acme):
    # WHEN an admin creates a workspace
    reply = api.post("/api/workspaces", {"name": f"audited {uuid.uuid4().hex[:6]}"}, token=acme["owner"])
    assert reply.status == 201, reply.body
    request_id = reply.headers["X-Request-Id"]
    # THEN its audit entry carries the request id of that answer
    entries = api.get(f"/api/audit?target_id={reply.body['id']}", token=acme["owner"]).body["items"]
    assert [e["request_id"] for e in entries] == [request_id]


def test_lists_honour_order_and_refuse_bad_filters(api, acme):
    # GIVEN three workspaces created one after another
    names = [f"ordered {uuid.uuid4().hex[:6]} {i}" for i in range(3)]
    for name in names:
        assert api.post("/api/workspaces", {"name": name}, token=acme["owner"]).status == 201
    # WHEN listed oldest first, a page at a time
    seen, cursor = [], None
    while True:
        page = api.get("/api/workspaces?order=asc&limit=2" + (f"&cursor={cursor}" if cursor else ""),
                       token=acme["owner"]).body
        seen += [w["name"] for w in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    # THEN they come in creation order, and newest first by default
    assert [n for n in seen if n in names] == names
    newest = [w["name"] for w in api.get("/api/workspaces?limit=200", token=acme["owner"]).body["items"]]
    assert [n for n in newest if n in names] == names[::-1]
    # a cursor of one order is refused in the other; bad filters are a 400, not ignored
    first = api.get("/api/workspaces?order=asc&limit=1", token=acme["owner"]).body["next_cursor"]
    _refused(api.get(f"/api/workspaces?limit=1&cursor={first}", token=acme["owner"]), 400, "invalid_cursor")
    _refused(api.get("/api/workspaces?order=sideways", token=acme["owner"]), 400, "invalid_filter")
    _refused(api.get("/api/metrics?since=not-a-date", token=acme["owner"]), 400, "invalid_filter")
    _refused(api.get("/api/audit?actor_id=nobody", token=acme["owner"]), 400, "invalid_filter")
