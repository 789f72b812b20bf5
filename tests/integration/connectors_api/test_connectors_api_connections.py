"""Connections over the API: write-only secrets, masked reads, health, rotation, envelopes bound to rows."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

from chalicelib import bootstrap
from chalicelib.crypto.envelope import EnvelopeCipher
from chalicelib.crypto.key_wrapper import DecryptionFailed, LocalMasterKeyWrapper
from chalicelib.services.connectors import secrets_box
from tests.fakes.vendors.slack import DEFAULT_TOKEN, FakeSlack
from tests.integration.connectors_api.connector_docs import app_fields, orders_document, unique


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def connect(api, builder, ws, slack):
    def make(token: str = DEFAULT_TOKEN, workspace: str | None = None, auth: str | None = None) -> dict:
        reply = api.post(
            f"/api/workspaces/{workspace or ws}/connections",
            {
                "name": unique("slack"),
                "app_id": "builtin:slack",
                "settings": {"base_url": slack.base_url},
                "secrets": {"token": token},
            },
            token=auth or builder,
        )
        assert reply.status == 201, reply.body
        return reply.body

    return make


def _envelope(owner_engine, connection_id: str) -> dict:
    with owner_engine.connect() as conn:
        conn.execute(text("SELECT set_config('app.scope', 'system', false)"))
        return conn.execute(
            text("SELECT secrets_envelope FROM connections WHERE id = :id"), {"id": connection_id}
        ).scalar()


def _set_envelope(owner_engine, connection_id: str, envelope: dict) -> None:
    import json

    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.scope', 'system', true)"))
        conn.execute(
            text("UPDATE connections SET secrets_envelope = CAST(:e AS jsonb) WHERE id = :id"),
            {"e": json.dumps(envelope), "id": connection_id},
        )


def test_secrets_are_write_only_and_stored_only_as_an_envelope(
    api, builder, viewer, ws, connect, owner_engine
):
    created = connect()
    assert created["credentials"] == {"token": "••••" + DEFAULT_TOKEN[-4:]}
    assert created["status"] == "ok" and created["app_id"] == "builtin:slack"
    # reads, by anyone, show the mask
    for token in (builder, viewer):
        shown = api.get(f"/api/workspaces/{ws}/connections/{created['id']}", token=token)
        assert shown.status == 200 and DEFAULT_TOKEN not in str(shown.body)
    listed = api.get(f"/api/workspaces/{ws}/connections?app_id=builtin:slack", token=viewer).body["items"]
    assert created["id"] in {c["id"] for c in listed} and DEFAULT_TOKEN not in str(listed)
    # at rest: an envelope under the KMS key the local stack provisions, nothing in clear
    envelope = _envelope(owner_engine, created["id"])
    assert envelope["kek"].startswith("kms:alias/") and envelope["alg"] == "A256GCM"
    with owner_engine.connect() as conn:
        conn.execute(text("SELECT set_config('app.scope', 'system', false)"))
        row = conn.execute(
            text("SELECT CAST(c AS text) FROM connections c WHERE id = :id"), {"id": created["id"]}
        ).scalar()
    assert DEFAULT_TOKEN not in row


def test_test_action_sets_the_health_status(api, builder, ws, connect):
    conn = connect(token="xoxb-wrong-token-0000-0000")
    base = f"/api/workspaces/{ws}/connections/{conn['id']}"
    refused = api.post(f"{base}/test", token=builder)
    assert refused.status == 200 and refused.body["ok"] is False
    assert refused.body["error"]["code"] == "upstream_unauthorized"
    assert refused.body["error"]["vendor_code"] == "invalid_auth"
    shown = api.get(base, token=builder).body
    assert (
        shown["status"] == "invalid" and shown["status_detail"] == "invalid_auth" and shown["last_tested_at"]
    )
    # WHEN the right token is rotated in THEN the test passes and the status is ok again
    rotated = api.post(f"{base}/rotate", {"secrets": {"token": DEFAULT_TOKEN}}, token=builder)
    assert rotated.status == 200 and rotated.body["credentials"]["token"].endswith(DEFAULT_TOKEN[-4:])
    passed = api.post(f"{base}/test", token=builder)
    assert passed.body["ok"] is True and passed.body["status"] == 200 and passed.body["output"]["team_id"]
    assert passed.body["request"]["headers"]["Authorization"] == "Bearer ••••" + DEFAULT_TOKEN[-4:]
    assert api.get(base, token=builder).body["status"] == "ok"


def test_rotation_reseals_under_a_fresh_data_key(api, builder, ws, connect, owner_engine, tokens):
    conn = connect()
    before = _envelope(owner_engine, conn["id"])
    rotated = api.post(f"/api/workspaces/{ws}/connections/{conn['id']}/rotate", {}, token=builder)
    assert rotated.status == 200
    after = _envelope(owner_engine, conn["id"])
    assert all(before[k] != after[k] for k in ("dek", "nonce", "ct"))
    assert secrets_box.unseal(tokens.ids("acme")["tenant_id"], conn["id"], after) == {"token": DEFAULT_TOKEN}
    audit = api.get(f"/api/audit?target_id={conn['id']}", token=tokens[("acme", "admin")]).body["items"]
    assert {"connection.created", "connection.rotated"} <= {e["action"] for e in audit}
    assert DEFAULT_TOKEN not in str(audit)


def test_changing_settings_requires_the_secrets_again(api, builder, ws, connect, slack):
    conn = connect()
    base = f"/api/workspaces/{ws}/connections/{conn['id']}"
    refused = api.patch(base, {"settings": {"base_url": "https://attacker.example.com/api"}}, token=builder)
    assert refused.status == 422 and refused.error_code == "secrets_required"
    assert refused.body["error"]["details"] == [
        {"path": "/secrets", "issue": "is required when settings change"}
    ]
    assert api.get(base, token=builder).body["settings"] == {"base_url": slack.base_url}
    # a rename alone, or a secrets change alone, needs nothing more
    assert api.patch(base, {"name": unique("renamed")}, token=builder).status == 200
    # with the secrets re-entered, settings change and the secrets are replaced entirely
    moved = api.patch(
        base,
        {"settings": {"base_url": slack.base_url + "/"}, "secrets": {"token": "xoxb-new-token-1111-2222"}},
        token=builder,
    )
    assert moved.status == 200 and moved.body["credentials"] == {"token": "••••2222"}


def test_input_errors_are_422_with_paths_and_never_quote_secrets(api, builder, ws):
    base = f"/api/workspaces/{ws}/connections"
    unknown = api.post(base, {"name": unique("x"), "app_id": "builtin:nope"}, token=builder)
    assert unknown.status == 422 and unknown.body["error"]["details"][0]["path"] == "/app_id"
    short = api.post(
        base, {"name": unique("x"), "app_id": "builtin:slack", "secrets": {"token": "xoxb-s"}}, token=builder
    )
    assert short.status == 422 and short.body["error"]["details"] == [
        {"path": "/secrets/token", "issue": "does not satisfy 'minLength'"}
    ]
    assert "xoxb-s" not in str(short.body)
    shop = api.post(
        base,
        {
            "name": unique("x"),
            "app_id": "builtin:shopify",
            "settings": {"shop": "Not A Shop"},
            "secrets": {"access_token": "shpat_0123456789"},
        },
        token=builder,
    )
    assert shop.status == 422 and shop.body["error"]["details"][0]["path"] == "/settings/shop"
    missing = api.post(base, {"name": unique("x"), "app_id": "builtin:slack"}, token=builder)
    assert missing.status == 422 and missing.body["error"]["details"][0]["path"] == "/secrets/token"


def test_names_workspaces_delete_and_apps_in_use(api, builder, ws, connect, tokens, acme_ids):
    conn = connect()
    base = f"/api/workspaces/{ws}/connections"
    dup = api.post(
        base,
        {"name": conn["name"], "app_id": "builtin:slack", "secrets": {"token": DEFAULT_TOKEN}},
        token=builder,
    )
    assert dup.status == 409 and dup.error_code == "duplicate_name"
    # the builder is not a member of Marketing: its connections do not exist for them
    marketing = acme_ids["workspaces"]["Marketing"]
    assert api.get(f"/api/workspaces/{marketing}/connections", token=builder).status == 404
    other = connect(workspace=marketing, auth=tokens[("acme", "admin")])
    assert api.get(f"/api/workspaces/{ws}/connections/{other['id']}", token=builder).status == 404
    # a custom app with a connection cannot be deleted
    slug = unique("orders")
    app = api.post("/api/apps", {**app_fields(slug), "definition": orders_document(slug)}, token=builder).body
    used = api.post(
        base,
        {
            "name": unique("orders"),
            "app_id": app["id"],
            "settings": {"base_url": "https://orders.example.com"},
            "secrets": {"api_key": "key-0123456789"},
        },
        token=builder,
    ).body
    assert api.delete(f"/api/apps/{app['id']}", token=builder).error_code == "app_in_use"
    assert api.delete(f"{base}/{used['id']}", token=builder).status == 204
    assert api.get(f"{base}/{used['id']}", token=builder).status == 404
    assert api.delete(f"/api/apps/{app['id']}", token=builder).status == 204


def test_an_envelope_pasted_into_another_row_or_tenant_does_not_decrypt(api, connect, owner_engine, tokens):
    # GIVEN two ACME connections and one of BETA's
    first, second = connect(), connect()
    beta_ws = tokens.ids("beta")["workspaces"]["Operations"]
    beta = connect(workspace=beta_ws, auth=tokens[("beta", "owner")])
    acme_tenant, beta_tenant = tokens.ids("acme")["tenant_id"], tokens.ids("beta")["tenant_id"]
    envelope = _envelope(owner_engine, first["id"])
    assert secrets_box.unseal(acme_tenant, first["id"], envelope) == {"token": DEFAULT_TOKEN}
    # WHEN the first one's envelope is copied into the others' rows
    for tenant, victim in ((acme_tenant, second["id"]), (beta_tenant, beta["id"])):
        with pytest.raises(DecryptionFailed):
            secrets_box.unseal(tenant, victim, envelope)
    _set_envelope(owner_engine, second["id"], envelope)
    _set_envelope(owner_engine, beta["id"], envelope)
    # THEN using them fails, with no secret in the answer
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    for workspace, victim, token in (
        (ws, second, tokens[("acme", "builder")]),
        (beta_ws, beta, tokens[("beta", "owner")]),
    ):
        reply = api.post(f"/api/workspaces/{workspace}/connections/{victim['id']}/test", token=token)
        assert reply.status == 500 and reply.error_code == "decryption_failed"
        assert DEFAULT_TOKEN not in str(reply.body)
    # the key is bound too: the same envelope with another key version label does not unwrap
    with pytest.raises(Exception):  # noqa: B017  (KMS or the envelope refuses; either way no plaintext)
        secrets_box.unseal(acme_tenant, first["id"], {**envelope, "kv": "2"})


def test_kek_rotation_rewraps_data_keys_without_touching_ciphertexts(connect, owner_engine, tokens):
    conn = connect()
    original = bootstrap.container().cipher()
    new_kek = LocalMasterKeyWrapper(os.urandom(32), "2")
    before = _envelope(owner_engine, conn["id"])
    try:
        # WHEN the operator rotates to a new KEK (the old one still unwraps during the move)
        report = secrets_box.rewrap_connections(EnvelopeCipher(new_kek, previous=[original.current]))
        assert report.rewrapped >= 1 and report.checked >= report.rewrapped
        after = _envelope(owner_engine, conn["id"])
        # THEN only the wrapped data key moved
        assert (after["kek"], after["kv"]) == ("local", "2") and after["dek"] != before["dek"]
        assert (after["ct"], after["nonce"]) == (before["ct"], before["nonce"])
        only_new = EnvelopeCipher(new_kek)
        tenant = tokens.ids("acme")["tenant_id"]
        assert only_new.decrypt(after, tenant_id=tenant, table="connections", record_id=conn["id"]) == {
            "token": DEFAULT_TOKEN
        }
        # and a second run has nothing left to move
        assert (
            secrets_box.rewrap_connections(EnvelopeCipher(new_kek, previous=[original.current])).rewrapped
            == 0
        )
    finally:
        secrets_box.rewrap_connections(EnvelopeCipher(original.current, previous=[new_kek]))
    assert _envelope(owner_engine, conn["id"])["kek"] == before["kek"]


def test_deleting_a_connection_that_workflows_use_is_refused_naming_them(api, builder, ws):
    # GIVEN a connection and a workflow whose secret reference names it
    conn = api.post(f"/api/workspaces/{ws}/connections",
                    {"name": f"used-{uuid.uuid4().hex[:6]}", "app_id": "builtin:slack",
                     "secrets": {"token": "xoxb-used-0000"}}, token=builder).body
    flow = api.post(f"/api/workspaces/{ws}/flows",
                    {"title": f"uses {conn['name']}", "secrets": {"SLACK": {"connection_id": conn["id"],
                                                                              "field": "token"}}},
                    token=builder)
    assert flow.status == 201, flow.body
    # WHEN it is deleted THEN 409 names the workflow, and the connection stays
    refused = api.delete(f"/api/workspaces/{ws}/connections/{conn['id']}", token=builder)
    assert refused.status == 409 and refused.error_code == "connection_in_use", refused.body
    assert refused.body["error"]["details"] == [{"path": f"/workflows/{flow.body['id']}",
                                                "issue": f"uses this connection ({flow.body['title']})"}]
    assert api.get(f"/api/workspaces/{ws}/connections/{conn['id']}", token=builder).status == 200
    # once the workflow no longer uses it, it can go
    assert api.delete(f"/api/workspaces/{ws}/flows/{flow.body['id']}", token=builder).status == 204
    assert api.delete(f"/api/workspaces/{ws}/connections/{conn['id']}", token=builder).status == 204
