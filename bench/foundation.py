"""API and queue figures: GET /health latency under concurrent clients, queue round trip."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx

from bench.harness import figure, summary
from chalicelib.services import heartbeats


def api_health(base_url: str, *, clients: int = 8, requests_per_client: int = 50) -> None:
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            for _ in range(requests_per_client):
                started = time.perf_counter()
                client.get("/health").raise_for_status()
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    summary(f"api_health_{clients}_clients", latencies)
    figure("api_health_throughput", len(latencies) / elapsed, "req/s")


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
