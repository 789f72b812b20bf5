"""``make up`` as a developer runs it: secrets, runs and the tools survive restarts and run beside it.

One real stack process per module (its own data directory and ports):
restarted with ``kill -9`` and gracefully, its PostgreSQL reused, the
commands ``reset``/``seed``/``migrate`` run next to it, every listener
checked to be on loopback.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from chalicelib.triggers.signing import sign_standard_webhooks
from devstack import bindings
from tests.e2e.stack.stack_process import Client, StackProcess
from tests.fakes.vendors.slack import DEFAULT_TOKEN, FakeSlack


@pytest.fixture(scope="module")
def stack():
    process = StackProcess()
    try:
        process.start()
        yield process
    finally:
        process.destroy()


def _flow(client: Client) -> dict:
    graph = {"nodes": [{"id": "start", "name": "start", "type": "start", "config": {}},
                       {"id": "end", "name": "end", "type": "end", "config": {}}],
             "edges": [{"from": "start", "to": "end"}]}
    flow = client.call("POST", f"/api/workspaces/{client.ws}/flows",
                       json={"title": f"restart {uuid.uuid4().hex[:6]}", "graph": graph})
    assert flow.status_code == 201, flow.text
    fid = flow.json()["id"]
    assert client.call("POST", f"/api/workspaces/{client.ws}/flows/{fid}/publish", json={}).status_code == 201
    patched = client.call("PATCH", f"/api/workspaces/{client.ws}/flows/{fid}",
                          json={"status": "production", "enabled": True})
    assert patched.status_code == 200, patched.text
    return patched.json()


def _signed_delivery(stack: StackProcess, trigger: dict, secret: str) -> httpx.Response:
    url = trigger["webhook"]["url"]
    body = json.dumps({"order": {"id": uuid.uuid4().hex}}).encode()
    headers = sign_standard_webhooks(body, secret, msg_id=f"msg_{uuid.uuid4().hex}", timestamp=int(time.time()))
    return httpx.post(stack.url + url[url.index("/webhooks/"):], content=body, timeout=30,
                      headers={"content-type": "application/json", **headers})


def test_connection_and_webhook_secrets_survive_kill_and_graceful_restarts(stack):
    with FakeSlack() as slack:
        client = Client(stack)
        # GIVEN a connection holding a secret and a webhook trigger with a signing secret, both sealed at rest
        created = client.call("POST", f"/api/workspaces/{client.ws}/connections",
                              json={"name": f"slack-{uuid.uuid4().hex[:6]}", "app_id": "builtin:slack",
                                    "settings": {"base_url": slack.base_url}, "secrets": {"token": DEFAULT_TOKEN}})
        assert created.status_code == 201, created.text
        connection = f"/api/workspaces/{client.ws}/connections/{created.json()['id']}/test"
        flow = _flow(client)
        trigger = client.call("POST", f"/api/workspaces/{client.ws}/flows/{flow['id']}/triggers",
                              json={"kind": "webhook", "name": "orders"}).json()
        secret = trigger["webhook"]["new_secret"]
        assert client.call("POST", connection).json()["ok"] is True
        assert _signed_delivery(stack, trigger, secret).status_code == 202
        client.close()
        for restart in ("kill -9", "graceful"):
            # WHEN the stack is restarted
            if restart == "kill -9":
                stack.kill()
            else:
                stack.stop()
            stack.start()
            client = Client(stack)
            # THEN the connection's secret still decrypts (the fake saw the token) …
            tested = client.call("POST", connection)
            assert tested.status_code == 200 and tested.json()["ok"] is True, (restart, tested.text)
            assert slack.requests[-1].headers.get("authorization") == f"Bearer {DEFAULT_TOKEN}"
            # … and a delivery signed with the secret shown before the restart is accepted
            delivered = _signed_delivery(stack, trigger, secret)
            assert delivered.status_code == 202, (restart, delivered.text)
            client.close()


RUNS = 8


def test_after_kill_9_every_interrupted_run_moves_again_within_seconds(stack):
    from tests.integration.engine.engine_harness import Loopback

    loopback = Loopback()
    client = Client(stack)
    try:
        graph = {"nodes": [{"id": "start", "name": "start", "type": "start", "config": {}},
                           {"id": "call", "name": "call", "type": "http_request",
                            "config": {"method": "POST", "url": loopback.url + "/block/crash", "timeout_seconds": 30,
                                       "retry": {"max_attempts": 1}}},
                           {"id": "end", "name": "end", "type": "end", "config": {}}],
                 "edges": [{"from": "start", "to": "call"}, {"from": "call", "to": "end"}]}
        flow = client.call("POST", f"/api/workspaces/{client.ws}/flows", json={"title": "crash", "graph": graph})
        assert flow.status_code == 201, flow.text
        runs = []
        for _ in range(RUNS):
            started = client.call("POST", f"/api/workspaces/{client.ws}/flows/{flow.json()['id']}/runs", json={})
            assert started.status_code == 202, started.text
            runs.append(started.json()["id"])
        keys = {f"{run_id}:call:1" for run_id in runs}
        # GIVEN every run's HTTP step in flight (held by the remote)
        deadline = time.monotonic() + 60
        while set(loopback.by_key) != keys and time.monotonic() < deadline:
            time.sleep(0.1)
        assert set(loopback.by_key) == keys, f"only {len(loopback.by_key)} of {RUNS} steps reached the remote"
        client.close()
        # WHEN the runtime is killed (kill -9) and started again
        stack.kill()
        loopback.release()
        restarted = time.monotonic()
        ready_after = stack.start()
        deadline = restarted + 60
        while any(loopback.by_key[k] < 2 for k in keys) and time.monotonic() < deadline:
            time.sleep(0.05)
        moving_after = time.monotonic() - restarted
        print(f"\nrecovery: {RUNS} interrupted runs; stack healthy {ready_after:.1f} s after the restart, "
              f"every run moving again {moving_after:.1f} s after it")
        # THEN every interrupted step was called again within seconds of the restart (not after its lease) …
        assert all(loopback.by_key[k] == 2 for k in keys), (dict(loopback.by_key), stack.tail())
        # (a step's lease here is 60 s: taken over by its lease, it would not move for a minute or more)
        assert moving_after - ready_after < 10.0
        # … exactly once more, with the same idempotency key, and every run completes
        client = Client(stack)
        deadline = time.monotonic() + 60
        statuses: dict[str, str] = {}
        while time.monotonic() < deadline:
            statuses = {r: client.call("GET", f"/api/workspaces/{client.ws}/runs/{r}").json()["status"] for r in runs}
            if all(s in ("success", "failed") for s in statuses.values()):
                break
            time.sleep(0.2)
        assert set(statuses.values()) == {"success"}, statuses
        assert all(loopback.by_key[k] == 2 for k in keys)
    finally:
        client.close()
        loopback.stop()


def test_reset_seed_and_migrate_beside_the_running_stack_leave_it_healthy(stack):
    # WHEN reset, seed and migrate run while the stack runs (as `make reset` … from another terminal)
    for command in ("reset", "seed", "migrate"):
        started = time.monotonic()
        done = stack.devstack(command)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert time.monotonic() - started < 60, command
        assert "Using the running PostgreSQL" in done.stdout or command == "migrate", done.stdout
    assert "already present" in stack.devstack("seed").stdout
    # THEN the stack is healthy and serves the reseeded demo data
    health = httpx.get(stack.url + "/health", timeout=10)
    assert health.status_code == 200, health.text
    client = Client(stack)
    try:
        assert client.call("GET", f"/api/workspaces/{client.ws}/flows").status_code == 200
    finally:
        client.close()
    # AND a second `up` of the same checkout refuses clearly instead of fighting over the ports
    second = stack.devstack("up", timeout=60)
    assert second.returncode == 1 and "already running" in second.stderr


def test_every_listener_of_the_stack_is_on_loopback(stack):
    assert stack.process is not None
    pids = [stack.process.pid, *stack.postgres_pids()]
    found = bindings.listeners(pids)
    # the HTTP API and PostgreSQL; no AWS emulator under `make up` (the queue is a table, the local key wraps)
    ports = {port for _, _, port in found}
    assert {stack.port, stack.pg_port} <= ports and stack.moto_port not in ports, found
    assert bindings.exposed(pids) == [], found


def test_switching_to_kms_rewraps_every_sealed_secret_and_they_still_work(stack, local_stack):
    import pg8000.native

    with FakeSlack() as slack:
        client = Client(stack)
        created = client.call("POST", f"/api/workspaces/{client.ws}/connections",
                              json={"name": f"slack-{uuid.uuid4().hex[:6]}", "app_id": "builtin:slack",
                                    "settings": {"base_url": slack.base_url}, "secrets": {"token": DEFAULT_TOKEN}})
        assert created.status_code == 201, created.text
        connection = f"/api/workspaces/{client.ws}/connections/{created.json()['id']}/test"
        flow = _flow(client)
        trigger = client.call("POST", f"/api/workspaces/{client.ws}/flows/{flow['id']}/triggers",
                              json={"kind": "webhook", "name": "switch"}).json()
        client.close()
        # WHEN the stack is restarted against an AWS endpoint (this session's emulator stands in for
        # LocalStack or AWS): its KMS key becomes the wrapping key
        stack.stop()
        stack.extra_env["AWS_ENDPOINT_URL"] = local_stack.env["AWS_ENDPOINT_URL"]
        try:
            stack.start()
            # THEN every record sealed under the local key was re-wrapped under KMS at start-up …
            postgres = pg8000.native.Connection("postgres", host="127.0.0.1", port=stack.cluster().running_port(),
                                                database="stepline")
            try:
                keks = {row[0] for row in postgres.run(
                    "SELECT secrets_envelope->>'kek' FROM connections WHERE secrets_envelope IS NOT NULL "
                    "UNION SELECT secret->>'kek' FROM triggers WHERE secret IS NOT NULL")}
            finally:
                postgres.close()
            assert keks == {"kms:alias/stepline-connections"}, keks
            assert "re-wrapped" in stack.tail()
            # … and the secrets still work
            client = Client(stack)
            assert client.call("POST", connection).json()["ok"] is True
            assert _signed_delivery(stack, trigger, trigger["webhook"]["new_secret"]).status_code == 202
            client.close()
        finally:
            stack.stop()
            del stack.extra_env["AWS_ENDPOINT_URL"]
            stack.start()
