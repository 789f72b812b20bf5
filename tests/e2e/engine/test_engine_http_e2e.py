"""Over HTTP on the local stack: a workflow with a condition, a skipped branch, a wait_all and a merge_race
runs in test mode through the real queue and step function; its events stream in order and resume."""

from __future__ import annotations

import re
import time

from tests.integration.engine.engine_harness import edge, node

EVENT = re.compile(r"id: (\d+)\nevent: ([\w.]+)\ndata: (.*)\n")


def _graph(base_url: str) -> dict:
    """The HTTP branch waits a second first, so the wait_all branch wins the race deterministically."""
    return {
        "nodes": [
            node("start", "start"),
            node("check", "condition", all=[{"left": "{{ amount }}", "op": "gt", "right": 100}]),
            node("big", "transform", output={"size": "big", "amount": "{{ amount }}"}),
            node("small", "transform", output={"size": "small"}),
            node("join", "wait_all"),
            node("pause", "delay", seconds=1),
            node("late", "http_request", method="POST", url=base_url + "/echo", json={"order": "{{ order }}"}),
            node("race", "merge_race"),
            node("done", "end"),
        ],
        "edges": [
            edge("start", "check"), edge("check", "big", "true"), edge("check", "small", "false"),
            edge("big", "join"), edge("small", "join"), edge("join", "race"),
            edge("start", "pause"), edge("pause", "late"), edge("late", "race"), edge("race", "done"),
        ],
    }


def _stream(http, path, token, last=None, wait=5):
    headers = {"Authorization": f"Bearer {token}"}
    if last is not None:
        headers["Last-Event-ID"] = str(last)
    reply = http.get(path, params={"wait": wait}, headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.text.startswith("retry: ")
    return [(int(i), kind, data) for i, kind, data in EVENT.findall(reply.text)]


def _follow(http, path, token, *, timeout=30.0):
    """Reconnect with Last-Event-ID until the run finishes; returns every event received."""
    received, last = [], None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = _stream(http, path, token, last)
        received += batch
        if batch:
            last = batch[-1][0]
        if any(kind == "run.finished" for _, kind, _ in batch):
            return received
    raise AssertionError(f"the run did not finish; got {[k for _, k, _ in received]}")


def test_branching_workflow_runs_over_http_and_streams_its_events(http, tokens, e2e_loopback):
    token = tokens[("acme", "builder")]
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    auth = {"Authorization": f"Bearer {token}"}
    # GIVEN the workflow, created over HTTP
    created = http.post(f"/api/workspaces/{ws}/flows", headers=auth,
                        json={"title": "e2e branching", "graph": _graph(e2e_loopback.url)})
    assert created.status_code == 201, created.text
    flow = created.json()
    # WHEN a test run starts
    started = http.post(f"/api/workspaces/{ws}/flows/{flow['id']}/runs", headers=auth,
                        json={"mode": "test", "input": {"amount": 250, "order": "E-1"}})
    assert started.status_code == 202, started.text
    run = started.json()
    stream = f"/api/workspaces/{ws}/runs/{run['id']}/stream"
    # THEN its events arrive in order, resumed across reconnects without gap or duplicate
    received = _follow(http, stream, token)
    ids = [i for i, _, _ in received]
    assert ids == list(range(1, len(ids) + 1))
    kinds = [k for _, k, _ in received]
    assert kinds[0] == "run.started" and kinds[-1] == "run.finished"
    assert '"status":"success"' in received[-1][2]
    assert kinds.count("step.succeeded") == 8 and kinds.count("step.skipped") == 1
    assert "arrival.dropped" in kinds
    # AND every step ended as specified, with exactly the specified payloads
    detail = http.get(f"/api/workspaces/{ws}/runs/{run['id']}", headers=auth).json()
    assert detail["status"] == "success" and detail["mode"] == "test"
    assert detail["graph"] == flow["graph"]
    steps = {s["node_id"]: s for s in detail["steps"]}
    assert len(detail["steps"]) == len(steps) == 9  # one attempt each
    assert {n: s["status"] for n, s in steps.items()} == {
        "start": "success", "check": "success", "big": "success", "small": "skipped", "join": "success",
        "pause": "success", "late": "success", "race": "success", "done": "success"}
    assert steps["start"]["output"] == {"amount": 250, "order": "E-1"}
    assert steps["big"]["output"] == {"size": "big", "amount": 250}
    winner = {"branches": {"big": {"size": "big", "amount": 250}}, "skipped": ["small"]}
    assert steps["join"]["input"] == winner and steps["join"]["output"] == winner
    assert steps["race"]["input"] == winner and steps["done"]["output"] == winner
    assert steps["late"]["output"]["body"]["json"] == {"order": "E-1"}
    assert detail["output"] == winner
    # AND a reconnect from the middle resumes exactly after the given id
    middle = ids[len(ids) // 2]
    resumed = _stream(http, stream, token, last=middle, wait=0)
    assert [i for i, _, _ in resumed] == ids[middle:]
    by_query = http.get(stream, params={"last_event_id": middle, "wait": 0}, headers=auth)
    assert [int(i) for i, _, _ in EVENT.findall(by_query.text)] == ids[middle:]
    # AND after the last event a reconnect answers at once with nothing new
    began = time.monotonic()
    assert _stream(http, stream, token, last=ids[-1], wait=5) == []
    assert time.monotonic() - began < 2
    # AND another tenant cannot see it
    beta = {"Authorization": f"Bearer {tokens[('beta', 'owner')]}"}
    assert http.get(f"/api/workspaces/{ws}/runs/{run['id']}/stream", headers=beta).status_code == 404


def test_runs_list_filters_by_flow_status_and_time(http, tokens):
    token = tokens[("acme", "builder")]
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    auth = {"Authorization": f"Bearer {token}"}
    graph = {"nodes": [node("start", "start"), node("end", "end")], "edges": [edge("start", "end")]}
    flow = http.post(f"/api/workspaces/{ws}/flows", headers=auth, json={"title": "listed", "graph": graph}).json()
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
    run = http.post(f"/api/workspaces/{ws}/flows/{flow['id']}/runs", headers=auth, json={}).json()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        listed = http.get(f"/api/workspaces/{ws}/runs", headers=auth,
                          params={"flow_id": flow["id"], "status": "success", "created_after": before}).json()
        if listed["items"]:
            break
        time.sleep(0.1)
    assert [r["id"] for r in listed["items"]] == [run["id"]]
    none = http.get(f"/api/workspaces/{ws}/runs", headers=auth, params={"flow_id": flow["id"],
                                                                       "status": "failed"}).json()
    assert none["items"] == []
    later = http.get(f"/api/workspaces/{ws}/runs", headers=auth,
                     params={"flow_id": flow["id"], "created_before": before}).json()
    assert later["items"] == []
    logs = http.get(f"/api/workspaces/{ws}/runs/{run['id']}/logs", headers=auth)
    steps = http.get(f"/api/workspaces/{ws}/runs/{run['id']}/steps", headers=auth)
    assert logs.status_code == 200 and steps.status_code == 200
    assert [s["node_id"] for s in steps.json()["items"]] == ["start", "end"]
