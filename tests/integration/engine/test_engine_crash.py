"""A worker process killed (SIGKILL) in the middle of a step: after a restart and a sweep the run completes,
with no step lost and none completed twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from chalicelib.services.workflows.sweeper import sweep
from tests.integration.engine.engine_harness import edge, node, run_status, steps_by_node, wait_for

WORKER = Path(__file__).with_name("engine_worker_process.py")


@pytest.fixture
def memory_queue(sqs):
    """The name of a queue of this test's own (real, emulated) with real worker processes on it.

    Its own, so the message the killed worker held in flight dies with it and
    never reaches another test's queue.
    """
    from chalicelib import bootstrap
    from chalicelib.adapters.queue import SqsStepQueue

    name = f"stepline-crash-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    with bootstrap.replaced(step_queue=SqsStepQueue(sqs, name)):
        yield name
    sqs.delete_queue(QueueUrl=url)


def _worker(queue_name: str) -> subprocess.Popen:
    env = {**os.environ, "STEP_QUEUE_NAME": queue_name, "ENGINE_LEASE_GRACE_SECONDS": "0.5",
           "LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
    child = subprocess.Popen([sys.executable, str(WORKER)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, env=env)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def _stop(child: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Kill a worker and close its pipe (an open pipe of a dead child is a leaked file)."""
    if child.poll() is None:
        os.kill(child.pid, sig)
    child.wait(10)
    if child.stdout is not None:
        child.stdout.close()


def test_a_killed_worker_loses_no_step_and_runs_none_twice(acme, make_flow, start, loopback, memory_queue):
    graph = {"nodes": [node("start", "start"),
                       node("call", "http_request", method="POST", url=loopback.url + "/block/crash",
                            timeout_seconds=2, retry={"max_attempts": 1}),
                       node("after", "transform", output={"after": True}), node("end", "end")],
             "edges": [edge("start", "call"), edge("call", "after"), edge("after", "end")]}
    flow = make_flow(graph)
    loopback.reset()
    worker = _worker(memory_queue)
    try:
        # GIVEN a run whose HTTP step is in flight in the worker process
        run = start(flow["id"])
        assert loopback.blocked.wait(20), "the step never reached the endpoint"
        # WHEN the worker is killed mid-step and a new one starts
        _stop(worker)
        loopback.release()
        worker = _worker(memory_queue)
        # THEN once the lease has expired the sweeper hands the step to the new worker and the run completes
        def finished() -> bool:
            sweep()
            return run_status(acme["tenant_id"], run["id"]) != "running"

        assert wait_for(finished, timeout=30, interval=0.5)
    finally:
        _stop(worker)
    assert run_status(acme["tenant_id"], run["id"]) == "success"
    steps = steps_by_node(acme["tenant_id"], run["id"])
    # every node ran to success exactly once; the interrupted attempt was taken over, not duplicated
    assert {n: [(s["attempt"], s["status"]) for s in attempts] for n, attempts in steps.items()} == {
        "start": [(1, "success")], "call": [(1, "success")], "after": [(1, "success")], "end": [(1, "success")]}
    assert steps["call"][0]["reclaims"] == 1
    # the remote saw the interrupted call and its repeat under one idempotency key
    keys = [c["key"] for c in loopback.calls if c["path"] == "/block/crash"]
    assert keys == [f"{run['id']}:call:1", f"{run['id']}:call:1"]
