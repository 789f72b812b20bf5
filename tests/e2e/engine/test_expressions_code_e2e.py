"""Over HTTP on the local stack: webhook → received=true → $sum(items) in JSONata → a code step → the output.

Also over HTTP: a bad JSONata expression is refused when the graph is saved
(422 naming the node), and a code step that loops fails its run cleanly while
the worker goes on running other runs.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from chalicelib.triggers.signing import sign_standard_webhooks
from devstack.postgres import free_port
from devstack.runtime import LocalRuntime
from tests.integration.triggers.trigger_support import GENEROUS, clear_admission_state, tenant

EXPECTED = {"items": [1, 2, 3], "name": "x", "received": True, "sum": 6, "source": "stepline"}


def flow_graph(code: str = "export default (payload, ctx) => ({ ...payload, source: 'stepline' })") -> dict:
    return {
        "nodes": [
            {"id": "start", "name": "start", "type": "start", "config": {}},
            {"id": "receive", "name": "mark_received", "type": "transform",
             "config": {"output": {"$jsonata": "$merge([body, {'received': true}])"}}},
            {"id": "sum", "name": "sum_items", "type": "transform",
             "config": {"output": {"sum": {"$jsonata": "$sum(items)"}}, "mode": "merge"}},
            {"id": "code", "name": "tag_source", "type": "code", "config": {"code": code}},
            {"id": "end", "name": "end", "type": "end", "config": {}},
        ],
        "edges": [{"from": "start", "to": "receive"}, {"from": "receive", "to": "sum"},
                  {"from": "sum", "to": "code"}, {"from": "code", "to": "end"}],
    }


@pytest.fixture(scope="module")
def runtime(local_stack):
    from chalicelib.services.triggers import settings

    settings.configure(backpressure=GENEROUS)
    clear_admission_state()
    rt = LocalRuntime(endpoint_url=local_stack.env["AWS_ENDPOINT_URL"], region=local_stack.env["AWS_DEFAULT_REGION"],
                      port=free_port(), workers=2).start()
    yield rt
    rt.stop()
    settings.reset()


def _finished(client, acme, run_id, timeout=30.0) -> dict:
    auth = {"authorization": f"Bearer {acme.token}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/workspaces/{acme.ws}/runs/{run_id}", headers=auth).json()
        if run.get("status") in ("success", "failed"):
            return run
        time.sleep(0.05)
    steps = client.get(f"/api/workspaces/{acme.ws}/runs/{run_id}/steps", headers=auth)
    raise AssertionError(f"run {run_id} did not finish: {run} {steps.status_code} {steps.text[:3000]}")


def _production_flow(client, acme, graph) -> dict:
    auth = {"authorization": f"Bearer {acme.token}"}
    flows = f"/api/workspaces/{acme.ws}/flows"
    created = client.post(flows, json={"title": f"expressions {uuid.uuid4().hex[:6]}", "graph": graph}, headers=auth)
    assert created.status_code == 201, created.text
    flow = created.json()
    assert client.post(f"{flows}/{flow['id']}/publish", json={}, headers=auth).status_code == 201
    patched = client.patch(f"{flows}/{flow['id']}", json={"status": "production", "enabled": True}, headers=auth)
    assert patched.status_code == 200, patched.text
    return flow


def _deliver(client, acme, flow, body: dict) -> str:
    trigger = acme.make_trigger(flow["id"], name=f"hook_{uuid.uuid4().hex[:6]}")
    url = trigger["webhook"]["url"]
    raw = json.dumps(body).encode()
    headers = sign_standard_webhooks(raw, trigger["webhook"]["new_secret"], msg_id=f"msg_{uuid.uuid4().hex}",
                                     timestamp=int(time.time()))
    reply = client.post(url[url.index("/webhooks/"):], content=raw,
                        headers={"content-type": "application/json", **headers})
    assert reply.status_code == 202, reply.text
    return reply.json()["run_id"]


def test_webhook_jsonata_and_code_step_give_the_expected_output(api, tokens, seeded, runtime):
    acme = tenant(api, tokens, "acme")
    with httpx.Client(base_url=runtime.gateway.url, timeout=15) as client:
        # GIVEN the flow, saved and published over HTTP
        flow = _production_flow(client, acme, flow_graph())
        # WHEN a signed webhook delivers {"items": [1, 2, 3], "name": "x"}
        run_id = _deliver(client, acme, flow, {"items": [1, 2, 3], "name": "x"})
        # THEN the run succeeds with exactly the expected output
        run = _finished(client, acme, run_id)
        assert run["status"] == "success", run
        assert run["output"] == EXPECTED
        assert json.dumps(run["output"], sort_keys=True) == json.dumps(EXPECTED, sort_keys=True)  # 6, not 6.0


def test_a_bad_jsonata_expression_is_refused_at_save_naming_the_node(api, tokens, seeded, runtime):
    acme = tenant(api, tokens, "acme")
    graph = flow_graph()
    graph["nodes"][2]["config"]["output"]["sum"] = {"$jsonata": "$sum(items"}
    with httpx.Client(base_url=runtime.gateway.url, timeout=15) as client:
        reply = client.post(f"/api/workspaces/{acme.ws}/flows", json={"title": "bad", "graph": graph},
                            headers={"authorization": f"Bearer {acme.token}"})
    assert reply.status_code == 422, reply.text
    details = reply.json()["error"]["details"]
    assert [d["path"] for d in details] == ["/graph/nodes/2/config/output/sum/$jsonata"]
    assert details[0]["issue"].startswith("node 'sum_items': JSONata syntax error")


def test_a_looping_code_step_fails_its_run_while_other_runs_complete(api, tokens, seeded, runtime):
    acme = tenant(api, tokens, "acme")
    with httpx.Client(base_url=runtime.gateway.url, timeout=15) as client:
        stuck_flow = _production_flow(client, acme, flow_graph("export default () => { while (true) {} }"))
        good_flow = _production_flow(client, acme, flow_graph())
        # GIVEN a run whose code step loops forever
        stuck = _deliver(client, acme, stuck_flow, {"items": [1], "name": "loop"})
        # WHEN other runs arrive meanwhile
        good = [_deliver(client, acme, good_flow, {"items": [1, 2, 3], "name": "x"}) for _ in range(3)]
        # THEN they complete, and the looping one fails cleanly with a timeout that is not retried
        assert all(_finished(client, acme, run_id)["output"] == EXPECTED for run_id in good)
        failed = _finished(client, acme, stuck)
        assert failed["status"] == "failed"
        auth = {"authorization": f"Bearer {acme.token}"}
        steps = client.get(f"/api/workspaces/{acme.ws}/runs/{stuck}/steps", headers=auth)
        body = json.dumps(steps.json()) if steps.status_code == 200 else json.dumps(failed)
        assert "code_timeout" in body
