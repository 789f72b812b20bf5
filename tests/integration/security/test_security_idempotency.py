"""Idempotency-Key on POSTs: one caller's key, one answer, sealed at rest, never held for ever.

- same caller, same key + body → the first answer again; different body → 409;
- another caller of the same tenant (user or API token) with the same key and
  body → a request of its own, never the first caller's answer;
- stored answers carry no shown-once secret in plaintext (API token, webhook
  signing secret, session tokens);
- an in-flight claim left by a killed function goes stale; stored answers
  expire after 24 h and the tick deletes them.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from chalicelib.db.uow import system_uow
from chalicelib.services import housekeeping, idempotency
from tests.integration.triggers.trigger_support import tenant


def _sql(owner_engine, statement: str, **params):
    """One statement in the system scope (row-level security is forced, even for the owner)."""
    with system_uow(db_engine=owner_engine) as uow:
        result = uow.execute(text(statement), params)
        rows = [dict(r) for r in result.mappings()] if result.returns_rows else result.rowcount
        uow.commit()
    return rows


def _stored_rows(owner_engine) -> list[dict]:
    rows = _sql(owner_engine, "SELECT * FROM idempotency_keys")
    assert rows, "the check below would pass on an empty table"
    return rows


def _headers(key: str) -> dict[str, str]:
    return {"idempotency-key": key}


def test_repeat_returns_first_answer_and_creates_once(api, tokens):
    key = str(uuid.uuid4())
    token = tokens[("acme", "admin")]
    name = f"Idem {key[:8]}"
    first = api.post("/api/workspaces", {"name": name}, token=token, headers=_headers(key))
    again = api.post("/api/workspaces", {"name": name}, token=token, headers=_headers(key))
    assert first.status == again.status == 201
    assert first.body == again.body and again.headers.get("Idempotent-Replay") == "true"
    assert again.headers.get("Location") == first.headers.get("Location")
    names = [w["name"] for w in api.get("/api/workspaces?limit=200", token=token).body["items"]]
    assert names.count(name) == 1
    other = api.post("/api/workspaces", {"name": name + "x"}, token=token, headers=_headers(key))
    assert other.status == 409 and other.error_code == "idempotency_conflict"
    assert api.delete(f"/api/workspaces/{first.body['id']}", token=token).status == 204


def test_failed_first_attempt_releases_the_key(api, tokens):
    key = str(uuid.uuid4())
    token = tokens[("acme", "admin")]
    bad = api.post("/api/workspaces", {"name": ""}, token=token, headers=_headers(key))
    assert bad.status == 422
    good = api.post("/api/workspaces", {"name": f"Retry {key[:8]}"}, token=token, headers=_headers(key))
    assert good.status == 201
    assert api.delete(f"/api/workspaces/{good.body['id']}", token=token).status == 204


def test_another_user_of_the_tenant_never_gets_the_first_users_answer(api, tokens, owner_engine):
    # GIVEN the owner minted an API token with a key
    key, body = str(uuid.uuid4()), {"name": "ci", "role": "viewer", "workspace_ids": []}
    first = api.post("/api/api-tokens", body, token=tokens[("acme", "owner")], headers=_headers(key))
    assert first.status == 201
    # WHEN an admin of the same tenant sends the same key and body
    second = api.post("/api/api-tokens", body, token=tokens[("acme", "admin")], headers=_headers(key))
    # THEN it is a request of its own: a new token, not the owner's
    assert second.status == 201 and "Idempotent-Replay" not in second.headers
    assert second.body["id"] != first.body["id"] and second.body["token"] != first.body["token"]
    # AND each caller's repeat replays only its own answer
    owner_again = api.post("/api/api-tokens", body, token=tokens[("acme", "owner")], headers=_headers(key))
    admin_again = api.post("/api/api-tokens", body, token=tokens[("acme", "admin")], headers=_headers(key))
    assert owner_again.body == first.body and admin_again.body == second.body
    assert owner_again.headers.get("Idempotent-Replay") == admin_again.headers.get("Idempotent-Replay") == "true"
    # AND neither secret is at rest in plaintext
    stored = json.dumps(_stored_rows(owner_engine), default=str)
    assert first.body["token"] not in stored and second.body["token"] not in stored


def test_api_tokens_of_one_tenant_do_not_share_keys(api, tokens):
    owner = tokens[("acme", "owner")]
    minted = [api.post("/api/api-tokens", {"name": f"bot {i}", "role": "admin"}, token=owner).body["token"]
              for i in range(2)]
    key, body = str(uuid.uuid4()), {"name": f"Bot ws {uuid.uuid4().hex[:6]}"}
    first = api.post("/api/workspaces", body, token=minted[0], headers=_headers(key))
    second = api.post("/api/workspaces", body, token=minted[1], headers=_headers(key))
    assert first.status == 201
    # the second token's request runs (and meets the duplicate name), it is not handed the first's answer
    assert "Idempotent-Replay" not in second.headers and second.body != first.body
    api.delete(f"/api/workspaces/{first.body['id']}", token=owner)


def test_shown_once_secrets_are_never_stored_in_plaintext(api, tokens, seeded, owner_engine):
    key = str(uuid.uuid4())
    # a webhook trigger's generated signing secret
    acme = tenant(api, tokens, "acme")
    flow = acme.make_flow()
    created = api.post(acme.triggers(flow["id"]), {"kind": "webhook"}, token=acme.token, headers=_headers(key))
    assert created.status == 201
    secret = created.body["webhook"]["new_secret"]
    # session tokens from /auth/switch
    viewer = tokens[("acme", "viewer")]
    switched = api.post("/auth/switch", {"tenant_id": acme.tenant_id}, token=viewer, headers=_headers(key))
    assert switched.status == 200
    sessions = [switched.body["access_token"], switched.body["refresh_token"]]
    # an API token
    minted = api.post("/api/api-tokens", {"name": "once", "role": "viewer", "workspace_ids": []},
                      token=tokens[("acme", "admin")], headers=_headers(key))
    assert minted.status == 201
    stored = _stored_rows(owner_engine)
    # THEN every stored answer is an envelope, and no secret appears in any row, in any encoding
    mine = [r for r in stored if r["key"] == key]
    assert len(mine) == 3 and all(set(r["sealed_response"]) >= {"dek", "nonce", "ct"} for r in mine)
    dump = json.dumps(stored, default=str)
    for shown_once in [secret, minted.body["token"], *sessions]:
        assert shown_once not in dump
        assert shown_once[-12:] not in dump
    # AND the caller's own repeat still gets the secret back
    replay = api.post(acme.triggers(flow["id"]), {"kind": "webhook"}, token=acme.token, headers=_headers(key))
    assert replay.headers.get("Idempotent-Replay") == "true" and replay.body["webhook"]["new_secret"] == secret


def test_a_sealed_answer_moved_to_another_callers_key_does_not_open(api, tokens, owner_engine):
    key, body = str(uuid.uuid4()), {"name": "moved", "role": "viewer", "workspace_ids": []}
    owner, admin = tokens[("acme", "owner")], tokens[("acme", "admin")]
    first = api.post("/api/api-tokens", body, token=owner, headers=_headers(key))
    assert first.status == 201
    admin_principal = "user:" + api.get("/api/me", token=admin).body["user"]["id"]
    # GIVEN someone with database access relabels the owner's stored answer as the admin's
    assert _sql(owner_engine, "UPDATE idempotency_keys SET principal = :p WHERE key = :k",
                p=admin_principal, k=key) == 1
    # WHEN the admin replays the key, THEN the answer does not open for them
    reply = api.post("/api/api-tokens", body, token=admin, headers=_headers(key))
    assert reply.status == 409 and reply.error_code == "idempotency_conflict"
    assert first.body["token"] not in json.dumps(reply.body)


def _expire(owner_engine, key: str) -> None:
    """Time passes for one key: its claim or its answer is now out of date."""
    assert _sql(owner_engine, "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = :k",
                k=key) == 1


@pytest.fixture
def scope(api, tokens):
    me = api.get("/api/me", token=tokens[("acme", "owner")]).body
    return idempotency.Scope(tenant_id=me["tenant"]["id"], principal=f"user:{me['user']['id']}",
                             route="POST /api/test:{}", key=str(uuid.uuid4()))


def test_a_stale_in_flight_claim_expires(scope, owner_engine):
    # GIVEN a request claimed the key and its function was killed (finish never ran)
    assert idempotency.begin(scope, b"{}") is None
    # THEN while the claim is fresh, a repeat is told it is still in progress
    with pytest.raises(idempotency.IdempotencyConflict, match="in progress"):
        idempotency.begin(scope, b"{}")
    lease = _sql(owner_engine, "SELECT expires_at - created_at AS lease FROM idempotency_keys WHERE key = :k",
                 k=scope.key)[0]["lease"]
    assert lease.total_seconds() == idempotency.IN_FLIGHT_SECONDS
    # WHEN the claim's time is up
    _expire(owner_engine, scope.key)
    # THEN the next request with the key runs afresh (even with another body) and can complete
    assert idempotency.begin(scope, b'{"other": 1}') is None
    idempotency.finish(scope, 201, '{"ok": true}', {"Location": "/x", "X-Other": "dropped"})
    stored = idempotency.begin(scope, b'{"other": 1}')
    assert stored == idempotency.StoredResponse(201, {"ok": True}, {"Location": "/x"})


def test_stored_answers_expire_after_a_day_and_the_tick_deletes_them(scope, owner_engine):
    assert idempotency.begin(scope, b"{}") is None
    idempotency.finish(scope, 200, '{"n": 1}', {})
    live = idempotency.Scope(scope.tenant_id, scope.principal, scope.route, str(uuid.uuid4()))
    assert idempotency.begin(live, b"{}") is None
    idempotency.finish(live, 200, '{"n": 2}', {})
    kept = _sql(owner_engine, "SELECT expires_at - now() AS kept FROM idempotency_keys WHERE key = :k",
                k=scope.key)[0]["kept"]
    assert 23.9 * 3600 < kept.total_seconds() <= 24 * 3600
    # WHEN a day has passed for the first answer
    _expire(owner_engine, scope.key)
    # THEN the key is no longer replayed: a new request with it runs
    assert idempotency.begin(scope, b'{"again": true}') is None
    idempotency.finish(scope, 500, "", {})  # released again
    _sql(owner_engine, "INSERT INTO idempotency_keys (tenant_id, principal, route, key, body_hash, status, "
         "expires_at) VALUES (:t, :p, :r, :k, 'x', 200, now() - interval '1 second')",
         t=scope.tenant_id, p=scope.principal, r=scope.route, k=scope.key)
    # AND the tick deletes expired rows and keeps live ones
    assert housekeeping.tick()["idempotency_keys"] == "ok"
    keys = {r["key"] for r in _stored_rows(owner_engine)}
    assert scope.key not in keys and live.key in keys


def test_an_answer_that_cannot_be_sealed_is_returned_but_never_kept(scope, owner_engine):
    from chalicelib import bootstrap
    from chalicelib.crypto.key_wrapper import KeyServiceUnavailable

    class RefusingCipher:
        def encrypt(self, *args, **kwargs):
            raise KeyServiceUnavailable()

    # GIVEN the key service refuses while a request with a key completes
    with bootstrap.replaced(cipher=RefusingCipher()):
        assert idempotency.begin(scope, b"{}") is None
        idempotency.finish(scope, 201, '{"token": "slk_shown_once"}', {})
    # THEN no plaintext copy was kept instead: the key was released, and a repeat runs afresh
    assert "slk_shown_once" not in json.dumps(_sql(owner_engine, "SELECT * FROM idempotency_keys"), default=str)
    assert idempotency.begin(scope, b"{}") is None
