"""JSONata and the code step through the runner against PostgreSQL: what expressions see, what they never see."""

from __future__ import annotations

from chalicelib import bootstrap
from chalicelib.services.workflows import ports
from tests.integration.engine.engine_harness import edge, node, steps_by_node


def test_jsonata_sees_the_input_env_trigger_and_run(acme, make_flow, start, drive_run):
    graph = {"nodes": [node("start", "start"),
                       node("shape", "transform", name="shape_it", output={"$jsonata": """{
                           'total': $sum(lines.(price * qty)),
                           'region': $env.REGION,
                           'trigger': $trigger.kind,
                           'first_line': $trigger.input.lines[0].price,
                           'node': $run.node,
                           'mode': $run.mode
                       }"""}),
                       node("tag", "code", code="export default (p, ctx) => ({ ...p, by: ctx.node_name })"),
                       node("end", "end")],
             "edges": [edge("start", "shape"), edge("shape", "tag"), edge("tag", "end")]}
    flow = make_flow(graph, env={"REGION": "eu-west"})
    run = start(flow["id"], input={"lines": [{"price": 2, "qty": 3}, {"price": 1, "qty": 4}]})
    assert drive_run(run["id"]) == "success"
    steps = steps_by_node(acme["tenant_id"], run["id"])
    assert steps["tag"][0]["output"] == {"total": 10, "region": "eu-west", "trigger": "manual", "first_line": 2,
                                         "node": "shape_it", "mode": "test", "by": "tag"}


def test_jsonata_never_sees_secrets_even_where_a_credential_goes(acme, make_flow, start, drive_run, loopback):
    secret = "s3cr3t-token-value-0077"

    class Resolver:
        def resolve(self, request):
            return ports.ResolvedCredentials({"token": secret, "type": "bearer"}, required=False)

    class Checker:
        def missing(self, tenant_id, workspace_id, templates, connections):
            return set(templates), set()

        def secret_fields(self, tenant_id, workspace_id, connections):
            return dict.fromkeys(connections, frozenset({"token", "type"}))

    with bootstrap.replaced(credential_resolver=Resolver(), reference_checker=Checker()):
        connection = "11111111-2222-4333-8444-555555555555"
        # GIVEN an http_request whose json (a key where secrets may go) holds a template and an expression
        graph = {"nodes": [node("start", "start"),
                           {**node("call", "http_request", method="POST", url=loopback.url + "/echo",
                                   json={"template": "{{ $secrets.API_TOKEN }}",
                                         "expression": {"$jsonata": "$secrets.API_TOKEN"},
                                         "whole": {"$jsonata": "$string($secrets)"}}),
                            "connection_id": connection},
                           node("end", "end")],
                 "edges": [edge("start", "call"), edge("call", "end")]}
        flow = make_flow(graph, secrets={"API_TOKEN": {"connection_id": connection, "field": "token"}})
        loopback.reset()
        run = start(flow["id"], input={})
        assert drive_run(run["id"]) == "success"
    # THEN the template got the secret, the JSONata expressions got nothing
    sent = [c for c in loopback.calls if c["path"] == "/echo"][-1]
    assert sent["body"]["template"] == secret
    assert sent["body"].get("expression") is None and secret not in str(sent["body"].get("whole"))


def _commits_to_finish(acme, make_flow, start, graph) -> tuple[str, int, str]:
    from chalicelib.services.workflows import runner
    from tests.integration.engine.engine_harness import counted_commits, queued_steps, run_status

    flow = make_flow(graph)
    run = start(flow["id"], input={"items": [1, 2, 3]})
    tenant = acme["tenant_id"]
    [(first, _)] = queued_steps(tenant, run["id"])
    with counted_commits() as commits:
        assert runner.process_step(tenant, first) == "done"
    return run_status(tenant, run["id"]), len(commits), run["id"]


def _code_chain(**config) -> dict:
    source = "export default (p) => ({ ...p, n: (p.n || 0) + 1 })"
    nodes = [node("start", "start"), *(node(f"c{i}", "code", code=source, **config) for i in range(1, 4)),
             node("end", "end")]
    ids = [n["id"] for n in nodes]
    return {"nodes": nodes, "edges": [edge(a, b) for a, b in zip(ids, ids[1:], strict=False)]}


def test_code_steps_with_a_short_time_limit_run_inside_the_runs_transaction(acme, make_flow, start):
    from chalicelib.container import current
    from chalicelib.engine.code import CodeRequest

    # GIVEN sandbox processes already started (a segment stops growing after a second)
    for _ in range(2):
        current().code_runner().run(CodeRequest(source="export default () => ({})", payload={}, context={},
                                                timeout_seconds=5))
    # AND a chain of three code steps with the default (1 s) time limit
    status, commits, run_id = _commits_to_finish(acme, make_flow, start, _code_chain())
    # THEN one doorbell runs the whole chain in one commit, as for transforms
    assert (status, commits) == ("success", 1)
    assert steps_by_node(acme["tenant_id"], run_id)["c3"][0]["output"] == {"items": [1, 2, 3], "n": 3}
    # AND a chain whose code may run longer commits each code step on its own (no long-held run lock)
    status, commits, _ = _commits_to_finish(acme, make_flow, start, _code_chain(timeout_ms=3000))
    assert status == "success" and commits > 3
