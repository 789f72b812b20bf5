"""A step claimed by a worker that died is taken over at once, not after its lease.

Registered runtime workers beat; one that stopped beating, or whose process
on this host is gone, is dead, and the sweeper (and a runtime at start-up)
queues its running steps again — the same attempt, so the same idempotency
key. A live worker's steps and an unregistered (Lambda) worker's steps are
left to their leases.
"""

from __future__ import annotations

import socket
import subprocess
import uuid

import pytest
from sqlalchemy import text

from chalicelib.db.uow import system_uow, tenant_uow
from chalicelib.services.workflows import runner, sweeper, workers
from chalicelib.services.workflows.sweeper import sweep
from tests.integration.engine.engine_harness import edge, events, node, queued_steps, steps_by_node


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _register(worker_id: str, *, host: str, pid: int, silent_for: float = 0.0) -> None:
    with system_uow() as uow:
        uow.execute(text("INSERT INTO runtime_workers (id, host, pid, heartbeat_at) "
                         "VALUES (CAST(:id AS uuid), :host, :pid, now() - make_interval(secs => :s))"),
                    {"id": worker_id, "host": host, "pid": pid, "s": silent_for})
        uow.commit()


def _running_call(acme, make_flow, start, loopback) -> tuple[str, str]:
    """A run whose HTTP step is claimed (running, lease of ~30 s) by this process."""
    graph = {"nodes": [node("start", "start"),
                       node("call", "http_request", method="POST", url=loopback.url + "/echo", timeout_seconds=30),
                       node("end", "end")],
             "edges": [edge("start", "call"), edge("call", "end")]}
    run = start(make_flow(graph)["id"])
    tenant = acme["tenant_id"]
    for step_id, _ in queued_steps(tenant, run["id"]):
        runner.process_step(tenant, step_id, inline_steps=0)
    (call_id, _), = queued_steps(tenant, run["id"])
    assert runner.claim(tenant, call_id) is not None
    return run["id"], call_id


def _claim_as(tenant_id: str, step_id: str, worker_id: str) -> None:
    with tenant_uow(tenant_id) as uow:
        uow.execute(text("UPDATE step_runs SET claimed_by = CAST(:w AS uuid) WHERE id = CAST(:s AS uuid)"),
                    {"w": worker_id, "s": step_id})
        uow.commit()


@pytest.mark.parametrize(("case", "taken_over"), [
    ("process gone on this host", True),
    ("silent elsewhere", True),
    ("beating elsewhere", False),
    ("never registered (Lambda)", False),
])
def test_a_dead_workers_step_is_taken_over_at_once(case, taken_over, acme, make_flow, start, loopback,
                                                   memory_queue):
    tenant = acme["tenant_id"]
    run_id, step_id = _running_call(acme, make_flow, start, loopback)
    worker = str(uuid.uuid4())
    if case == "process gone on this host":
        _register(worker, host=socket.gethostname(), pid=_dead_pid())
    elif case == "silent elsewhere":
        _register(worker, host="another-host", pid=1, silent_for=3600)
    elif case == "beating elsewhere":
        _register(worker, host="another-host", pid=1)
    _claim_as(tenant, step_id, worker)
    memory_queue.sent.clear()
    # WHEN the sweeper runs (long before the step's lease expires)
    sweep()
    step = steps_by_node(tenant, run_id)["call"][0]
    if taken_over:
        # THEN the same attempt is queued again, its doorbell rung, the take-over recorded
        assert (step["attempt"], step["status"], step["reclaims"]) == (1, "queued", 1)
        assert {"tenant_id": tenant, "run_id": run_id, "step_id": step_id} in [
            {k: body[k] for k in ("tenant_id", "run_id", "step_id")} for body, _ in memory_queue.sent]
        requeued = [e for e in events(tenant, run_id) if e["type"] == "step.requeued"]
        assert [e["data"]["reason"] for e in requeued] == ["worker_lost"]
        # AND the dead worker is forgotten once it holds nothing; a second sweep changes nothing
        with system_uow() as uow:
            assert uow.execute(text("SELECT count(*) FROM runtime_workers WHERE id = CAST(:w AS uuid)"),
                               {"w": worker}).scalar() == 0
        sweep()
        assert steps_by_node(tenant, run_id)["call"][0]["reclaims"] == 1
        # AND the run completes with the one repeated call under the same idempotency key
        loopback.reset()
        runner.process_step(tenant, step_id)
        assert [c["key"] for c in loopback.calls] == [f"{run_id}:call:1"]
    else:
        assert (step["status"], step["reclaims"]) == ("running", 0)


def test_recovery_at_start_registers_takes_over_and_rings_every_due_queued_step(acme, make_flow, start, loopback,
                                                                                 memory_queue):
    tenant = acme["tenant_id"]
    run_id, step_id = _running_call(acme, make_flow, start, loopback)
    dead = str(uuid.uuid4())
    _register(dead, host=socket.gethostname(), pid=_dead_pid())
    _claim_as(tenant, step_id, dead)
    waiting = start(make_flow({"nodes": [node("start", "start"), node("end", "end")],
                               "edges": [edge("start", "end")]})["id"])
    memory_queue.sent.clear()
    try:
        report = sweeper.recover()
        rung = {body["step_id"] for body, _ in memory_queue.sent}
        assert report["requeued"] >= 1 and step_id in rung
        assert {s for s, _ in queued_steps(tenant, waiting["id"])} <= rung
        with system_uow() as uow:
            assert uow.execute(text("SELECT count(*) FROM runtime_workers WHERE id = CAST(:w AS uuid)"),
                               {"w": workers.worker_id()}).scalar() == 1
    finally:
        workers.unregister()
