"""The local stack on the embedded PostgreSQL step queue (what ``make up`` runs without LocalStack): runs go
through it end to end, a retried step waits out its delay in it, and doorbells rung twice change nothing."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import text

from chalicelib.db.uow import system_uow
from tests.integration.engine.engine_harness import Loopback, edge, node


@pytest.fixture(scope="module")
def pg_runtime(local_stack):
    from chalicelib import bootstrap
    from chalicelib.config import get_settings
    from devstack.postgres import free_port
    from devstack.runtime import LocalRuntime

    before = os.environ.get("STEP_QUEUE_BACKEND")
    os.environ["STEP_QUEUE_BACKEND"] = "postgres"
    get_settings.cache_clear()
    bootstrap.reset()
    started = LocalRuntime(endpoint_url=local_stack.env["AWS_ENDPOINT_URL"],
                           region=local_stack.env["AWS_DEFAULT_REGION"], port=free_port(), workers=2).start()
    try:
        yield started
    finally:
        started.stop()
        if before is None:
            os.environ.pop("STEP_QUEUE_BACKEND", None)
        else:
            os.environ["STEP_QUEUE_BACKEND"] = before
        get_settings.cache_clear()
        bootstrap.reset()


@pytest.fixture(scope="module")
def loopback():
    server = Loopback()
    yield server
    server.stop()


def _graph(base_url: str) -> dict:
    return {
        "nodes": [node("start", "start"),
                  node("check", "condition", all=[{"left": "{{ amount }}", "op": "gt", "right": 100}]),
                  node("big", "transform", output={"size": "big"}),
                  node("small", "transform", output={"size": "small"}),
                  node("join", "wait_all"),
                  node("call", "http_request", method="POST", url=base_url + "/flaky/pgq/1",
                       json={"n": "{{ amount }}"}, retry={"max_attempts": 3, "base_delay": 1, "max_delay": 1}),
                  node("done", "end")],
        "edges": [edge("start", "check"), edge("check", "big", "true"), edge("check", "small", "false"),
                  edge("big", "join"), edge("small", "join"), edge("join", "call"), edge("call", "done")],
    }


def _queue_rows() -> int:
    with system_uow() as uow:
        return int(uow.execute(text("SELECT count(*) FROM step_queue_messages WHERE queue = :q"),
                               {"q": os.environ["STEP_QUEUE_NAME"]}).scalar())


def _wait_run(http, ws, run_id, auth, timeout=30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = http.get(f"/api/workspaces/{ws}/runs/{run_id}", headers=auth).json()
        if run["status"] != "running":
            return run
        time.sleep(0.1)
    raise AssertionError("the run did not finish")


def test_a_run_with_a_retried_call_finishes_through_the_postgres_queue_and_duplicate_doorbells_do_nothing(
        pg_runtime, tokens, loopback):
    import httpx

    from chalicelib.adapters.pg_queue import PostgresStepQueue
    from chalicelib.container import current

    # GIVEN the runtime polling the embedded queue, and the queue the app sends to is that one
    assert isinstance(current().step_queue(), PostgresStepQueue)
    token = tokens[("acme", "builder")]
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=pg_runtime.gateway.url, timeout=30) as http:
        flow = http.post(f"/api/workspaces/{ws}/flows", headers=auth,
                         json={"title": "pg queue e2e", "graph": _graph(loopback.url)})
        assert flow.status_code == 201, flow.text
        # WHEN a run starts whose HTTP call fails once (503) and is retried after its delay
        started = http.post(f"/api/workspaces/{ws}/flows/{flow.json()['id']}/runs", headers=auth,
                            json={"mode": "test", "input": {"amount": 250}})
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        run = _wait_run(http, ws, run_id, auth)
        # THEN it succeeded: one failed and one successful attempt, under one idempotency key per attempt
        assert run["status"] == "success", run
        calls = [c for c in loopback.calls if c["path"] == "/flaky/pgq/1"]
        assert len(calls) == 2 and len({c["key"] for c in calls}) == 2
        steps = http.get(f"/api/workspaces/{ws}/runs/{run_id}/steps", headers=auth).json()["items"]
        # AND every doorbell was deleted once handled
        deadline = time.monotonic() + 10
        while _queue_rows() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _queue_rows() == 0
        # WHEN every step's doorbell is rung again (a duplicated delivery)
        tenant = tokens.ids("acme")["tenant_id"]
        current().step_queue().send_many([{"kind": "step", "tenant_id": tenant, "run_id": run_id,
                                           "step_id": s["id"]} for s in steps])
        deadline = time.monotonic() + 10
        while _queue_rows() and time.monotonic() < deadline:
            time.sleep(0.1)
        # THEN they were handled and nothing ran again
        assert _queue_rows() == 0
        assert len([c for c in loopback.calls if c["path"] == "/flaky/pgq/1"]) == 2
        again = http.get(f"/api/workspaces/{ws}/runs/{run_id}", headers=auth).json()
        assert again["status"] == "success"
