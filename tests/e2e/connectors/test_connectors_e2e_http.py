"""Over real HTTP on the local stack: connections, then ``POST /api/actions/{id}/test`` against fakes."""

from __future__ import annotations

import uuid

import httpx
import pytest

from devstack.postgres import free_port
from devstack.runtime import LocalRuntime
from tests.fakes.vendors.httpbin import FakeHttpBin
from tests.fakes.vendors.slack import DEFAULT_TOKEN, FakeSlack


@pytest.fixture(scope="module")
def base_url(local_stack):
    runtime = LocalRuntime(
        endpoint_url=local_stack.env["AWS_ENDPOINT_URL"],
        region=local_stack.env["AWS_DEFAULT_REGION"],
        port=free_port(),
        workers=1,
    ).start()
    yield runtime.gateway.url
    runtime.stop()


@pytest.fixture(scope="module")
def client(base_url, tokens):
    headers = {"Authorization": f"Bearer {tokens[('acme', 'builder')]}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=20, trust_env=False) as http:
        yield http


def test_action_test_over_http_against_a_loopback_fake(client, tokens):
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    with FakeSlack() as slack:
        created = client.post(
            f"/api/workspaces/{ws}/connections",
            json={
                "name": f"slack-{uuid.uuid4().hex[:8]}",
                "app_id": "builtin:slack",
                "settings": {"base_url": slack.base_url},
                "secrets": {"token": DEFAULT_TOKEN},
            },
        )
        assert created.status_code == 201, created.text
        assert created.headers["location"].endswith(created.json()["id"])
        reply = client.post(
            "/api/actions/builtin:slack:post_message/test",
            json={
                "connection_id": created.json()["id"],
                "input": {"body": {"channel": "C0123456789", "text": "over HTTP"}},
            },
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["ok"] is True and body["status"] == 200 and body["output"]["ts"]
        assert slack.messages[-1]["text"] == "over HTTP"
        assert body["request"]["headers"]["Authorization"] == "Bearer ••••" + DEFAULT_TOKEN[-4:]
        assert DEFAULT_TOKEN not in reply.text and DEFAULT_TOKEN not in created.text


def test_custom_app_to_action_test_over_http(client, tokens):
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    slug = f"status-{uuid.uuid4().hex[:8]}"
    definition = {
        "name": "Status",
        "slug": slug,
        "vendor": "Example",
        "category": "monitoring",
        "base_url": "{{ settings.base_url }}",
        "auth": {"type": "none"},
        "settings_schema": {
            "type": "object",
            "required": ["base_url"],
            "properties": {"base_url": {"type": "string"}},
        },
        "test_action": "status",
        "actions": [
            {
                "key": "status",
                "name": "Status",
                "method": "GET",
                "path": "/status/{{ path.code }}",
                "body_encoding": "none",
                "path_schema": {
                    "type": "object",
                    "required": ["code"],
                    "properties": {"code": {"type": "string", "pattern": "^[0-9]{3}$"}},
                },
                "sample_input": {"path": {"code": "200"}},
            }
        ],
    }
    with FakeHttpBin() as httpbin:
        app = client.post(
            "/api/apps",
            json={
                "name": "Status",
                "slug": slug,
                "vendor": "Example",
                "category": "monitoring",
                "definition": definition,
            },
        )
        assert app.status_code == 201, app.text
        assert client.post(f"/api/apps/{app.json()['id']}/publish").status_code == 200
        version = app.json()["draft_version_id"]
        action = client.get(f"/api/apps/{app.json()['id']}/versions/{version}/actions").json()["items"][0]
        conn = client.post(
            f"/api/workspaces/{ws}/connections",
            json={"name": slug, "app_id": app.json()["id"], "settings": {"base_url": httpbin.base_url}},
        ).json()
        ok = client.post(f"/api/actions/{action['id']}/test", json={"connection_id": conn["id"]}).json()
        assert ok["ok"] is True and ok["status"] == 200 and httpbin.last.path == "/status/200"
        failed = client.post(
            f"/api/actions/{action['id']}/test",
            json={"connection_id": conn["id"], "input": {"path": {"code": "404"}}},
        ).json()
        assert (
            failed["ok"] is False
            and failed["status"] == 404
            and failed["error"]["code"] == "upstream_rejected"
        )
        bad = client.post(
            f"/api/actions/{action['id']}/test",
            json={"connection_id": conn["id"], "input": {"path": {"code": "abc"}}},
        )
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "/input/path/code"
