"""The engine's hooks: credential resolution (node → template default) and action calls, through the ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chalicelib.container import current
from chalicelib.errors import SteplineError
from chalicelib.services.connectors import engine_bridge
from chalicelib.services.connectors.errors import (
    ConnectionNotUsable,
    ConnectionRequired,
    TemplateNotFound,
)
from chalicelib.services.workflows import ports
from tests.fakes.vendors.slack import DEFAULT_TOKEN, FakeSlack
from tests.fakes.vendors.stripe import DEFAULT_SECRET_KEY
from tests.integration.connectors_api.connector_docs import unique

POST = "builtin:slack:post_message"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def env(api, tokens, slack, app_module):
    ids = tokens.ids("acme")
    ops, marketing = ids["workspaces"]["Operations"], ids["workspaces"]["Marketing"]
    admin = tokens[("acme", "admin")]

    def connect(ws, app_id, secrets, settings=None):
        reply = api.post(
            f"/api/workspaces/{ws}/connections",
            {"name": unique("c"), "app_id": app_id, "settings": settings or {}, "secrets": secrets},
            token=admin,
        )
        assert reply.status == 201, reply.body
        return reply.body["id"]

    slack_ops = connect(ops, "builtin:slack", {"token": DEFAULT_TOKEN}, {"base_url": slack.base_url})
    slack_marketing = connect(
        marketing, "builtin:slack", {"token": DEFAULT_TOKEN}, {"base_url": slack.base_url}
    )
    stripe_ops = connect(ops, "builtin:stripe", {"secret_key": DEFAULT_SECRET_KEY})
    name = unique("ops_alert").replace("-", "_")
    template = api.post(
        "/api/node-templates",
        {
            "name": name,
            "title": "Ops alert",
            "step_type": "action",
            "action_ref": POST,
            "default_connection_id": slack_ops,
            "config": {},
        },
        token=admin,
    )
    assert template.status == 201, template.body
    return {
        "tenant": ids["tenant_id"],
        "ops": ops,
        "marketing": marketing,
        "slack_ops": slack_ops,
        "slack_marketing": slack_marketing,
        "stripe_ops": stripe_ops,
        "template": f"tpl:{name}",
    }


def test_importing_app_plugs_the_connector_platform_into_the_engine_ports():
    # a fresh interpreter, as a Lambda container starts: importing app.py is enough
    probe = (
        "import app; from chalicelib.container import current; c = current(); "
        "print(type(c.credential_resolver()).__name__, type(c.action_invoker()).__name__, "
        "type(c.reference_checker()).__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.split() == [
        "ConnectorCredentialResolver",
        "ConnectorActionInvoker",
        "ConnectorReferenceChecker",
    ], done.stderr[-2000:]


def test_resolution_order_node_connection_then_template_default(env):
    t, ops = env["tenant"], env["ops"]
    creds = engine_bridge.resolve_credentials(t, ops, env["slack_ops"], POST)
    assert (
        creds["type"] == "bearer"
        and creds["token"] == DEFAULT_TOKEN
        and creds["connection_id"] == env["slack_ops"]
    )
    assert DEFAULT_TOKEN not in repr(creds) and DEFAULT_TOKEN not in str(creds)
    # no node connection: the template's default, but only inside its own workspace
    assert (
        engine_bridge.resolve_credentials(t, ops, None, env["template"])["connection_id"] == env["slack_ops"]
    )
    assert engine_bridge.resolve_credentials(t, env["marketing"], None, env["template"]) is None
    # nothing at all: no credentials, and the port says the action needs some
    resolved = current().credential_resolver().resolve(ports.CredentialRequest(t, ops, "action", None, POST))
    assert resolved.credentials is None and resolved.required is True
    # a connection of another workspace or another app is refused; unknown templates too
    with pytest.raises(ConnectionNotUsable):
        engine_bridge.resolve_credentials(t, ops, env["slack_marketing"], POST)
    with pytest.raises(ConnectionNotUsable):
        engine_bridge.resolve_credentials(t, ops, env["stripe_ops"], POST)
    with pytest.raises(TemplateNotFound):
        engine_bridge.resolve_credentials(t, ops, None, "builtin:slack:nope")


def test_http_steps_and_secret_references_get_generic_names(env):
    resolver = current().credential_resolver()
    stripe = resolver.resolve(
        ports.CredentialRequest(env["tenant"], env["ops"], "http_request", env["stripe_ops"])
    )
    assert stripe.required is False
    assert (stripe.credentials["type"], stripe.credentials["username"], stripe.credentials["password"]) == (
        "basic",
        DEFAULT_SECRET_KEY,
        "",
    )
    secret = resolver.resolve(ports.CredentialRequest(env["tenant"], env["ops"], "secret", env["slack_ops"]))
    assert secret.credentials["token"] == DEFAULT_TOKEN


def test_invoke_action_calls_with_the_idempotency_key_and_the_stored_connection(env, slack):
    t, ops = env["tenant"], env["ops"]
    creds = engine_bridge.resolve_credentials(t, ops, None, env["template"])
    output = current().action_invoker().invoke(
        ports.ActionCall(
            tenant_id=t,
            workspace_id=ops,
            template=env["template"],
            input={"body": {"channel": "C0123456789", "text": "from a run"}},
            credentials=creds,
            idempotency_key="run-1:node-1:1",
            deadline=time.time() + 20,
        )
    )
    assert output["ok"] is True and output["ts"]
    assert slack.last.headers["idempotency-key"] == "run-1:node-1:1"
    assert slack.last.headers["authorization"] == f"Bearer {DEFAULT_TOKEN}"
    # an action that needs a connection does not run without one
    with pytest.raises(ConnectionRequired):
        engine_bridge.invoke_action(t, ops, POST, {"body": {"channel": "C1", "text": "x"}}, None, "k")


def test_reference_checker_names_what_is_missing(env):
    missing_templates, missing_connections = current().reference_checker().missing(
        env["tenant"],
        env["ops"],
        {POST, env["template"], "tpl:nope", "builtin:slack:nope", "not-an-id"},
        {env["slack_ops"], env["slack_marketing"], "not-a-uuid"},
    )
    assert missing_templates == {"tpl:nope", "builtin:slack:nope", "not-an-id"}
    assert missing_connections == {env["slack_marketing"], "not-a-uuid"}


def test_secret_fields_are_what_a_run_resolves(env):
    fields = current().reference_checker().secret_fields(
        env["tenant"], env["ops"], {env["slack_ops"], env["stripe_ops"], env["slack_marketing"], "not-a-uuid"})
    assert set(fields) == {env["slack_ops"], env["stripe_ops"]}  # only this workspace's connections
    assert {"token", "type", "connection_id"} <= fields[env["slack_ops"]]
    assert {"secret_key", "username", "password"} <= fields[env["stripe_ops"]]
    # every name offered is one a run really resolves
    resolved = current().credential_resolver().resolve(
        ports.CredentialRequest(env["tenant"], env["ops"], "secret", env["slack_ops"])).credentials
    assert set(resolved) <= fields[env["slack_ops"]]


def test_a_secret_reference_to_a_field_the_connection_lacks_is_refused(api, tokens, env):
    # GIVEN a workflow whose secret references name a field the connection has, and one it has not
    admin = tokens[("acme", "admin")]
    flows = f"/api/workspaces/{env['ops']}/flows"
    secrets = {"SLACK_TOKEN": {"connection_id": env["slack_ops"], "field": "token"},
               "TYPO": {"connection_id": env["slack_ops"], "field": "tokn"},
               "ELSEWHERE": {"connection_id": env["slack_marketing"], "field": "token"}}
    # WHEN it is created
    created = api.post(flows, {"title": unique("refs"), "secrets": secrets}, token=admin)
    # THEN both bad references are refused in one answer, each naming the secret and its field
    assert created.status == 422 and created.error_code == "validation_failed", created.body
    details = {d["path"]: d["issue"] for d in created.body["error"]["details"]}
    assert set(details) == {"/secrets/TYPO/field", "/secrets/ELSEWHERE/connection_id"}
    assert "'TYPO'" in details["/secrets/TYPO/field"] and "'tokn'" in details["/secrets/TYPO/field"]
    # AND the same check guards an update; a reference to an existing field is accepted
    good = {"SLACK_TOKEN": secrets["SLACK_TOKEN"]}
    flow = api.post(flows, {"title": unique("refs"), "secrets": good}, token=admin)
    assert flow.status == 201, flow.body
    patched = api.patch(f"{flows}/{flow.body['id']}", {"secrets": {"TYPO": secrets["TYPO"]}}, token=admin)
    assert patched.status == 422 and [d["path"] for d in patched.body["error"]["details"]] == ["/secrets/TYPO/field"]


def test_settings_and_graph_problems_come_in_one_answer(api, tokens, env):
    admin = tokens[("acme", "admin")]
    graph = {"nodes": [{"id": "s", "name": "s", "type": "start"}, {"id": "x", "name": "x", "type": "teleport"},
                       {"id": "e", "name": "e", "type": "end"}],
             "edges": [{"from": "s", "to": "x"}, {"from": "x", "to": "e"}, {"from": "s", "to": "ghost"}]}
    created = api.post(f"/api/workspaces/{env['ops']}/flows", {
        "title": unique("all"), "graph": graph,
        "secrets": {"TYPO": {"connection_id": env["slack_ops"], "field": "tokn"}}}, token=admin)
    assert created.status == 422, created.body
    assert sorted(d["path"] for d in created.body["error"]["details"]) == [
        "/graph/edges/2/to", "/graph/nodes/1/type", "/secrets/TYPO/field"]


def test_an_engine_attempt_sends_exactly_one_request(env, slack):
    # GIVEN a vendor failing with 500 (the action itself would retry a 5xx several times)
    from tests.fakes.vendors.base import json_response

    t, ops = env["tenant"], env["ops"]
    creds = engine_bridge.resolve_credentials(t, ops, None, env["template"])
    slack.clear()
    slack.script(*[json_response(500, {"ok": False, "error": "internal_error"})] * 5)
    # WHEN the engine makes three attempts
    for attempt in (1, 2, 3):
        with pytest.raises(SteplineError):
            current().action_invoker().invoke(ports.ActionCall(
                tenant_id=t, workspace_id=ops, template=env["template"],
                input={"body": {"channel": "C0123456789", "text": "x"}}, credentials=creds,
                idempotency_key=f"run-9:node-1:{attempt}", deadline=time.time() + 20))
    # THEN the vendor saw exactly three requests, one per attempt, each with its own idempotency key
    assert [r.headers["idempotency-key"] for r in slack.requests] == [f"run-9:node-1:{n}" for n in (1, 2, 3)]
    slack.clear()


def test_the_action_declared_retry_feeds_the_step_policy(api, tokens, env, slack):
    # GIVEN a platform policy of one attempt, and Slack's post_message declaring three (its catalog retry)
    from chalicelib.services.workflows import settings
    from tests.fakes.vendors.base import json_response
    from tests.integration.engine.engine_harness import drive

    assert engine_bridge.action_retry(env["tenant"], env["ops"], POST) == {
        "max_attempts": 3, "base_delay": 0.5, "max_delay": 10, "multiplier": 2.0}
    admin = tokens[("acme", "admin")]
    flows = f"/api/workspaces/{env['ops']}/flows"
    settings.configure(retry={"max_attempts": 1, "base_delay": 0.01, "max_delay": 0.01})
    try:
        def requests_made(node_retry):
            config = {"input": {"body": {"channel": "C0123456789", "text": "x"}}}
            if node_retry is not None:
                config["retry"] = node_retry
            graph = {"nodes": [{"id": "s", "name": "s", "type": "start"},
                               {"id": "a", "name": "post", "type": "action", "template": POST,
                                "connection_id": env["slack_ops"], "config": config},
                               {"id": "e", "name": "e", "type": "end"}],
                     "edges": [{"from": "s", "to": "a"}, {"from": "a", "to": "e"}]}
            flow = api.post(flows, {"title": unique("retry"), "graph": graph}, token=admin)
            assert flow.status == 201, flow.body
            slack.clear()
            slack.script(*[json_response(500, {"ok": False, "error": "internal_error"})] * 6)
            run = api.post(f"{flows}/{flow.body['id']}/runs", {"input": {}}, token=admin)
            assert run.status == 202, run.body
            assert drive(env["tenant"], run.body["id"], timeout=30) == "failed"
            return len(slack.requests)

        # WHEN the node sets no retry THEN the action's three attempts apply, one request each
        assert requests_made(None) == 3
        # WHEN the node overrides max_attempts (and the delays, key by key) THEN the node wins
        assert requests_made({"max_attempts": 2, "base_delay": 0.01, "max_delay": 0.02}) == 2
    finally:
        settings.reset()
        slack.clear()


def test_a_node_template_preset_config_is_applied_to_the_nodes_using_it(api, tokens, env):
    from tests.integration.engine.engine_harness import drive

    # GIVEN a transform node template whose preset shapes the output
    admin = tokens[("acme", "admin")]
    name = unique("shape_preset").replace("-", "_")
    made = api.post("/api/node-templates", {"name": name, "title": "Shape", "step_type": "transform",
                                            "config": {"output": {"source": "preset", "level": 1},
                                                       "mode": "merge"}}, token=admin)
    assert made.status == 201, made.body
    flows = f"/api/workspaces/{env['ops']}/flows"

    def graph(node_config, node_type="transform"):
        return {"nodes": [{"id": "s", "name": "s", "type": "start"},
                          {"id": "t", "name": "t", "type": node_type, "template": f"tpl:{name}",
                           "config": node_config},
                          {"id": "e", "name": "e", "type": "end"}],
                "edges": [{"from": "s", "to": "t"}, {"from": "t", "to": "e"}]}

    # WHEN a node uses it with no config of its own (the preset supplies what a transform requires)
    # and another overrides one key of the preset's output
    bare = api.post(flows, {"title": unique("preset"), "graph": graph({})}, token=admin)
    assert bare.status == 201, bare.body
    tuned = api.post(flows, {"title": unique("preset"), "graph": graph({"output": {"level": 2}})}, token=admin)
    assert tuned.status == 201, tuned.body
    outputs = []
    for flow in (bare, tuned):
        run = api.post(f"{flows}/{flow.body['id']}/runs", {"input": {"n": 1}}, token=admin)
        assert run.status == 202, run.body
        assert drive(env["tenant"], run.body["id"]) == "success"
        outputs.append(api.get(f"/api/workspaces/{env['ops']}/runs/{run.body['id']}", token=admin).body["output"])
    # THEN the runs executed the preset under each node's own config
    assert outputs[0] == {"n": 1, "source": "preset", "level": 1}
    assert outputs[1] == {"n": 1, "source": "preset", "level": 2}
    # AND a node of another step type naming the template is refused at its template
    wrong = api.post(flows, {"title": unique("preset"), "graph": graph({"seconds": 1}, "delay")}, token=admin)
    assert wrong.status == 422 and "/graph/nodes/1/template" in [d["path"] for d in wrong.body["error"]["details"]]


STEP_IN_A_FRESH_PROCESS = """
import json, sys
assert not any(name.startswith("chalicelib") for name in sys.modules)
import app
record = {"messageId": "m-1", "receiptHandle": "r-1", "body": sys.argv[1], "attributes": {},
          "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "us-east-1",
          "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:steps"}
print(json.dumps(app.step({"Records": [record]}, None)))
"""

# The same without app.py: the composition root alone wires the step function; no route module is ever imported.
STEP_WITHOUT_ROUTES = """
import json, sys
from chalicelib import bootstrap
from chalicelib.services import messages
bootstrap.boot()
failed = messages.handle_batch([("m-1", sys.argv[1])])
routes = sorted(name for name in sys.modules if name == "app" or name.startswith(("chalicelib.api", "chalicelib.http")))
assert not routes, routes
print(json.dumps({"batchItemFailures": failed}))
"""


@pytest.mark.parametrize("probe", [STEP_IN_A_FRESH_PROCESS, STEP_WITHOUT_ROUTES], ids=["app", "bootstrap"])
def test_a_fresh_process_runs_an_action_step_through_the_sqs_handler_after_importing_app_or_bootstrap_alone(
    api, tokens, env, slack, probe
):
    from chalicelib import bootstrap
    from chalicelib.adapters.queue import InMemoryStepQueue
    from tests.integration.engine.engine_harness import edge, node, run_status, steps_by_node

    # GIVEN a workflow whose action posts to Slack through the template's default connection
    builder, ops = tokens[("acme", "builder")], env["ops"]
    graph = {"nodes": [node("start", "start"),
                       {**node("act", "action", input={"body": {"channel": "C0123456789", "text": "hi"}}),
                        "template": env["template"]},
                       node("end", "end")],
             "edges": [edge("start", "act"), edge("act", "end")]}
    flow = api.post(f"/api/workspaces/{ops}/flows", {"title": "Fresh process", "graph": graph}, token=builder)
    assert flow.status == 201, flow.body
    # AND a run whose first doorbell was kept aside instead of sent
    doorbells = InMemoryStepQueue()
    with bootstrap.replaced(step_queue=doorbells):
        run = api.post(f"/api/workspaces/{ops}/flows/{flow.body['id']}/runs", {}, token=builder)
    assert run.status == 202, run.body
    [(first, _delay)] = doorbells.sent
    # WHEN a fresh interpreter imports app.py alone and hands the doorbell to the SQS handler
    done = subprocess.run([sys.executable, "-c", probe, json.dumps(first)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    # THEN the handler reports no failure and the run went through the action to its end
    assert done.returncode == 0 and json.loads(done.stdout.splitlines()[-1]) == {"batchItemFailures": []}, (
        done.stderr[-3000:])
    assert run_status(env["tenant"], run.body["id"]) == "success"
    [act] = steps_by_node(env["tenant"], run.body["id"])["act"]
    assert act["status"] == "success" and act["output"]["ok"] is True
    assert slack.last.headers["idempotency-key"] == f"{run.body['id']}:act:1"
