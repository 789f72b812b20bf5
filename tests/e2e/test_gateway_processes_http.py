"""The API served by a pool of processes (``make up``'s default): each process serves, and they share the limits."""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager

import httpx
import pytest

from devstack.gateway import GatewayProcesses
from devstack.postgres import free_port

BURST = 4


@pytest.fixture(scope="module")
def pool(local_stack):
    # The pool's processes read their limits from the environment they start with: a small API burst.
    saved = {name: os.environ.get(name) for name in ("LIMITS_API_BURST", "LIMITS_API_PER_SECOND")}
    os.environ.update({"LIMITS_API_BURST": str(BURST), "LIMITS_API_PER_SECOND": "0.001"})
    try:
        gateway = GatewayProcesses(2, port=free_port()).start()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    yield gateway
    gateway.stop()


@contextmanager
def only_serving(pool, pid):
    """Every process of the pool but ``pid`` is stopped (SIGSTOP) inside the block: ``pid`` accepts alone."""
    others = [other for other in pool.pids if other != pid]
    for other in others:
        os.kill(other, signal.SIGSTOP)
    try:
        yield
    finally:
        for other in others:
            os.kill(other, signal.SIGCONT)


def _get(pool, path, token):
    # a new connection each time, so any process of the pool may accept it
    return httpx.get(pool.url + path, headers={"authorization": f"Bearer {token}", "connection": "close"}, timeout=20)


def test_the_pool_serves_from_several_processes_that_share_the_rate_limit(pool, api, tokens):
    # GIVEN a pool of two processes, and a fresh API token (its own bucket of BURST requests)
    assert len(pool.pids) == 2 and len(set(pool.pids)) == 2
    created = api.post("/api/api-tokens", {"name": "pool", "role": "viewer", "workspace_ids": []},
                       token=tokens[("acme", "admin")])
    assert created.status == 201, created.body
    secret = created.body["token"]
    answers = []
    # WHEN half the burst is sent while only the first process accepts, and half while only the second does
    for pid in pool.pids:
        with only_serving(pool, pid):
            answers += [_get(pool, "/api/workspaces", secret) for _ in range(BURST // 2)]
    # THEN each process answered its share
    assert [a.status_code for a in answers] == [200] * BURST, [a.text for a in answers]
    # AND the bucket they spent was one: the next request, whichever process takes it, is refused
    refused = _get(pool, "/api/workspaces", secret)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["RateLimit-Policy"] == f'"api";q={BURST};w={BURST * 1000}'


def test_the_pool_answers_in_the_error_shape_and_keeps_connections_alive(pool):
    with httpx.Client(base_url=pool.url, timeout=20) as client:
        assert client.get("/health").status_code == 200
        missing = client.get("/nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "route_not_found"
        assert client.get("/health").status_code == 200  # the same connection


def test_a_port_in_use_fails_the_start(pool):
    with pytest.raises(RuntimeError, match="did not start"):
        GatewayProcesses(1, port=pool.port).start()


def test_stopping_the_pool_ends_its_processes(local_stack):
    gateway = GatewayProcesses(1, port=free_port()).start()
    (pid,) = gateway.pids
    assert httpx.get(gateway.url + "/health", timeout=20).status_code == 200
    gateway.stop()
    with pytest.raises(ProcessLookupError):  # gone (and reaped) within five seconds
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
