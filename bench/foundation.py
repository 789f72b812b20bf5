"""API and queue figures: GET /health latency under concurrent clients, queue round trip."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx

from bench.harness import figure, summary
from chalicelib.services import heartbeats


def _load(base_url: str, name: str, path: str, *, clients: int, requests_per_client: int,
          headers: dict[str, str] | None = None) -> None:
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=base_url, timeout=10, headers=headers) as client:
            for _ in range(requests_per_client):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    summary(f"{name}_{clients}_clients", latencies)
    figure(f"{name}_throughput", len(latencies) / elapsed, "req/s")


def api_health(base_url: str, *, clients: int = 8, requests_per_client: int = 50) -> None:
    """GET /health: a database round trip and an SQS call per request."""
    _load(base_url, "api_health", "/health", clients=clients, requests_per_client=requests_per_client)


def api_authenticated_read(base_url: str, *, clients: int = 8, requests_per_client: int = 50) -> None:
    """GET /api/workspaces as a demo owner: token check + tenant-scoped query (API read p95 target < 300 ms)."""
    from chalicelib.services import demo

    demo.seed_if_empty()
    login = httpx.post(base_url + "/auth/login", json={"email": demo.demo_email("owner", "acme"),
                                                       "password": demo.DEMO_PASSWORD}, timeout=10)
    login.raise_for_status()
    headers = {"authorization": f"Bearer {login.json()['access_token']}"}
    _load(base_url, "api_read_workspaces", "/api/workspaces", clients=clients,
          requests_per_client=requests_per_client, headers=headers)


def queue_round_trip(sqs, queue_url: str, *, count: int = 30) -> None:
    """Send a probe, wait for the step function to record it: SQS + poller + handler + PostgreSQL."""
    latencies: list[float] = []
    for _ in range(count):
        probe = uuid.uuid4().hex
        started = time.perf_counter()
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"kind": "probe", "probe_id": probe}))
        deadline = started + 10
        while heartbeats.read(f"probe:{probe}") is None and time.perf_counter() < deadline:
            time.sleep(0.002)
        latencies.append((time.perf_counter() - started) * 1000)
    summary("queue_round_trip", latencies)
