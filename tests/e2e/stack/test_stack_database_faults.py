"""``make up`` with its PostgreSQL stopped, then frozen (SIGSTOP): every call answers 503 within 5 s.

API calls, webhook deliveries and ``/health`` answer promptly in the one
error shape (``database_unavailable`` with ``Retry-After``); when the database
is back, the sender's retry is accepted and every accepted run completes —
including one whose step finished while the database was frozen (its result
is recorded once the database answers, the remote called once).
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid

import httpx
import pytest

from chalicelib.triggers.signing import sign_standard_webhooks
from tests.e2e.stack.stack_process import Client, StackProcess
from tests.e2e.stack.test_stack_restart import _flow
from tests.integration.engine.engine_harness import Loopback

LIMIT_S = 5.0


@pytest.fixture(scope="module")
def stack():
    # a step whose result arrives during the outage retries recording it (for longer than this test's outage)
    process = StackProcess(ENGINE_COMPLETE_RETRY_SECONDS="60")
    try:
        process.start()
        yield process
    finally:
        for pid in _frozen:
            _signal(pid, signal.SIGCONT)
        process.destroy()


_frozen: list[int] = []


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _delivery(stack: StackProcess, trigger: dict, secret: str, order: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"order": {"id": order}}).encode()
    return body, sign_standard_webhooks(body, secret, msg_id=f"msg_{order}", timestamp=int(time.time()))


def _timed(call) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _assert_unavailable(stack: StackProcess, client: Client, hook_path: str, delivery: tuple[bytes, dict]) -> None:
    body, headers = delivery
    calls = {
        "api": lambda: client.call("GET", f"/api/workspaces/{client.ws}/flows"),
        "login": lambda: httpx.post(stack.url + "/auth/login", json={"email": "x@y.test", "password": "p" * 12},
                                    timeout=30),
        "webhook": lambda: httpx.post(stack.url + hook_path, content=body, timeout=30,
                                      headers={"content-type": "application/json", **headers}),
    }
    for name, call in calls.items():
        reply, took = _timed(call)
        print(f"\n{name}: {reply.status_code} in {took:.2f} s", end="")
        assert took < LIMIT_S, (name, took)
        assert reply.status_code == 503, (name, reply.status_code, reply.text)
        assert reply.json()["error"]["code"] == "database_unavailable", (name, reply.text)
        assert int(reply.headers["retry-after"]) > 0, name
    health, took = _timed(lambda: httpx.get(stack.url + "/health", timeout=30))
    print(f"\nhealth: {health.status_code} in {took:.2f} s {health.json()['checks']['database']}")
    assert took < LIMIT_S and health.status_code == 503, (took, health.text)
    assert health.json()["failing"] == ["database"] and health.json()["checks"]["database"]["status"] == "error"


def _wait_healthy(stack: StackProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(stack.url + "/health", timeout=10).status_code == 200:
            return
        time.sleep(0.2)
    raise AssertionError("the stack did not become healthy again")


def _accepted_and_completed(stack: StackProcess, client: Client, hook_path: str, delivery, runs: list[str]) -> None:
    body, headers = delivery
    reply = httpx.post(stack.url + hook_path, content=body, timeout=30,
                       headers={"content-type": "application/json", **headers})
    assert reply.status_code == 202, reply.text
    runs.append(reply.json()["run_id"])
    deadline = time.monotonic() + 60
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        for run_id in runs:
            reply = client.call("GET", f"/api/workspaces/{client.ws}/runs/{run_id}")
            ok = reply.status_code == 200
            statuses[run_id] = reply.json()["status"] if ok else f"{reply.status_code} {reply.text}"
        if set(statuses.values()) == {"success"}:
            return
        time.sleep(0.5)
    raise AssertionError(f"accepted runs did not complete: {statuses}")


def test_a_stopped_then_frozen_database_answers_503_promptly_and_loses_nothing(stack):
    client = Client(stack)
    flow = _flow(client)
    trigger = client.call("POST", f"/api/workspaces/{client.ws}/flows/{flow['id']}/triggers",
                          json={"kind": "webhook", "name": "orders"}).json()
    url, secret = trigger["webhook"]["url"], trigger["webhook"]["new_secret"]
    hook_path = url[url.index("/webhooks/"):]
    runs: list[str] = []
    cluster = stack.cluster()
    _accepted_and_completed(stack, client, hook_path, _delivery(stack, trigger, secret, "before"), runs)

    # WHEN PostgreSQL is stopped THEN every call is refused with 503 within the limit
    delivery = _delivery(stack, trigger, secret, f"stopped-{uuid.uuid4().hex[:6]}")
    cluster.stop()
    _assert_unavailable(stack, client, hook_path, delivery)
    # AND once it is back, the sender's retry of the refused delivery is accepted and the run completes
    cluster.start()
    _wait_healthy(stack)
    _accepted_and_completed(stack, client, hook_path, delivery, runs)

    # GIVEN a run whose HTTP step is in flight
    loopback = Loopback()
    try:
        in_flight = _in_flight_run(client, loopback)
        # WHEN PostgreSQL is frozen (every process stopped with SIGSTOP) THEN the same
        delivery = _delivery(stack, trigger, secret, f"frozen-{uuid.uuid4().hex[:6]}")
        _frozen.extend(stack.postgres_pids())
        for pid in _frozen:
            _signal(pid, signal.SIGSTOP)
        try:
            loopback.release()  # the step's result arrives while the database is frozen
            _assert_unavailable(stack, client, hook_path, delivery)
        finally:
            for pid in _frozen:
                _signal(pid, signal.SIGCONT)
            _frozen.clear()
        _wait_healthy(stack)
        # THEN the refused delivery is accepted on retry, and the in-flight run completes, its remote called once
        _accepted_and_completed(stack, client, hook_path, delivery, runs + [in_flight])
        assert loopback.by_key[f"{in_flight}:call:1"] == 1
    finally:
        loopback.stop()
    client.close()


def _in_flight_run(client: Client, loopback) -> str:
    graph = {"nodes": [{"id": "start", "name": "start", "type": "start", "config": {}},
                       {"id": "call", "name": "call", "type": "http_request",
                        "config": {"method": "POST", "url": loopback.url + "/block/outage", "timeout_seconds": 30}},
                       {"id": "end", "name": "end", "type": "end", "config": {}}],
             "edges": [{"from": "start", "to": "call"}, {"from": "call", "to": "end"}]}
    flow = client.call("POST", f"/api/workspaces/{client.ws}/flows", json={"title": "outage", "graph": graph})
    assert flow.status_code == 201, flow.text
    run = client.call("POST", f"/api/workspaces/{client.ws}/flows/{flow.json()['id']}/runs", json={})
    assert run.status_code == 202, run.text
    assert loopback.blocked.wait(30), "the step never reached the remote"
    return run.json()["id"]
