"""``$secrets`` over the API and through a real run: refused where it would be recorded, masked in every form.

The remote is the loopback echo server: it sends back the query and body it
received, so whatever form of the secret the step sent comes back in its
output — transformed by ``upper``, ``lower``, ``urlencode``… — and must still
never be stored or shown.
"""

from __future__ import annotations

import urllib.parse

import pytest
from sqlalchemy import text

from chalicelib import bootstrap
from chalicelib.db.uow import tenant_uow
from chalicelib.services.workflows import ports
from tests.integration.engine.engine_harness import edge, node

SECRET = "S3cr3t-Token/Value+0042"
FORMS = {"raw": SECRET, "upper": SECRET.upper(), "lower": SECRET.lower(),
         "urlencode": urllib.parse.quote(SECRET, safe=""), "trim": SECRET.strip()}
CONNECTION = "11111111-2222-4333-8444-555555555555"
SECRET_REFS = {"API_TOKEN": {"connection_id": CONNECTION, "field": "token"}}


@pytest.fixture
def connector_platform(acme):
    """Fakes of the two connector ports: one connection whose ``token`` is :data:`SECRET`."""

    class Resolver:
        def resolve(self, request):
            return ports.ResolvedCredentials({"token": SECRET, "type": "bearer"}, required=False)

    class Checker:
        def missing(self, tenant_id, workspace_id, templates, connections):
            return set(templates), set()

        def secret_fields(self, tenant_id, workspace_id, connections):
            return dict.fromkeys(connections, frozenset({"token", "type"}))

    with bootstrap.replaced(credential_resolver=Resolver(), reference_checker=Checker()):
        yield


def _graph(middle: dict) -> dict:
    return {"nodes": [node("start", "start"), middle, node("end", "end")],
            "edges": [edge("start", middle["id"]),
                      edge(middle["id"], "end", **({"port": "true"} if middle["type"] == "condition" else {}))]}


@pytest.mark.parametrize(("middle", "path"), [
    (node("shout", "transform", output={"token": "{{ $secrets.API_TOKEN | upper }}"}),
     "/graph/nodes/1/config/output/token"),
    (node("gate", "condition", left="{{ $secrets.API_TOKEN | lower }}", op="eq", right="x"),
     "/graph/nodes/1/config/left"),
    (node("finish", "transform", output={"log": "sent {{ $secrets.API_TOKEN | urlencode }}"}),
     "/graph/nodes/1/config/output/log"),
])
def test_a_graph_reading_secrets_where_they_would_be_recorded_is_refused(acme, connector_platform, middle, path):
    api, flows = acme["api"], f"/api/workspaces/{acme['ws']}/flows"
    body = {"title": "leaky", "graph": _graph(middle), "secrets": SECRET_REFS}
    created = api.post(flows, body, token=acme["token"])
    assert created.status == 422 and created.error_code == "validation_failed"
    details = created.body["error"]["details"]
    assert [d["path"] for d in details] == [path]
    assert repr(middle["name"]) in details[0]["issue"]
    # AND replacing a valid flow's graph with it is refused the same way
    fine = _graph(node("shape", "transform", output={"ok": True}))
    flow = api.post(flows, {"title": "fine", "graph": fine, "secrets": SECRET_REFS}, token=acme["token"])
    assert flow.status == 201, flow.body
    replaced = api.put(f"{flows}/{flow.body['id']}/graph", _graph(middle), token=acme["token"])
    assert replaced.status == 422 and [d["path"].removeprefix("/graph") for d in replaced.body["error"]["details"]] \
        == [path.removeprefix("/graph")]


def test_run_history_never_holds_a_secret_in_any_form(acme, make_flow, start, drive_run, loopback,
                                                      connector_platform):
    # GIVEN a call that sends the secret in several transformed forms to a remote that echoes them
    call = node("call", "http_request", method="POST", url=loopback.url + "/echo",
                headers={"Authorization": "Bearer {{ $secrets.API_TOKEN | trim }}"},
                query={"u": "{{ $secrets.API_TOKEN | upper }}", "e": "{{ $secrets.API_TOKEN | urlencode }}"},
                json={"l": "{{ $secrets.API_TOKEN | lower }}", "raw": "{{ $secrets.API_TOKEN }}", "n": "{{ n }}"})
    flow = make_flow(_graph(call), secrets=SECRET_REFS)
    loopback.reset()
    run = start(flow["id"], input={"n": 7})
    # WHEN it runs
    assert drive_run(run["id"]) == "success"
    # THEN the remote received each form
    sent = [c for c in loopback.calls if c["path"] == "/echo"][-1]
    assert sent["body"] == {"l": FORMS["lower"], "raw": SECRET, "n": 7}
    # AND nothing stored for the run holds any form of it
    with tenant_uow(acme["tenant_id"]) as uow:
        stored = [uow.execute(text(f"SELECT coalesce(json_agg(t)::text, '') FROM {table} t WHERE run_id = "
                                   "CAST(:r AS uuid)"), {"r": run["id"]}).scalar()
                  for table in ("step_runs", "run_events", "step_logs", "join_arrivals")]
        stored.append(uow.execute(text("SELECT row_to_json(r)::text FROM runs r WHERE id = CAST(:r AS uuid)"),
                                  {"r": run["id"]}).scalar())
    # AND nothing a viewer reads about it does either
    api, base = acme["api"], f"/api/workspaces/{acme['ws']}/runs"
    for path in (base, f"{base}/{run['id']}", f"{base}/{run['id']}/steps", f"{base}/{run['id']}/logs",
                 f"{base}/{run['id']}/events"):
        reply = api.get(path, token=acme["viewer"])
        assert reply.status == 200, (path, reply.body)
        stored.append(str(reply.body))
    blob = "\n".join(stored)
    assert '"n": 7' in blob or '"n":7' in blob  # the echo was recorded: the check below has something to see
    leaked = {name: form for name, form in FORMS.items() if form in blob}
    assert leaked == {}
