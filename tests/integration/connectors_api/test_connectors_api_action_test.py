"""``POST /api/actions/{id}/test``: a real call with sample input and a chosen connection, masked."""

from __future__ import annotations

import pytest

from tests.fakes.vendors.httpbin import FakeHttpBin
from tests.fakes.vendors.slack import DEFAULT_TOKEN, FakeSlack
from tests.integration.connectors_api.connector_docs import app_fields, orders_document, unique

API_KEY = "orders-key-0123456789abcdef"


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def httpbin():
    with FakeHttpBin() as fake:
        yield fake


@pytest.fixture(scope="module")
def slack_connection(api, tokens, slack):
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    reply = api.post(
        f"/api/workspaces/{ws}/connections",
        {
            "name": unique("slack"),
            "app_id": "builtin:slack",
            "settings": {"base_url": slack.base_url},
            "secrets": {"token": DEFAULT_TOKEN},
        },
        token=tokens[("acme", "builder")],
    )
    assert reply.status == 201, reply.body
    return reply.body


@pytest.fixture(scope="module")
def orders(api, tokens, httpbin):
    """A custom app (draft) and a connection to it, pointed at the echo fake."""
    builder = tokens[("acme", "builder")]
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    slug = unique("orders")
    app = api.post("/api/apps", {**app_fields(slug), "definition": orders_document(slug)}, token=builder).body
    actions = api.get(f"/api/apps/{app['id']}/versions/{app['draft_version_id']}/actions", token=builder).body
    conn = api.post(
        f"/api/workspaces/{ws}/connections",
        {
            "name": unique("orders"),
            "app_id": app["id"],
            "settings": {"base_url": httpbin.base_url},
            "secrets": {"api_key": API_KEY},
        },
        token=builder,
    ).body
    return {"app": app, "actions": {a["key"]: a for a in actions["items"]}, "connection": conn}


def test_a_builtin_action_runs_for_real_and_answers_masked(api, builder, slack, slack_connection):
    reply = api.post(
        "/api/actions/builtin:slack:post_message/test",
        {"connection_id": slack_connection["id"]},
        token=builder,
    )
    assert reply.status == 200, reply.body
    body = reply.body
    assert body["ok"] is True and body["status"] == 200 and body["duration_ms"] >= 0
    assert body["output"]["channel"] == "C0123456789"
    # the sample input was sent
    assert slack.last.json() == {"channel": "C0123456789", "text": "Hello from Stepline"}
    assert body["request"]["method"] == "POST" and body["request"]["url"].endswith("/api/chat.postMessage")
    assert body["request"]["headers"]["Authorization"] == "Bearer ••••" + DEFAULT_TOKEN[-4:]
    assert body["response"]["status"] == 200 and body["response"]["body"]["ok"] is True
    assert DEFAULT_TOKEN not in str(body)
    # with explicit input
    custom = api.post(
        "/api/actions/builtin:slack:post_message/test",
        {
            "connection_id": slack_connection["id"],
            "input": {"body": {"channel": "C0987654321", "text": "hi"}},
        },
        token=builder,
    ).body
    assert custom["ok"] and slack.last.json()["channel"] == "C0987654321"


def test_remote_failures_are_reported_not_raised(api, builder, slack_connection):
    reply = api.post(
        "/api/actions/builtin:slack:post_message/test",
        {"connection_id": slack_connection["id"], "input": {"body": {"channel": "C404", "text": "hi"}}},
        token=builder,
    )
    assert reply.status == 200 and reply.body["ok"] is False
    assert reply.body["error"]["code"] == "upstream_action_failed"
    assert (
        reply.body["error"]["vendor_code"] == "channel_not_found" and reply.body["response"]["status"] == 200
    )


def test_bad_input_and_unusable_connections_are_422_with_paths(
    api, builder, tokens, slack_connection, orders
):
    bad = api.post(
        "/api/actions/builtin:slack:post_message/test",
        {"connection_id": slack_connection["id"], "input": {"body": {"text": "no channel"}}},
        token=builder,
    )
    assert (
        bad.status == 422
        and {"path": "/input/body/channel", "issue": "is required"} in bad.body["error"]["details"]
    )
    missing = api.post("/api/actions/builtin:slack:post_message/test", {}, token=builder)
    assert missing.status == 422 and missing.error_code == "connection_required"
    assert missing.body["error"]["details"][0]["path"] == "/connection_id"
    other_app = api.post(
        "/api/actions/builtin:slack:post_message/test",
        {"connection_id": orders["connection"]["id"]},
        token=builder,
    )
    assert other_app.status == 422 and other_app.error_code == "connection_not_usable"
    # a connection in a workspace the builder does not belong to does not exist for them
    marketing = tokens.ids("acme")["workspaces"]["Marketing"]
    hidden = api.post(
        f"/api/workspaces/{marketing}/connections",
        {"name": unique("slack"), "app_id": "builtin:slack", "secrets": {"token": DEFAULT_TOKEN}},
        token=tokens[("acme", "admin")],
    ).body
    assert (
        api.post(
            "/api/actions/builtin:slack:post_message/test", {"connection_id": hidden["id"]}, token=builder
        ).error_code
        == "connection_not_usable"
    )
    assert api.post("/api/actions/builtin:slack:nope/test", {}, token=builder).status == 404
    assert (
        api.post("/api/actions/builtin:http:http_get/test", {}, token=builder).error_code
        == "connection_required"
    )


def test_a_custom_draft_action_runs_and_echoed_secrets_are_masked(api, builder, orders, httpbin):
    action = orders["actions"]["create_order"]
    reply = api.post(
        f"/api/actions/{action['id']}/test", {"connection_id": orders["connection"]["id"]}, token=builder
    )
    assert reply.status == 200 and reply.body["ok"] is True, reply.body
    # the echo fake sends the API key back in its body: it is masked in the output and the trace
    assert httpbin.last.headers["x-api-key"] == API_KEY
    assert API_KEY not in str(reply.body)
    assert reply.body["output"]["json"] == {"sku": "ABC-1", "quantity": 2}
    assert reply.body["request"]["headers"]["X-Api-Key"] == "••••" + API_KEY[-4:]
    described = api.get(f"/api/actions/{action['id']}", token=builder).body
    assert described["version_status"] == "draft" and described["key"] == "create_order"
