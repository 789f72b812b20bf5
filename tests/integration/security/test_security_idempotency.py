"""Idempotency-Key on POSTs: same key + body → same answer once; different body → 409."""

import uuid


def test_repeat_returns_first_answer_and_creates_once(api, tokens):
    key = str(uuid.uuid4())
    token = tokens[("acme", "admin")]
    name = f"Idem {key[:8]}"
    first = api.post("/api/workspaces", {"name": name}, token=token, headers={"idempotency-key": key})
    again = api.post("/api/workspaces", {"name": name}, token=token, headers={"idempotency-key": key})
    assert first.status == again.status == 201
    assert first.body == again.body and again.headers.get("Idempotent-Replay") == "true"
    names = [w["name"] for w in api.get("/api/workspaces?limit=200", token=token).body["items"]]
    assert names.count(name) == 1
    other = api.post("/api/workspaces", {"name": name + "x"}, token=token, headers={"idempotency-key": key})
    assert other.status == 409 and other.error_code == "idempotency_conflict"
    assert api.delete(f"/api/workspaces/{first.body['id']}", token=token).status == 204


def test_failed_first_attempt_releases_the_key(api, tokens):
    key = str(uuid.uuid4())
    token = tokens[("acme", "admin")]
    bad = api.post("/api/workspaces", {"name": ""}, token=token, headers={"idempotency-key": key})
    assert bad.status == 422
    good = api.post("/api/workspaces", {"name": f"Retry {key[:8]}"}, token=token, headers={"idempotency-key": key})
    assert good.status == 201
    assert api.delete(f"/api/workspaces/{good.body['id']}", token=token).status == 204
