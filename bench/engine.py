"""Engine figures: per-step overhead of a 40-step no-op chain, and no-op steps/s under many runs.

Runs against the local stack with the runtime's pollers running (the real
step function, the emulated SQS queue, PostgreSQL). Each figure is printed
as ``name: value unit``. Besides the targets it prints where the time goes:
the emulator's cost per SQS call and the database's per round trip, and the
chain again with every step through the queue (no inline continuation).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.harness import figure, percentile

ROOT = Path(__file__).resolve().parent.parent
WORKER_PROCESSES = int(os.environ.get("BENCH_ENGINE_WORKER_PROCESSES", "2"))

# EMF documents go to stdout on Lambda; here they would interleave with the figures.
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
# The engine is measured, not the tenant's admission: runs started here are not held to its limits.
os.environ.setdefault("TRIGGERS_MAX_CONCURRENT_RUNS", "10000")
os.environ.setdefault("TRIGGERS_MAX_RUNS_PER_HOUR", "10000000")


def _graph(steps: int) -> dict[str, Any]:
    nodes = [{"id": "start", "name": "start", "type": "start"}]
    nodes += [{"id": f"t{i}", "name": f"t{i}", "type": "transform", "config": {"output": {"n": i}, "mode": "merge"}}
              for i in range(1, steps + 1)]
    nodes.append({"id": "end", "name": "end", "type": "end"})
    ids = [n["id"] for n in nodes]
    return {"nodes": nodes, "edges": [{"from": a, "to": b} for a, b in zip(ids, ids[1:], strict=False)]}


def _tenant() -> tuple[str, str]:
    """A bench tenant and workspace, made directly (no demo users: their password hashing is not the point)."""
    from chalicelib.db.uow import system_uow

    tenant_id, ws = str(uuid.uuid4()), str(uuid.uuid4())
    with system_uow() as uow:
        uow.execute(text("INSERT INTO tenants (id, name, slug) VALUES (CAST(:t AS uuid), 'Bench', :slug)"),
                    {"t": tenant_id, "slug": f"bench-{tenant_id[:8]}"})
        uow.set_tenant(tenant_id)
        uow.execute(text("INSERT INTO workspaces (id, tenant_id, name) VALUES (CAST(:w AS uuid), CAST(:t AS uuid), "
                         "'Bench')"), {"w": ws, "t": tenant_id})
        uow.commit()
    return tenant_id, ws


def _flow(tenant_id: str, ws: str, steps: int) -> str:
    from chalicelib.db.uow import tenant_uow
    from chalicelib.tables.workflows import workflows

    flow_id = str(uuid.uuid4())
    with tenant_uow(tenant_id) as uow:
        uow.execute(workflows.insert().values(id=flow_id, tenant_id=tenant_id, workspace_id=ws,
                                              title=f"chain of {steps}", graph=_graph(steps)))
        uow.commit()
    return flow_id


def _wait_all(tenant_id: str, run_ids: list[str], timeout: float, poll: float = 0.002) -> None:
    from chalicelib.db.uow import tenant_uow

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with tenant_uow(tenant_id) as uow:
            left = uow.execute(text("SELECT count(*) FROM runs WHERE id = ANY(CAST(:ids AS uuid[])) "
                                    "AND status = 'running'"), {"ids": run_ids}).scalar()
        if not left:
            return
        time.sleep(poll)
    raise TimeoutError(f"{left} run(s) still running after {timeout} s")


def _step_count(tenant_id: str, run_id: str) -> int:
    """How many steps the run executed (its step rows)."""
    from chalicelib.db.uow import tenant_uow

    with tenant_uow(tenant_id) as uow:
        return int(uow.execute(text("SELECT count(*) FROM step_runs WHERE run_id = CAST(:r AS uuid)"),
                               {"r": run_id}).scalar_one())


def chain(tenant_id: str, flow_id: str, ws: str, *, runs: int = 6, prefix: str = "engine_chain40") -> None:
    from chalicelib.services.workflows.runs import start_run

    intervals: list[float] = []
    totals: list[float] = []
    for index in range(runs + 1):
        started = time.perf_counter()
        run = start_run(tenant_id, ws, flow_id, mode="test", input={"i": index})
        _wait_all(tenant_id, [run["id"]], 60)
        elapsed = (time.perf_counter() - started) * 1000
        if index == 0:
            continue  # warm-up: graph parse, connections, clients
        totals.append(elapsed)
        # a run's wall time over its steps: steps of one pure segment share a transaction and its start
        # time, so gaps between step start times would read 0 for them
        intervals.append(elapsed / max(1, _step_count(tenant_id, run["id"])))
    figure(f"{prefix}_step_p50", percentile(intervals, 50), "ms")
    figure(f"{prefix}_step_p95", percentile(intervals, 95), "ms")
    figure(f"{prefix}_total_p50", percentile(totals, 50), "ms")


@contextlib.contextmanager
def extra_workers(processes: int, threads: int = 2) -> Iterator[None]:
    """More step-function processes on the same queue (Lambda scales out by processes)."""
    children = []
    try:
        for _ in range(processes):
            child = subprocess.Popen([sys.executable, "-m", "bench.engine_worker", str(threads)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
            children.append(child)
        for child in children:
            child.stdout.readline()  # "ready"
        yield
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=40)
            except subprocess.TimeoutExpired:
                child.kill()


def throughput(tenant_id: str, flow_id: str, ws: str, *, runs: int = 80, steps_per_run: int = 22,
               name: str = "engine_noop_steps_per_s") -> None:
    """Many concurrent runs started at once; no-op steps per second until the last one ends."""
    from chalicelib.services.workflows.runs import start_run

    run_ids: list[str] = []
    lock = threading.Lock()
    started = time.perf_counter()

    def starter(count: int) -> None:
        for _ in range(count):
            run = start_run(tenant_id, ws, flow_id, mode="test", input={})
            with lock:
                run_ids.append(run["id"])

    threads = [threading.Thread(target=starter, args=(runs // 4,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _wait_all(tenant_id, run_ids, 180, poll=0.05)
    elapsed = time.perf_counter() - started
    figure(name, len(run_ids) * steps_per_run / elapsed, "steps/s")


def costs(sqs: Any) -> None:
    """Where the time goes: one emulated SQS call, one database round trip, one unit of work."""
    from chalicelib.db.uow import system_uow

    probe_url = sqs.create_queue(QueueName=f"bench-probe-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sends = []
    for _ in range(30):
        began = time.perf_counter()
        sqs.send_message(QueueUrl=probe_url, MessageBody="{}")
        sends.append((time.perf_counter() - began) * 1000)
    sqs.delete_queue(QueueUrl=probe_url)
    figure("sqs_send_call_p50", percentile(sends, 50), "ms")
    trips, units = [], []
    for _ in range(200):
        began = time.perf_counter()
        with system_uow() as uow:
            mid = time.perf_counter()
            uow.execute(text("SELECT 1"))
            trips.append((time.perf_counter() - mid) * 1000)
        units.append((time.perf_counter() - began) * 1000)
    figure("db_round_trip_p50", percentile(trips, 50), "ms")
    figure("db_unit_of_work_p50", percentile(units, 50), "ms")


def run_all(sqs: Any) -> None:
    from chalicelib.services.workflows import settings

    tenant_id, ws = _tenant()
    chain_flow = _flow(tenant_id, ws, 40)
    chain(tenant_id, chain_flow, ws)
    wide = _flow(tenant_id, ws, 20)
    throughput(tenant_id, wide, ws, name="engine_noop_steps_per_s_1_process")
    with extra_workers(WORKER_PROCESSES):
        throughput(tenant_id, wide, ws, name=f"engine_noop_steps_per_s_{WORKER_PROCESSES + 1}_processes")
    settings.configure(inline_steps=0)
    try:
        chain(tenant_id, chain_flow, ws, runs=3, prefix="engine_chain40_queue_only")
    finally:
        settings.reset()
    costs(sqs)
