"""End to end on the local stack: a signed webhook over HTTP → a run through the real queue → history.

The local runtime serves the routes on a free port and polls the step queue,
invoking the same handlers Lambda would; nothing is faked.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from chalicelib.triggers.signing import sign_github, sign_standard_webhooks
from devstack.postgres import free_port
from devstack.runtime import LocalRuntime
from tests.integration.triggers.trigger_support import GENEROUS, clear_admission_state, tenant


@pytest.fixture(scope="module")
def runtime(local_stack):
    from chalicelib.services.triggers import settings

    settings.configure(backpressure=GENEROUS)  # other suites' runs share the demo tenant
    clear_admission_state()
    rt = LocalRuntime(
        endpoint_url=local_stack.env["AWS_ENDPOINT_URL"],
        region=local_stack.env["AWS_DEFAULT_REGION"],
        port=free_port(),
        workers=2,
    ).start()
    yield rt
    rt.stop()
    settings.reset()


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def test_signed_webhook_runs_to_completion_and_shows_in_history(api, tokens, seeded, runtime):
    acme = tenant(api, tokens, "acme")
    flow = acme.make_flow()
    trigger = acme.make_trigger(flow["id"], name="orders", webhook={"correlation_key": "body.order.id"})
    secret, url = trigger["webhook"]["new_secret"], trigger["webhook"]["url"]
    path = url[url.index("/webhooks/") :]
    body = json.dumps({"order": {"id": "A-1001", "total": 42}}).encode()
    headers = sign_standard_webhooks(
        body, secret, msg_id=f"msg_{uuid.uuid4().hex}", timestamp=int(time.time())
    )
    with httpx.Client(base_url=runtime.gateway.url, timeout=10) as client:
        # WHEN the sender posts a signed delivery over real HTTP
        reply = client.post(path, content=body, headers={"content-type": "application/json", **headers})
        assert reply.status_code == 202, reply.text
        run_id = reply.json()["run_id"]
        assert reply.headers["ratelimit-policy"].startswith('"webhooks"')
        # THEN the run goes through the queue and completes
        auth = {"authorization": f"Bearer {acme.token}"}
        run = _wait_for(
            lambda: (
                (r := client.get(f"/api/workspaces/{acme.ws}/runs/{run_id}", headers=auth).json())
                and r["status"] in ("success", "failed")
                and r
            )
        )
        assert run and run["status"] == "success", run
        assert run["trigger"] == "webhook" and run["input"]["body"]["order"]["id"] == "A-1001"
        # AND it is in the run history and the trigger's deliveries
        history = client.get(f"/api/workspaces/{acme.ws}/runs?flow_id={flow['id']}", headers=auth).json()
        assert [r["id"] for r in history["items"]] == [run_id]
        deliveries = client.get(
            f"/api/workspaces/{acme.ws}/flows/{flow['id']}/triggers/{trigger['id']}/deliveries", headers=auth
        ).json()["items"]
        assert [(d["outcome"], d["run_id"], d["dedupe_source"]) for d in deliveries] == [
            ("started", run_id, "expression")
        ]
        # AND a retry of the same order (a new delivery id) is answered as a duplicate, with no second run
        retry = sign_standard_webhooks(
            body, secret, msg_id=f"msg_{uuid.uuid4().hex}", timestamp=int(time.time())
        )
        again = client.post(path, content=body, headers={"content-type": "application/json", **retry})
        assert again.status_code == 200 and again.json() == {
            "delivery_id": again.json()["delivery_id"],
            "run_id": run_id,
            "status": "duplicate",
            "duplicate_of": deliveries[0]["id"],
        }
        assert (
            len(
                client.get(f"/api/workspaces/{acme.ws}/runs?flow_id={flow['id']}", headers=auth).json()[
                    "items"
                ]
            )
            == 1
        )


def test_github_delivery_on_the_test_url_runs_the_draft(api, tokens, seeded, runtime):
    acme = tenant(api, tokens, "acme")
    flow = acme.make_flow(status="draft", publish=False, enabled=False)
    trigger = acme.make_trigger(flow["id"], webhook={"signature_scheme": "github"})
    body = b'{"action": "opened", "number": 7}'
    headers = sign_github(body, trigger["webhook"]["new_secret"], delivery_id=str(uuid.uuid4()))
    test_url = trigger["webhook"]["test_url"]
    with httpx.Client(base_url=runtime.gateway.url, timeout=10) as client:
        reply = client.post(
            test_url[test_url.index("/webhooks/") :],
            content=body,
            headers={"content-type": "application/json", "x-github-event": "pull_request", **headers},
        )
        assert reply.status_code == 202, reply.text
        auth = {"authorization": f"Bearer {acme.token}"}
        run = _wait_for(
            lambda: (
                (
                    r := client.get(
                        f"/api/workspaces/{acme.ws}/runs/{reply.json()['run_id']}", headers=auth
                    ).json()
                )
                and r["status"] == "success"
                and r
            )
        )
        assert run and run["mode"] == "test" and run["input"]["headers"]["x-github-event"] == "pull_request"
