"""Trigger figures: webhook ingest rate (accepted vs runs created), and webhook → first step latency.

Both drive the local runtime over HTTP with deliveries signed as Standard
Webhooks, on a workflow in production (start → transform → end). The runs are
executed by the runtime's pollers through the real step function.

- ``webhook_ingest_*``: many concurrent senders, as fast as they can; every
  202 must have produced a run (``lost`` counts the ones that did not).
- ``webhook_first_step_*``: a steady rate; the time from sending the delivery
  to the run's start step being claimed by the step function.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text

from bench.harness import figure, summary

INGEST_TOTAL = 1500
INGEST_CLIENTS = 16
LATENCY_RATE = 20.0  # deliveries per second
LATENCY_COUNT = 150


@dataclass(frozen=True)
class BenchActor:
    """The principal the bench acts as (audited as the system)."""

    tenant_id: str
    user_id: str | None = None
    actor_id: str | None = None
    kind: str = "system"


@dataclass(frozen=True)
class Target:
    tenant_id: str
    flow_id: str
    path: str
    secret: str


def _graph() -> dict[str, Any]:
    return {"nodes": [{"id": "start", "name": "start", "type": "start"},
                      {"id": "shape", "name": "shape", "type": "transform",
                       "config": {"output": {"seen": True}, "mode": "merge"}},
                      {"id": "end", "name": "end", "type": "end"}],
            "edges": [{"from": "start", "to": "shape"}, {"from": "shape", "to": "end"}]}


def _setup() -> Target:
    """A bench tenant with a production workflow and a webhook trigger; limits out of the way."""
    from chalicelib.db.uow import system_uow, tenant_uow
    from chalicelib.services.triggers import manage, settings
    from chalicelib.services.triggers.models import TriggerBody
    from chalicelib.services.workflows import definitions
    from chalicelib.tables.workflows import workflows as workflows_table

    unlimited = {"capacity": 1_000_000, "refill_per_second": 1_000_000}
    settings.configure(backpressure={"max_concurrent_runs": 10_000, "max_runs_per_hour": 10_000_000,
                                     "webhook_rate_limit": unlimited})
    tenant_id, ws, flow_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    with system_uow() as uow:
        uow.execute(text("INSERT INTO tenants (id, name, slug) VALUES (CAST(:t AS uuid), 'Bench', :slug)"),
                    {"t": tenant_id, "slug": f"bench-{tenant_id[:8]}"})
        uow.set_tenant(tenant_id)
        uow.execute(text("INSERT INTO workspaces (id, tenant_id, name) VALUES (CAST(:w AS uuid), "
                         "CAST(:t AS uuid), 'Bench')"), {"w": ws, "t": tenant_id})
        uow.commit()
    with tenant_uow(tenant_id) as uow:
        uow.execute(workflows_table.insert().values(
            id=flow_id, tenant_id=tenant_id, workspace_id=ws, title="webhook bench", graph=_graph(),
            status="production", enabled=True))
        uow.commit()
    actor = BenchActor(tenant_id)
    definitions.publish(actor, ws, flow_id)
    trigger = manage.create(actor, ws, flow_id, TriggerBody(kind="webhook", name="bench"))
    hook = trigger["webhook"]
    return Target(tenant_id, flow_id, f"/webhooks/{ws}/{hook['path']}", hook["new_secret"])


def _signed(target: Target, n: int) -> tuple[bytes, dict[str, str]]:
    from chalicelib.triggers.signing import sign_standard_webhooks

    body = b'{"order": {"id": %d, "total": 42}}' % n
    headers = sign_standard_webhooks(body, target.secret, msg_id=f"msg_{uuid.uuid4().hex}",
                                     timestamp=int(time.time()))
    return body, {"content-type": "application/json", **headers}


def _count(tenant_id: str, sql: str, **params: Any) -> int:
    from chalicelib.db.uow import tenant_uow

    with tenant_uow(tenant_id) as uow:
        return int(uow.execute(text(sql), params).scalar() or 0)


def _wait_idle(target: Target, timeout: float = 120.0) -> None:
    """Until the runs already started have finished (so one figure does not slow the next)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _count(target.tenant_id, "SELECT count(*) FROM runs WHERE workflow_id = CAST(:f AS uuid) "
                                         "AND status = 'running'", f=target.flow_id):
            return
        time.sleep(0.2)


def ingest(base_url: str, target: Target, *, total: int = INGEST_TOTAL,
           clients: int = INGEST_CLIENTS) -> None:
    """Concurrent senders as fast as they can; accepted deliveries vs runs created."""
    requests = [_signed(target, n) for n in range(total)]
    before = _count(target.tenant_id, "SELECT count(*) FROM runs WHERE workflow_id = CAST(:f AS uuid)",
                    f=target.flow_id)
    accepted: list[str] = []
    refused: Counter[int] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    cursor = iter(range(total))

    def sender() -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while True:
                with lock:
                    n = next(cursor, None)
                if n is None:
                    return
                body, headers = requests[n]
                started = time.perf_counter()
                reply = client.post(target.path, content=body, headers=headers)
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    if reply.status_code == 202:
                        accepted.append(reply.json()["run_id"])
                    else:
                        refused[reply.status_code] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=sender) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    created = _count(target.tenant_id, "SELECT count(*) FROM runs WHERE workflow_id = CAST(:f AS uuid)",
                     f=target.flow_id) - before
    figure("webhook_ingest_rate", len(accepted) / elapsed, "req/s")
    figure("webhook_ingest_sent", total, "deliveries")
    figure("webhook_ingest_accepted", len(accepted), "deliveries")
    figure("webhook_ingest_refused", sum(refused.values()), "deliveries")
    figure("webhook_ingest_runs_created", created, "runs")
    figure("webhook_ingest_lost", len(accepted) - created, "runs")
    summary(f"webhook_ingest_response_{clients}_clients", latencies)


def first_step_latency(base_url: str, target: Target, *, rate: float = LATENCY_RATE,
                       count: int = LATENCY_COUNT) -> None:
    """A steady rate of deliveries; time from sending to the start step being claimed."""
    sent: dict[str, float] = {}
    interval = 1.0 / rate
    with httpx.Client(base_url=base_url, timeout=30) as client:
        began = time.monotonic()
        for n in range(count):
            body, headers = _signed(target, 1_000_000 + n)
            at = time.time()
            reply = client.post(target.path, content=body, headers=headers)
            if reply.status_code == 202:
                sent[reply.json()["run_id"]] = at
            pause = began + (n + 1) * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    deadline = time.monotonic() + 60
    entered: dict[str, float] = {}
    from chalicelib.db.uow import tenant_uow

    while time.monotonic() < deadline and len(entered) < len(sent):
        with tenant_uow(target.tenant_id) as uow:
            rows = uow.execute(text(
                "SELECT run_id::text, extract(epoch FROM min(started_at)) FROM step_runs "
                "WHERE run_id = ANY(CAST(:ids AS uuid[])) AND started_at IS NOT NULL GROUP BY run_id"),
                {"ids": list(sent)}).all()
        entered = {run_id: float(epoch) for run_id, epoch in rows}
        time.sleep(0.1)
    latencies = [(entered[run_id] - at) * 1000 for run_id, at in sent.items() if run_id in entered]
    figure("webhook_first_step_rate", rate, "req/s")
    figure("webhook_first_step_missing", len(sent) - len(entered), "runs")
    summary("webhook_first_step", latencies)


def sequential(base_url: str, target: Target, *, count: int = 100) -> None:
    """One sender, one delivery at a time: the cost of accepting one delivery (run started inside)."""
    latencies = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for n in range(count):
            body, headers = _signed(target, 2_000_000 + n)
            started = time.perf_counter()
            client.post(target.path, content=body, headers=headers).raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
    summary("webhook_accept_sequential", latencies)


def run_all(base_url: str) -> None:
    target = _setup()
    sequential(base_url, target)
    _wait_idle(target)
    first_step_latency(base_url, target)
    _wait_idle(target)
    ingest(base_url, target)
    _wait_idle(target)
