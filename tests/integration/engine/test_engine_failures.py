"""Retries, quarantine and redrive, cancel, step timeout, run deadline, lost workers, lost doorbells, reruns."""

from __future__ import annotations

import time

from sqlalchemy import text

from chalicelib.db.uow import tenant_uow
from chalicelib.engine.retry import RetryPolicy
from chalicelib.services.workflows import rungraph, runner
from chalicelib.services.workflows.sweeper import sweep
from tests.integration.engine.engine_harness import (
    edge,
    events,
    node,
    queued_steps,
    run_status,
    steps_by_node,
    wait_for,
)


def _call_graph(url: str, **call_config) -> dict:
    return {"nodes": [node("start", "start"), node("call", "http_request", method="POST", url=url, **call_config),
                      node("after", "transform", output={"done": True}), node("end", "end")],
            "edges": [edge("start", "call"), edge("call", "after"), edge("after", "end")]}


def _runs(acme, path=""):
    return f"/api/workspaces/{acme['ws']}/runs{path}"


def test_retries_back_off_within_bounds_then_succeed(acme, make_flow, start, drive_run, loopback, memory_queue):
    # GIVEN an endpoint failing 3 times with 503, and a node allowing 4 attempts
    policy = {"max_attempts": 4, "base_delay": 0.05, "multiplier": 2, "max_delay": 0.15}
    flow = make_flow(_call_graph(loopback.url + "/flaky/retry-a/3", retry=policy))
    loopback.reset()
    run = start(flow["id"])
    # WHEN it runs
    assert drive_run(run["id"]) == "success"
    # THEN attempts 1-3 failed (retryable) and attempt 4 succeeded, each with its own idempotency key
    attempts = steps_by_node(acme["tenant_id"], run["id"])["call"]
    assert [a["status"] for a in attempts] == ["failed", "failed", "failed", "success"]
    assert [a["error"]["code"] for a in attempts[:3]] == ["http_server_error"] * 3
    keys = [c["key"] for c in loopback.calls if c["path"] == "/flaky/retry-a/3"]
    assert keys == [f"{run['id']}:call:{n}" for n in (1, 2, 3, 4)]
    # AND every wait was full-jitter backoff within the growing cap
    caps = [RetryPolicy(**policy).cap(n) for n in (1, 2, 3)]
    assert caps == [0.05, 0.1, 0.15]
    retrying = [e for e in events(acme["tenant_id"], run["id"]) if e["type"] == "step.retrying"]
    assert [e["data"]["next_attempt"] for e in retrying] == [2, 3, 4]
    for event, cap in zip(retrying, caps, strict=True):
        assert 0 <= event["data"]["delay_seconds"] <= cap
    for following, cap in zip(attempts[1:], caps, strict=True):
        if following["not_before"] is not None:
            waited = (following["not_before"] - following["created_at"]).total_seconds()
            assert 0 <= waited <= cap + 0.001
    # AND each retry's doorbell asked the queue for at least its delay (whole seconds)
    retry_bells = [delay for body, delay in memory_queue.sent if body["step_id"] in {a["id"] for a in attempts[1:]}]
    assert len(retry_bells) == 3 and all(d in (0, 1) for d in retry_bells)


def test_a_non_retryable_error_fails_at_once(acme, make_flow, start, drive_run, loopback):
    flow = make_flow(_call_graph(loopback.url + "/status/422", retry={"max_attempts": 5}))
    run = start(flow["id"])
    assert drive_run(run["id"]) == "failed"
    steps = steps_by_node(acme["tenant_id"], run["id"])
    assert [a["status"] for a in steps["call"]] == ["failed"]
    assert steps["call"][0]["error"]["code"] == "http_client_error"
    assert steps["call"][0]["error"]["retryable"] is False
    assert "after" not in steps  # a failure delivers nothing
    detail = acme["api"].get(_runs(acme, f"/{run['id']}"), token=acme["token"]).body
    assert detail["status"] == "failed" and detail["error"]["node_id"] == "call"
    quarantined = acme["api"].get(f"/api/workspaces/{acme['ws']}/quarantine?run_id={run['id']}",
                                  token=acme["token"]).body["items"]
    assert quarantined == []  # not retryable: nothing another attempt could fix


def test_exhausted_step_is_quarantined_redriven_and_the_run_completes(acme, make_flow, start, drive_run, loopback):
    # GIVEN an endpoint failing twice and a node allowing two attempts
    flow = make_flow(_call_graph(loopback.url + "/flaky/quarantine-a/2", retry={"max_attempts": 2,
                                                                                "base_delay": 0.01}))
    loopback.reset()
    run = start(flow["id"])
    assert drive_run(run["id"]) == "failed"
    api, token = acme["api"], acme["token"]
    # THEN the exhausted attempt is quarantined and listed
    listed = api.get(f"/api/workspaces/{acme['ws']}/quarantine?run_id={run['id']}", token=acme["viewer"]).body
    assert len(listed["items"]) == 1
    item = listed["items"][0]
    assert item["node_id"] == "call" and item["attempt"] == 2 and item["status"] == "quarantined"
    assert item["error"]["code"] == "http_server_error"
    # a viewer may not redrive
    assert api.post(f"/api/workspaces/{acme['ws']}/quarantine/{item['id']}/redrive", {},
                    token=acme["viewer"]).status == 403
    # WHEN a builder redrives it
    redriven = api.post(f"/api/workspaces/{acme['ws']}/quarantine/{item['id']}/redrive", {}, token=token)
    assert redriven.status == 200 and redriven.body["status"] == "redriven"
    assert api.get(_runs(acme, f"/{run['id']}"), token=token).body["status"] == "running"
    # THEN the third attempt succeeds and the run completes
    assert drive_run(run["id"]) == "success"
    attempts = steps_by_node(acme["tenant_id"], run["id"])["call"]
    assert [a["status"] for a in attempts] == ["failed", "failed", "success"]
    assert api.post(f"/api/workspaces/{acme['ws']}/quarantine/{item['id']}/redrive", {},
                    token=token).status == 409
    assert api.get(_runs(acme, f"/{run['id']}"), token=token).body["error"] is None


def test_cancel_stops_further_steps(acme, make_flow, start, drive_run):
    graph = {"nodes": [node("start", "start"), node("wait", "delay", seconds=30), node("end", "end")],
             "edges": [edge("start", "wait"), edge("wait", "end")]}
    run = start(make_flow(graph)["id"])
    tenant = acme["tenant_id"]
    # run start and the delay; "end" waits 30 s
    for _ in range(2):
        for step_id, wait in queued_steps(tenant, run["id"]):
            if wait <= 0:
                runner.process_step(tenant, step_id)
    waiting = queued_steps(tenant, run["id"])
    assert len(waiting) == 1 and waiting[0][1] > 25
    # WHEN the run is canceled
    reply = acme["api"].post(_runs(acme, f"/{run['id']}/cancel"), {}, token=acme["token"])
    assert reply.status == 200 and reply.body["status"] == "canceled"
    # THEN the queued step is canceled and a late doorbell does nothing
    assert runner.process_step(tenant, waiting[0][0]) == "duplicate"
    steps = steps_by_node(tenant, run["id"])
    assert steps["end"][0]["status"] == "canceled"
    assert acme["api"].post(_runs(acme, f"/{run['id']}/cancel"), {}, token=acme["token"]).status == 409
    assert events(tenant, run["id"])[-1]["data"] == {"status": "canceled"}


def test_a_running_step_may_finish_after_cancel_but_enqueues_nothing(acme, make_flow, start):
    graph = {"nodes": [node("start", "start"), node("a", "transform", output={"x": 1}), node("end", "end")],
             "edges": [edge("start", "a"), edge("a", "end")]}
    run = start(make_flow(graph)["id"])
    tenant = acme["tenant_id"]
    [(start_step, _)] = queued_steps(tenant, run["id"])
    # GIVEN "start" claimed by a worker
    claimed = runner.claim(tenant, start_step)
    assert claimed is not None
    # WHEN the run is canceled before the worker completes
    assert acme["api"].post(_runs(acme, f"/{run['id']}/cancel"), {}, token=acme["token"]).status == 200
    context = rungraph.load(tenant, run["id"])
    txn = runner.complete(context, runner.execute(claimed, context))
    # THEN the step's success is recorded and nothing follows it
    assert txn is not None and txn.doorbells == [] and txn.inline is None
    steps = steps_by_node(tenant, run["id"])
    assert steps["start"][0]["status"] == "success" and set(steps) == {"start"}
    assert run_status(tenant, run["id"]) == "canceled"


def test_step_timeout_fails_the_attempt(acme, make_flow, start, drive_run, loopback):
    flow = make_flow(_call_graph(loopback.url + "/sleep/1500", timeout_seconds=0.3,
                                 retry={"max_attempts": 1}))
    began = time.monotonic()
    run = start(flow["id"])
    assert drive_run(run["id"]) == "failed"
    assert time.monotonic() - began < 1.4
    call = steps_by_node(acme["tenant_id"], run["id"])["call"]
    assert len(call) == 1 and call[0]["error"]["code"] == "step_timeout"


def test_run_deadline_fails_the_run_and_cancels_what_waits(acme, make_flow, start):
    graph = {"nodes": [node("start", "start"), node("wait", "delay", seconds=5), node("end", "end")],
             "edges": [edge("start", "wait"), edge("wait", "end")]}
    flow = make_flow(graph, run_timeout_seconds=1.0)
    run = start(flow["id"])
    tenant = acme["tenant_id"]
    for _ in range(2):
        for step_id, wait in queued_steps(tenant, run["id"]):
            if wait <= 0:
                runner.process_step(tenant, step_id)
    assert run_status(tenant, run["id"]) == "running"
    time.sleep(1.1)
    # WHEN the sweeper runs after the deadline
    report = sweep()
    # THEN the run failed with the deadline's code and the waiting step was canceled
    assert report["expired_runs"] >= 1
    detail = acme["api"].get(_runs(acme, f"/{run['id']}"), token=acme["token"]).body
    assert detail["status"] == "failed" and detail["error"]["code"] == "run_deadline_exceeded"
    assert steps_by_node(tenant, run["id"])["end"][0]["status"] == "canceled"


def test_a_lost_worker_is_replaced_and_its_late_result_discarded(acme, make_flow, start, drive_run, memory_queue):
    graph = {"nodes": [node("start", "start"), node("a", "transform", output={"x": 1}, timeout_seconds=0.2),
                       node("end", "end")],
             "edges": [edge("start", "a"), edge("a", "end")]}
    run = start(make_flow(graph)["id"])
    tenant = acme["tenant_id"]
    runner.process_step(tenant, queued_steps(tenant, run["id"])[0][0], inline_steps=0)
    [(step_a, _)] = queued_steps(tenant, run["id"])
    # GIVEN a worker that claimed "a" and vanished (lease = 0.2 s timeout + 0.5 s grace)
    lost = runner.claim(tenant, step_a)
    assert lost is not None
    time.sleep(0.8)
    # WHEN the sweeper runs
    memory_queue.sent.clear()
    assert sweep()["requeued"] >= 1
    # THEN the same attempt is queued again, with a fresh doorbell
    assert [b["step_id"] for b, _ in memory_queue.sent].count(step_a) == 1
    assert drive_run(run["id"]) == "success"
    # AND the vanished worker's late result changes nothing
    context = rungraph.load(tenant, run["id"])
    assert runner.complete(context, runner.execute(lost, context)) is None
    steps = steps_by_node(tenant, run["id"])
    assert [(s["attempt"], s["status"], s["reclaims"]) for s in steps["a"]] == [(1, "success", 1)]
    assert len(steps["end"]) == 1
    assert any(e["type"] == "step.requeued" for e in events(tenant, run["id"]))


def test_a_step_that_keeps_losing_its_worker_times_out(acme, make_flow, start, drive_run, fast_engine):
    from chalicelib.services.workflows import settings

    settings.configure(max_reclaims=0)
    graph = {"nodes": [node("start", "start"),
                       node("a", "transform", output={"x": 1}, timeout_seconds=0.2, retry={"max_attempts": 2}),
                       node("end", "end")],
             "edges": [edge("start", "a"), edge("a", "end")]}
    run = start(make_flow(graph)["id"])
    tenant = acme["tenant_id"]
    runner.process_step(tenant, queued_steps(tenant, run["id"])[0][0], inline_steps=0)
    assert runner.claim(tenant, queued_steps(tenant, run["id"])[0][0]) is not None
    time.sleep(0.8)
    assert sweep()["timed_out"] >= 1
    assert drive_run(run["id"]) == "success"
    attempts = steps_by_node(tenant, run["id"])["a"]
    assert [(a["status"], (a["error"] or {}).get("code")) for a in attempts] == [
        ("failed", "step_lease_expired"), ("success", None)]


def test_a_lost_doorbell_is_sent_again_by_the_sweeper(acme, make_flow, start, memory_queue):
    graph = {"nodes": [node("start", "start"), node("end", "end")], "edges": [edge("start", "end")]}
    memory_queue.sent.clear()
    run = start(make_flow(graph)["id"])
    [(start_step, _)] = queued_steps(acme["tenant_id"], run["id"])
    assert [b["step_id"] for b, _ in memory_queue.sent] == [start_step]
    # GIVEN the doorbell was lost (nobody processes it) and the redispatch window (1 s) passes
    memory_queue.sent.clear()

    def rung() -> list:
        return [b for b, _ in memory_queue.sent if b["step_id"] == start_step]

    sweep()
    assert rung() == []  # not stale yet
    time.sleep(1.1)
    # WHEN the sweeper runs, THEN it rings again, once
    assert sweep()["redispatched"] >= 1
    assert rung() == [{"kind": "step", "tenant_id": acme["tenant_id"], "run_id": run["id"], "step_id": start_step}]
    sweep()
    assert len(rung()) == 1


def test_rerun_from_the_failed_step_keeps_what_succeeded(acme, make_flow, start, drive_run, loopback):
    graph = {"nodes": [node("start", "start"), node("first", "http_request", method="POST",
                                                    url=loopback.url + "/echo"),
                       node("second", "http_request", method="POST", url=loopback.url + "/flaky/rerun-b/1",
                            retry={"max_attempts": 1}),
                       node("end", "end")],
             "edges": [edge("start", "first"), edge("first", "second"), edge("second", "end")]}
    loopback.reset()
    flow = make_flow(graph)
    run = start(flow["id"], input={"order": 9})
    assert drive_run(run["id"]) == "failed"
    api, token = acme["api"], acme["token"]
    # WHEN it is rerun from the failed step
    resumed = api.post(_runs(acme, f"/{run['id']}/rerun"), {"from": "failed"}, token=token)
    assert resumed.status == 202, resumed.body
    assert resumed.body["rerun_of"] == run["id"] and resumed.body["input"] == {"order": 9}
    assert drive_run(resumed.body["id"]) == "success"
    # THEN "first" was not called again; "second" was
    paths = [c["path"] for c in loopback.calls]
    assert paths.count("/echo") == 1 and paths.count("/flaky/rerun-b/1") == 2
    steps = steps_by_node(acme["tenant_id"], resumed.body["id"])
    assert [s["status"] for s in steps["first"]] == ["success"]
    assert [s["status"] for s in steps["second"]] == ["success"]
    # AND a rerun from the start runs everything again on the same graph
    again = api.post(_runs(acme, f"/{run['id']}/rerun"), {}, token=token).body
    assert drive_run(again["id"]) == "success"
    assert [c["path"] for c in loopback.calls].count("/echo") == 2
    # AND resuming needs the same version
    refused = api.post(_runs(acme, f"/{run['id']}/rerun"), {"from": "failed", "version": "latest"}, token=token)
    assert refused.status == 422
    assert api.post(_runs(acme, f"/{again['id']}/rerun"), {"from": "failed"}, token=token).status == 409


def test_rerun_on_the_latest_version(acme, make_flow, start, drive_run):
    api, token = acme["api"], acme["token"]
    graph = {"nodes": [node("start", "start"), node("t", "transform", output={"v": 1}), node("end", "end")],
             "edges": [edge("start", "t"), edge("t", "end")]}
    flow = make_flow(graph, status="production", enabled=True)
    base = f"/api/workspaces/{acme['ws']}/flows/{flow['id']}"
    api.post(base + "/publish", {}, token=token)
    run = api.post(base + "/runs", {"mode": "production", "input": {"k": 1}}, token=token).body
    assert drive_run(run["id"]) == "success"
    graph["nodes"][1]["config"]["output"] = {"v": 2}
    api.put(base + "/graph", graph, token=token)
    api.post(base + "/publish", {}, token=token)
    latest = api.post(_runs(acme, f"/{run['id']}/rerun"), {"version": "latest"}, token=token).body
    same = api.post(_runs(acme, f"/{run['id']}/rerun"), {"version": "same"}, token=token).body
    assert (latest["version_number"], same["version_number"]) == (2, 1)
    for new in (latest, same):
        assert drive_run(new["id"]) == "success"
    outputs = [steps_by_node(acme["tenant_id"], r["id"])["t"][0]["output"] for r in (latest, same)]
    assert outputs == [{"v": 2}, {"v": 1}]


def test_early_doorbells_ring_again_when_due(acme, make_flow, start, memory_queue):
    graph = {"nodes": [node("start", "start"), node("wait", "delay", seconds=2), node("end", "end")],
             "edges": [edge("start", "wait"), edge("wait", "end")]}
    run = start(make_flow(graph)["id"])
    tenant = acme["tenant_id"]
    runner.process_step(tenant, queued_steps(tenant, run["id"])[0][0])
    [(end_step, wait)] = queued_steps(tenant, run["id"])
    assert 1.5 < wait <= 2
    delays = [d for b, d in memory_queue.sent if b["step_id"] == end_step]
    assert delays == [2]  # DelaySeconds rounded up, never early
    memory_queue.sent.clear()
    # a doorbell that arrives early claims nothing and rings again for the rest of the wait
    assert runner.process_step(tenant, end_step) == "not_due"
    assert [(b["step_id"], d) for b, d in memory_queue.sent] in ([(end_step, 2)], [(end_step, 1)])
    assert wait_for(lambda: runner.process_step(tenant, end_step) == "done", timeout=4, interval=0.1)
    with tenant_uow(tenant) as uow:
        assert uow.execute(text("SELECT status FROM runs WHERE id = CAST(:r AS uuid)"),
                           {"r": run["id"]}).scalar() == "success"


def _branching_graph(url: str) -> dict:
    """start → first (a call) → check (did it answer 200?) → big | small → join (wait_all) → end."""
    return {"nodes": [node("start", "start"), node("first", "http_request", method="POST", url=url + "/echo"),
                      node("check", "condition", all=[{"left": "{{ status }}", "op": "eq", "right": 200}]),
                      node("big", "transform", output={"size": "big"}, mode="merge"),
                      node("small", "transform", output={"size": "small"}, mode="merge"),
                      node("join", "wait_all"), node("end", "end")],
            "edges": [edge("start", "first"), edge("first", "check"), edge("check", "big", "true"),
                      edge("check", "small", "false"), edge("big", "join"), edge("small", "join"),
                      edge("join", "end")]}


def test_rerun_from_a_node_starts_there_with_its_prior_input(acme, make_flow, start, drive_run, loopback):
    # GIVEN a finished run whose condition took the "big" branch (the "small" one skipped)
    loopback.reset()
    graph = _branching_graph(loopback.url)
    flow = make_flow(graph)
    run = start(flow["id"], input={"total": 250})
    assert drive_run(run["id"]) == "success"
    prior = steps_by_node(acme["tenant_id"], run["id"])
    api, token = acme["api"], acme["token"]
    # WHEN it is re-run from "big"
    again = api.post(_runs(acme, f"/{run['id']}/rerun"), {"from": "node", "node_id": "big"}, token=token)
    assert again.status == 202, again.body
    assert again.body["rerun_of"] == run["id"] and again.body["trigger"] == "rerun"
    assert drive_run(again.body["id"]) == "success"
    # THEN "big" ran again with the input it received before, and what it reaches ran again
    steps = steps_by_node(acme["tenant_id"], again.body["id"])
    assert [s["input"] for s in steps["big"]] == [prior["big"][0]["input"]]
    assert [s["status"] for s in steps["join"]] == ["success"]
    assert [s["status"] for s in steps["end"]] == ["success"]
    # AND what ran before it was carried over, not repeated: one call to the vendor in all
    assert [c["path"] for c in loopback.calls].count("/echo") == 1
    assert [s["status"] for s in steps["first"]] == ["success"]
    assert steps["first"][0]["output"] == prior["first"][0]["output"]
    assert [s["status"] for s in steps["small"]] == ["skipped"]
    # AND the join saw the carried-over skip of "small" and the new arrival of "big"
    arrivals = api.get(_runs(acme, f"/{again.body['id']}/arrivals?node_id=join"), token=token).body["items"]
    assert sorted((a["from_node"], a["kind"]) for a in arrivals) == [("big", "arrived"), ("small", "skipped")]
    ended = api.get(_runs(acme, f"/{again.body['id']}"), token=token).body
    assert ended["output"] == api.get(_runs(acme, f"/{run['id']}"), token=token).body["output"]


def test_rerun_from_a_node_on_the_latest_draft_runs_its_new_config(acme, make_flow, start, drive_run, loopback):
    # GIVEN a test run, then the node's config changed in the draft
    loopback.reset()
    graph = _branching_graph(loopback.url)
    flow = make_flow(graph)
    run = start(flow["id"], input={"total": 250})
    assert drive_run(run["id"]) == "success"
    [prior] = steps_by_node(acme["tenant_id"], run["id"])["big"]
    api, token = acme["api"], acme["token"]
    graph["nodes"][3]["config"]["output"] = {"size": "huge"}
    assert api.put(f"/api/workspaces/{acme['ws']}/flows/{flow['id']}/graph", graph, token=token).status == 200
    # WHEN it is re-run from that node on the latest graph (for a test run: the draft)
    again = api.post(_runs(acme, f"/{run['id']}/rerun"), {"from": "node", "node_id": "big", "version": "latest"},
                     token=token).body
    assert drive_run(again["id"]) == "success"
    # THEN the node ran its new config on its prior input; the call before it was not repeated
    [big] = steps_by_node(acme["tenant_id"], again["id"])["big"]
    assert big["output"]["size"] == "huge" and big["input"] == prior["input"]
    assert [c["path"] for c in loopback.calls].count("/echo") == 1


def test_rerun_from_a_node_is_refused_for_an_unknown_or_unrun_node_or_a_running_run(
        acme, make_flow, start, drive_run, loopback, tokens):
    loopback.reset()
    flow = make_flow(_branching_graph(loopback.url))
    run = start(flow["id"], input={"total": 250})
    api, token = acme["api"], acme["token"]
    rerun = _runs(acme, f"/{run['id']}/rerun")
    # a run still running cannot be re-run from a node (its steps are not settled)
    busy = api.post(rerun, {"from": "node", "node_id": "big"}, token=token)
    assert (busy.status, busy.error_code) == (409, "run_state_conflict")
    assert drive_run(run["id"]) == "success"
    # a node the graph does not have, and a node that did not run (the branch not taken)
    unknown = api.post(rerun, {"from": "node", "node_id": "nope"}, token=token)
    assert (unknown.status, unknown.error_code) == (422, "rerun_node_unknown")
    assert unknown.body["error"]["details"] == [{"path": "/node_id", "issue": "no such node in the graph"}]
    skipped = api.post(rerun, {"from": "node", "node_id": "small"}, token=token)
    assert (skipped.status, skipped.error_code) == (422, "rerun_node_not_run")
    # node_id goes with from=node, and only with it
    for body in ({"from": "node"}, {"from": "start", "node_id": "big"}, {"from": "node", "node_id": ""}):
        reply = api.post(rerun, body, token=token)
        assert (reply.status, reply.error_code) == (422, "validation_failed"), body
    # a viewer may not, another tenant gets 404, and nothing was started by any of these
    assert api.post(rerun, {"from": "node", "node_id": "big"}, token=acme["viewer"]).status == 403
    beta_ws = tokens.ids("beta")["workspaces"]["Operations"]
    foreign = api.post(f"/api/workspaces/{beta_ws}/runs/{run['id']}/rerun", {"from": "node", "node_id": "big"},
                       token=tokens[("beta", "owner")])
    assert (foreign.status, foreign.error_code) == (404, "not_found")
    listed = api.get(_runs(acme, f"?flow_id={flow['id']}"), token=token).body["items"]
    assert [r["id"] for r in listed] == [run["id"]]


def test_rerun_from_a_node_in_a_for_each_body_runs_every_item_again(acme, make_flow, start, drive_run):
    # GIVEN a finished for-each over three items
    graph = {"nodes": [node("start", "start"), node("each", "for_each", items="{{ list }}"),
                       node("double", "transform", output={"twice": "{{ item }}"}), node("join", "wait_all"),
                       node("end", "end")],
             "edges": [edge("start", "each"), edge("each", "double", "item"), edge("double", "join"),
                       edge("join", "end")]}
    run = start(make_flow(graph)["id"], input={"list": [1, 2, 3]})
    assert drive_run(run["id"]) == "success"
    # WHEN it is re-run from the body's node
    again = acme["api"].post(_runs(acme, f"/{run['id']}/rerun"), {"from": "node", "node_id": "double"},
                             token=acme["token"]).body
    # THEN each item's instance ran again with its own input, and the fan-in (carried over) joined all three
    assert drive_run(again["id"]) == "success"
    steps = steps_by_node(acme["tenant_id"], again["id"])
    prior = steps_by_node(acme["tenant_id"], run["id"])
    assert [(s["instance_key"], s["input"]) for s in steps["double"]] == \
        [(s["instance_key"], s["input"]) for s in prior["double"]]
    assert len(steps["double"]) == 3 and [s["status"] for s in steps["each"]] == ["success"]
    assert [s["status"] for s in steps["join"]] == ["success"] and [s["status"] for s in steps["end"]] == ["success"]
