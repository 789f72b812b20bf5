"""The runner against PostgreSQL, steps driven in process: payloads, joins, for_each, env, secrets, metrics."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text

from chalicelib import bootstrap
from chalicelib.db.uow import tenant_uow
from chalicelib.services.workflows import metrics, ports
from tests.integration.engine.engine_harness import (
    branching_graph,
    chain_graph,
    edge,
    events,
    node,
    steps_by_node,
)


def _only(steps, node_id):
    attempts = steps[node_id]
    assert len(attempts) == 1, attempts
    return attempts[0]


def test_condition_skip_wait_all_and_merge_race_payloads(acme, make_flow, start, drive_run, loopback):
    # GIVEN the branching workflow: amount 150 takes the "true" branch
    flow = make_flow(branching_graph(loopback.url))
    run = start(flow["id"], input={"amount": 150, "order": "A-1"})
    # WHEN it runs
    assert drive_run(run["id"]) == "success"
    steps = steps_by_node(acme["tenant_id"], run["id"])
    # THEN the condition chose "true", "small" was skipped and the skip reached the join
    assert _only(steps, "check")["output"] == {"amount": 150, "order": "A-1"}
    assert _only(steps, "big")["output"] == {"size": "big", "amount": 150}
    assert _only(steps, "small")["status"] == "skipped" and _only(steps, "small")["input"] is None
    assert _only(steps, "join")["input"] == {"branches": {"big": {"size": "big", "amount": 150}},
                                             "skipped": ["small"]}
    # AND the HTTP branch saw the rendered body, with its idempotency key
    fast = _only(steps, "fast")
    assert fast["output"]["status"] == 200
    assert fast["output"]["body"]["json"] == {"order": "A-1"}
    assert fast["output"]["body"]["key"] == f"{run['id']}:fast:1"
    # AND the race ran once, with the first arrival's payload; the later one was dropped and recorded
    race = _only(steps, "race")
    assert race["input"] in (_only(steps, "join")["output"], fast["output"])
    with tenant_uow(acme["tenant_id"]) as uow:
        arrivals = uow.execute(text("SELECT from_node, kind, dropped FROM join_arrivals WHERE run_id = "
                                    "CAST(:r AS uuid) AND to_node = 'race' ORDER BY seq"), {"r": run["id"]}).all()
    assert [a[2] for a in arrivals] == [False, True] and {a[0] for a in arrivals} == {"join", "fast"}
    # AND the API answers them: the wait_all's provenance, the race's winner and the dropped arrival
    base = f"/api/workspaces/{acme['ws']}/runs/{run['id']}/arrivals"
    at_race = acme["api"].get(f"{base}?node_id=race", token=acme["viewer"]).body["items"]
    assert [(a["from_node"], a["kind"], a["dropped"]) for a in at_race] == [(a[0], a[1], a[2]) for a in arrivals]
    at_join = acme["api"].get(f"{base}?node_id=join", token=acme["viewer"]).body["items"]
    assert {(a["from_node"], a["kind"]) for a in at_join} == {("big", "arrived"), ("small", "skipped")}
    assert len(acme["api"].get(base, token=acme["viewer"]).body["items"]) == len(at_race) + len(at_join)
    assert "payload" not in at_race[0]
    assert _only(steps, "done")["output"] == race["output"]
    # AND events are numbered 1..n without gaps, starting and ending the run
    seen = events(acme["tenant_id"], run["id"])
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    assert seen[0]["type"] == "run.started" and seen[-1]["type"] == "run.finished"
    assert any(e["type"] == "arrival.dropped" for e in seen)
    assert acme["api"].get(f"/api/workspaces/{acme['ws']}/runs/{run['id']}", token=acme["token"]).body[
        "output"] == race["output"]


def test_false_branch_and_everything_skipped_into_a_join(acme, make_flow, start, drive_run, loopback):
    flow = make_flow(branching_graph(loopback.url))
    run = start(flow["id"], input={"amount": 5, "order": "B-2"})
    assert drive_run(run["id"]) == "success"
    steps = steps_by_node(acme["tenant_id"], run["id"])
    assert _only(steps, "big")["status"] == "skipped"
    assert _only(steps, "join")["input"] == {"branches": {"small": {"size": "small"}}, "skipped": ["big"]}


def test_a_condition_taking_an_unwired_port_while_the_other_branch_is_skipped_ends_the_run(
        acme, make_flow, start, drive_run):
    # GIVEN a condition whose "true" port leads nowhere; only "false" is wired
    flow = make_flow({
        "nodes": [node("start", "start"),
                  node("check", "condition", all=[{"left": "{{ amount }}", "op": "gt", "right": 100}]),
                  node("small", "transform", output={"size": "small"}), node("done", "end")],
        "edges": [edge("start", "check"), edge("check", "small", "false"), edge("small", "done")],
    })
    # WHEN the condition takes "true": the wired branch is skipped and nothing else is queued
    run = start(flow["id"], input={"amount": 150})
    # THEN the run ends (a skipped step keeps nothing going) instead of staying running
    assert drive_run(run["id"]) == "success"
    steps = steps_by_node(acme["tenant_id"], run["id"])
    assert _only(steps, "small")["status"] == "skipped"


def test_for_each_fans_out_and_joins_in_item_order(acme, make_flow, start, drive_run):
    graph = {"nodes": [node("start", "start"), node("each", "for_each", items="{{ orders }}"),
                       node("double", "transform", output={"sku": "{{ item.sku }}", "twice": "{{ item.qty }}"}),
                       node("join", "wait_all"), node("end", "end")],
             "edges": [edge("start", "each"), edge("each", "double", "item"), edge("double", "join"),
                       edge("join", "end")]}
    flow = make_flow(graph)
    run = start(flow["id"], input={"orders": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2},
                                              {"sku": "c", "qty": 3}]})
    assert drive_run(run["id"]) == "success"
    steps = steps_by_node(acme["tenant_id"], run["id"])
    assert sorted(s["instance_key"] for s in steps["double"]) == ["0", "1", "2"]
    assert _only(steps, "join")["input"] == {"items": [{"sku": "a", "twice": 1}, {"sku": "b", "twice": 2},
                                                       {"sku": "c", "twice": 3}]}
    # an empty list runs the join at once
    empty = start(flow["id"], input={"orders": []})
    assert drive_run(empty["id"]) == "success"
    assert _only(steps_by_node(acme["tenant_id"], empty["id"]), "join")["input"] == {"items": []}

    # the API answers each attempt's idempotency key: fan-out instances never share one
    base = f"/api/workspaces/{acme['ws']}/runs"
    detail = acme["api"].get(f"{base}/{run['id']}", token=acme["viewer"]).body
    keys = {s["idempotency_key"] for s in detail["steps"] if s["node_id"] == "double"}
    assert keys == {f"{run['id']}:double@{i}:1" for i in range(3)}
    listed = acme["api"].get(f"{base}/{run['id']}/steps?node_id=each", token=acme["viewer"]).body["items"]
    assert [s["idempotency_key"] for s in listed] == [f"{run['id']}:each:1"]
    # runs filtered by what started them
    started_by = {r["id"] for r in acme["api"].get(f"{base}?trigger={run['trigger']}&flow_id={flow['id']}",
                                                   token=acme["viewer"]).body["items"]}
    assert started_by == {run["id"], empty["id"]}
    assert acme["api"].get(f"{base}?trigger=cron&flow_id={flow['id']}", token=acme["viewer"]).body["items"] == []
    assert acme["api"].get(f"{base}?trigger=carrier-pigeon", token=acme["viewer"]).status == 400


def test_env_is_rendered_and_secrets_never_stored(acme, make_flow, start, drive_run, loopback):
    # GIVEN a connector platform that resolves one connection (fakes of the two ports)
    secret = "s3cr3t-token-value-0042"

    class Resolver:
        def resolve(self, request):
            assert request.tenant_id == acme["tenant_id"]
            return ports.ResolvedCredentials({"token": secret, "type": "bearer"}, required=False)

    class Checker:
        def missing(self, tenant_id, workspace_id, templates, connections):
            return set(templates), set()

        def secret_fields(self, tenant_id, workspace_id, connections):
            return dict.fromkeys(connections, frozenset({"token", "type"}))

    with bootstrap.replaced(credential_resolver=Resolver(), reference_checker=Checker()):
        connection = "11111111-2222-4333-8444-555555555555"
        graph = {"nodes": [node("start", "start"),
                           {**node("call", "http_request", method="POST", url=loopback.url + "/echo",
                                   headers={"X-Token": "{{ $secrets.API_TOKEN }}", "X-Region": "{{ $env.REGION }}"},
                                   json={"echo": "{{ $secrets.API_TOKEN }}", "region": "{{ $env.REGION }}"}),
                            "connection_id": connection},
                           node("end", "end")],
                 "edges": [edge("start", "call"), edge("call", "end")]}
        flow = make_flow(graph, env={"REGION": "eu-west"},
                         secrets={"API_TOKEN": {"connection_id": connection, "field": "token"}})
        loopback.reset()
        run = start(flow["id"], input={"n": 1})
        assert drive_run(run["id"]) == "success"
    # THEN the remote got the secret, the bearer credential and the environment value
    sent = [c for c in loopback.calls if c["path"] == "/echo"][-1]
    assert sent["body"] == {"echo": secret, "region": "eu-west"}
    # AND nothing stored for the run holds the secret in clear
    with tenant_uow(acme["tenant_id"]) as uow:
        stored = [uow.execute(text(f"SELECT coalesce(json_agg(t)::text, '') FROM {table} t WHERE run_id = "
                                   "CAST(:r AS uuid)"), {"r": run["id"]}).scalar()
                  for table in ("step_runs", "run_events", "step_logs", "join_arrivals")]
        stored.append(uow.execute(text("SELECT row_to_json(r)::text FROM runs r WHERE id = CAST(:r AS uuid)"),
                                  {"r": run["id"]}).scalar())
    assert all(secret not in blob for blob in stored)
    assert "eu-west" in stored[0]


def test_connections_need_the_connector_platform(acme, make_flow, start, drive_run):
    # GIVEN a container wired without a connector platform (its ports refuse) whose graph check lets
    # the action through
    class Checker:
        def missing(self, tenant_id, workspace_id, templates, connections):
            return set(), set()

    without_connectors = {"credential_resolver": ports.NoCredentialResolver(),
                          "action_invoker": ports.NoActionInvoker(), "reference_checker": Checker()}
    # WHEN an action step runs, THEN it fails at once, without retrying, saying why
    with bootstrap.replaced(**without_connectors):
        graph = {"nodes": [node("start", "start"),
                           {**node("act", "action", input={"x": 1}), "template": "acme.orders.create"},
                           node("end", "end")],
                 "edges": [edge("start", "act"), edge("act", "end")]}
        run = start(make_flow(graph)["id"])
        assert drive_run(run["id"]) == "failed"
    act = steps_by_node(acme["tenant_id"], run["id"])["act"]
    assert len(act) == 1 and act[0]["error"]["code"] == "no_connector_platform"


def test_action_calls_go_through_the_invoker_with_credentials_beside_the_input(acme, make_flow, start, drive_run):
    calls = []

    class Resolver:
        def resolve(self, request):
            return ports.ResolvedCredentials({"api_key": "k-123456789"}, required=True)

    class Invoker:
        def invoke(self, call):
            calls.append(call)
            return {"created": call.input["sku"]}

    class Checker:
        def missing(self, tenant_id, workspace_id, templates, connections):
            return set(), set()

    with bootstrap.replaced(credential_resolver=Resolver(), action_invoker=Invoker(), reference_checker=Checker()):
        graph = {"nodes": [node("start", "start"),
                           {**node("act", "action", input={"sku": "{{ sku }}"}), "template": "acme.orders.create"},
                           node("end", "end")],
                 "edges": [edge("start", "act"), edge("act", "end")]}
        run = start(make_flow(graph)["id"], input={"sku": "X-1"})
        assert drive_run(run["id"]) == "success"
    assert len(calls) == 1
    call = calls[0]
    assert call.template == "acme.orders.create" and call.input == {"sku": "X-1"}
    assert call.credentials == {"api_key": "k-123456789"} and "api_key" not in json.dumps(call.input)
    assert call.idempotency_key == f"{run['id']}:act:1"
    assert steps_by_node(acme["tenant_id"], run["id"])["act"][0]["output"] == {"created": "X-1"}


def test_metrics_answer_latency_percentiles_and_error_rates(acme, make_flow, start, drive_run, loopback):
    ok = make_flow(chain_graph(3))
    drive_run(start(ok["id"])["id"])
    failing = {"nodes": [node("start", "start"), node("call", "http_request", url=loopback.url + "/status/400"),
                         node("end", "end")],
               "edges": [edge("start", "call"), edge("call", "end")]}
    drive_run(start(make_flow(failing)["id"])["id"])
    reply = acme["api"].get(f"/api/metrics?workspace_id={acme['ws']}", token=acme["viewer"])
    assert reply.status == 200
    by_template = {s["template"]: s for s in reply.body["steps"]}
    transform = by_template["transform"]
    assert transform["attempts"] >= 3 and transform["p50_ms"] is not None
    assert transform["p95_ms"] >= transform["p50_ms"]
    http = by_template["http_request"]
    assert http["failed"] >= 1 and 0 < http["error_rate"] <= 1
    assert {r["status"] for r in reply.body["runs"]} >= {"success", "failed"}
    foreign = acme["api"].get("/api/metrics?workspace_id=00000000-0000-4000-8000-000000000000",
                              token=acme["viewer"])
    assert foreign.status == 404
    # without a filter a member sees the workspaces they belong to; a member of none sees nothing
    assert acme["api"].get("/api/metrics", token=acme["viewer"]).body["steps"]

    # runs per minute by status: the two runs above, each counted once in a one-minute bucket
    assert reply.body["bucket_seconds"] == 60
    over_time = reply.body["runs_over_time"]
    counted = {s: sum(b["count"] for b in over_time if b["status"] == s) for s in ("success", "failed")}
    assert counted == {r["status"]: r["count"] for r in reply.body["runs"] if r["status"] in counted}
    assert all(dt.datetime.fromisoformat(b["at"]).timestamp() % 60 == 0 for b in over_time)
    hourly = acme["api"].get(f"/api/metrics?workspace_id={acme['ws']}&bucket_seconds=3600", token=acme["viewer"])
    assert hourly.body["bucket_seconds"] == 3600
    assert sum(b["count"] for b in hourly.body["runs_over_time"]) == sum(r["count"] for r in reply.body["runs"])
    assert acme["api"].get("/api/metrics?bucket_seconds=5", token=acme["viewer"]).status == 400

    nothing = metrics.summary(acme["tenant_id"], since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), workspace_ids=[])
    assert nothing["steps"] == [] and nothing["runs"] == [] and nothing["runs_over_time"] == []
    assert nothing["bucket_seconds"] * metrics.MAX_BUCKETS >= (dt.datetime.now(dt.UTC)
                                                              - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).total_seconds()


def _history(tenant_id, run_id):
    """Steps and events without ids or times: what two runs of one graph must share."""
    steps = {n: [(a["attempt"], a["status"], json.dumps(a["output"], sort_keys=True)) for a in attempts]
             for n, attempts in steps_by_node(tenant_id, run_id).items()}
    return steps, [(e["seq"], e["type"], e["node_id"]) for e in events(tenant_id, run_id)]


def test_a_pure_chain_is_claimed_executed_and_completed_in_one_transaction(acme, make_flow, start):
    from chalicelib.services.workflows import runner
    from tests.integration.engine.engine_harness import counted_commits, queued_steps, run_status

    flow = make_flow(chain_graph(3))
    run = start(flow["id"], input={"v": 1})
    tenant = acme["tenant_id"]
    [(first, _)] = queued_steps(tenant, run["id"])
    with counted_commits() as commits:
        # WHEN one doorbell for the start step is handled
        assert runner.process_step(tenant, first) == "done"
    # THEN the whole run (five pure steps) finished in one commit
    assert run_status(tenant, run["id"]) == "success" and len(commits) == 1
    # AND each step is still its own attempt with its own events
    steps, seen = _history(tenant, run["id"])
    assert set(steps) == {"start", "t1", "t2", "t3", "end"}
    assert all(attempts == [attempts[0]] and attempts[0][1] == "success" for attempts in steps.values())
    for node_id in steps:
        types = [t for _, t, n in seen if n == node_id]
        assert types[-2:] == ["step.started", "step.succeeded"], (node_id, types)
    assert [s for s, _, _ in seen] == list(range(1, len(seen) + 1))


def test_a_segment_interrupted_before_its_commit_leaves_nothing_and_replays_the_same(acme, make_flow, start,
                                                                                     monkeypatch):
    from chalicelib.services.workflows import completion, runner
    from tests.integration.engine.engine_harness import queued_steps, run_status

    flow = make_flow(chain_graph(3))
    tenant = acme["tenant_id"]
    clean = start(flow["id"], input={"v": 1})
    assert runner.process_step(tenant, queued_steps(tenant, clean["id"])[0][0]) == "done"
    run = start(flow["id"], input={"v": 1})
    [(first, _)] = queued_steps(tenant, run["id"])
    before = _history(tenant, run["id"])
    # GIVEN a worker that dies (here: fails) while completing the third step of the segment
    real, calls = completion.record, []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise ConnectionError("worker lost mid-segment")
        return real(*args, **kwargs)

    monkeypatch.setattr(completion, "record", dying)
    try:
        runner.process_step(tenant, first)
    except ConnectionError:
        pass
    else:
        raise AssertionError("the segment did not fail")
    # THEN nothing of the segment was recorded: the first step is queued again, as before
    assert _history(tenant, run["id"]) == before and queued_steps(tenant, run["id"])[0][0] == first
    # WHEN its doorbell is delivered again
    monkeypatch.setattr(completion, "record", real)
    assert runner.process_step(tenant, first) == "done"
    # THEN the run has exactly the history of a run never interrupted
    assert run_status(tenant, run["id"]) == "success"
    assert _history(tenant, run["id"]) == _history(tenant, clean["id"])


def test_a_pure_segment_is_one_claim_and_one_write_and_asks_nothing_after_the_run(acme, make_flow, start):
    from chalicelib.services.workflows import runner
    from tests.integration.engine.engine_harness import (
        counted_statements,
        counted_transactions,
        queued_steps,
        run_status,
    )

    flow = make_flow(chain_graph(3))
    run = start(flow["id"], input={"v": 1})
    tenant = acme["tenant_id"]
    [(first, _)] = queued_steps(tenant, run["id"])
    with counted_statements() as seen, counted_transactions() as transactions:
        # WHEN one doorbell for the start step is handled (five pure steps, the run ends)
        assert runner.process_step(tenant, first) == "done"
    # THEN the steps cost two statements: the claim, then every attempt, event and the run's end in one
    assert run_status(tenant, run["id"]) == "success"
    work = [s for s in seen if "step_runs" in s or "run_events" in s or "pending_runs" in s]
    assert len(work) == 2, work
    assert work[0].startswith("WITH run AS") and "INSERT INTO run_events" in work[1]
    # AND no transaction of its own asked whether runs of the tenant wait: the write answered it
    assert len(transactions) == 1, seen


def _two_branches(first_branch):
    """start → first_branch (a leaf), start → b (transform) → end."""
    return {"nodes": [node("start", "start"), first_branch, node("b", "transform", output={"b": 1}, mode="merge"),
                      node("end", "end")],
            "edges": [edge("start", first_branch["id"]), edge("start", "b"), edge("b", "end")]}


def _queued_by_node(tenant, run_id):
    return {n: attempts[-1]["id"] for n, attempts in steps_by_node(tenant, run_id).items()
            if attempts[-1]["status"] == "queued"}


def test_a_segment_that_ends_while_another_branch_runs_leaves_the_run_running(acme, make_flow, start, loopback):
    from chalicelib.services.workflows import rungraph, runner
    from tests.integration.engine.engine_harness import run_status

    # GIVEN a run whose HTTP branch is claimed (running elsewhere) when the other branch's segment ends
    flow = make_flow(_two_branches(node("h", "http_request", method="POST", url=loopback.url + "/echo")))
    run = start(flow["id"], input={"v": 1})
    tenant = acme["tenant_id"]
    [start_step] = _queued_by_node(tenant, run["id"]).values()
    assert runner.process_step(tenant, start_step, inline_steps=0) == "done"
    queued = _queued_by_node(tenant, run["id"])
    claimed = runner.claim(tenant, queued["h"])
    # WHEN the segment b → end runs: seen alone it would end the run
    assert runner.process_step(tenant, queued["b"]) == "done"
    # THEN the run goes on, without a run.finished event
    assert run_status(tenant, run["id"]) == "running"
    assert "run.finished" not in [e["type"] for e in events(tenant, run["id"])]
    # WHEN the HTTP step completes
    context = rungraph.load(tenant, run["id"])
    assert runner.complete(context, runner.execute(claimed, context)) is not None
    # THEN the run ends once, its events numbered without a gap
    assert run_status(tenant, run["id"]) == "success"
    seen = events(tenant, run["id"])
    assert [e["type"] for e in seen].count("run.finished") == 1 and seen[-1]["type"] == "run.finished"
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))


def test_a_segment_ending_after_another_branch_failed_fails_the_run_with_that_error(acme, make_flow, start):
    from chalicelib.services.workflows import runner
    from tests.integration.engine.engine_harness import run_status

    # GIVEN a run whose first branch fails for good (its output renders to a number, not an object)
    flow = make_flow(_two_branches(node("f", "transform", output="{{ v }}")))
    run = start(flow["id"], input={"v": 1})
    tenant = acme["tenant_id"]
    [start_step] = _queued_by_node(tenant, run["id"]).values()
    assert runner.process_step(tenant, start_step, inline_steps=0) == "done"
    queued = _queued_by_node(tenant, run["id"])
    assert runner.process_step(tenant, queued["f"]) == "done"
    assert run_status(tenant, run["id"]) == "running"  # b is still queued
    # WHEN the other branch's segment (b → end) ends, every step done
    assert runner.process_step(tenant, queued["b"]) == "done"
    # THEN the run failed, with the failed step's error
    with tenant_uow(tenant) as uow:
        status, error = uow.execute(text("SELECT status, error FROM runs WHERE id = CAST(:r AS uuid)"),
                                    {"r": run["id"]}).one()
    steps = steps_by_node(tenant, run["id"])
    assert status == "failed" and error["node_id"] == "f" and error["step_id"] == steps["f"][0]["id"]
    assert error["code"] == steps["f"][0]["error"]["code"]
    assert steps["b"][0]["status"] == "success" and steps["end"][0]["status"] == "success"
    seen = events(tenant, run["id"])
    assert [e["type"] for e in seen].count("run.finished") == 1
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))


def test_a_failing_pure_step_ends_its_segment_and_the_run_with_its_error(acme, make_flow, start):
    from chalicelib.services.workflows import runner
    from tests.integration.engine.engine_harness import counted_commits, run_status

    graph = {"nodes": [node("start", "start"), node("t1", "transform", output={"n": 1}, mode="merge"),
                       node("bad", "transform", output="{{ v }}"), node("end", "end")],
             "edges": [edge("start", "t1"), edge("t1", "bad"), edge("bad", "end")]}
    run = start(make_flow(graph)["id"], input={"v": 1})
    tenant = acme["tenant_id"]
    [first] = _queued_by_node(tenant, run["id"]).values()
    with counted_commits() as commits:
        assert runner.process_step(tenant, first) == "done"
    assert run_status(tenant, run["id"]) == "failed" and len(commits) == 1
    steps = steps_by_node(tenant, run["id"])
    assert steps["bad"][0]["status"] == "failed" and steps["bad"][0]["error"]["code"] == "config_invalid"
    assert "end" not in steps
    finished = [e for e in events(tenant, run["id"]) if e["type"] == "run.finished"]
    assert len(finished) == 1 and finished[0]["data"]["status"] == "failed"
    assert finished[0]["data"]["error"]["node_id"] == "bad"


def test_run_finished_listeners_with_a_probe_are_called_only_when_it_held(acme, make_flow, start):
    from chalicelib.services.workflows import runner
    from tests.integration.engine.engine_harness import queued_steps

    called = []

    def listener(name):
        return lambda tenant_id, run_id, status: called.append((name, tenant_id, run_id, status))

    # GIVEN a listener whose probe holds, one whose probe does not, and one without a probe
    listeners = (ports.ProbedListener("CAST(:tenant AS uuid) IS NOT NULL", listener("held")),
                 ports.ProbedListener("false", listener("not held")), listener("plain"))
    flow = make_flow(chain_graph(1))
    tenant = acme["tenant_id"]
    with bootstrap.replaced(run_finished_listeners=listeners):
        for _ in range(2):  # the first run ends in its segment's write, the second by the general path
            run = start(flow["id"], input={"v": 1})
            [(first, _)] = queued_steps(tenant, run["id"])
            # WHEN the run ends
            if not called:
                assert runner.process_step(tenant, first) == "done"
            else:
                assert runner.process_step(tenant, first, inline_steps=0) == "done"
                while queued := queued_steps(tenant, run["id"]):
                    assert runner.process_step(tenant, queued[0][0], inline_steps=0) == "done"
            # THEN the listeners whose probe held, or that have none, were told, once each
            assert sorted(c[0] for c in called if c[2] == run["id"]) == ["held", "plain"]
            assert all(c[1:] == (tenant, run["id"], "success") for c in called if c[2] == run["id"])
