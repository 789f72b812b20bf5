"""The scheduled tick is fired by the local runtime at its (sped-up) rate."""

import time

from chalicelib import bootstrap
from chalicelib.services import heartbeats
from devstack.runtime import LocalRuntime


def test_schedule_handler_fires_and_runs_registered_jobs(local_stack):
    # GIVEN a housekeeping job and the runtime with the 1-minute rate sped up 240× (0.25 s)
    runs: list[float] = []
    jobs = {**bootstrap.container().tick_jobs, "test_job": lambda: runs.append(time.monotonic())}
    before = (heartbeats.read("tick") or {"count": 0})["count"]
    with bootstrap.replaced(tick_jobs=jobs):
        runtime = LocalRuntime(endpoint_url=local_stack.env["AWS_ENDPOINT_URL"],
                               region=local_stack.env["AWS_DEFAULT_REGION"], serve_http=False, workers=1,
                               schedule_speedup=240.0).start()
        try:
            deadline = time.monotonic() + 15
            while len(runs) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            runtime.stop()
    # THEN the tick fired repeatedly, ran the job, and recorded its heartbeat
    assert len(runs) >= 2
    assert runtime.scheduler.fired["tick"] >= 2
    assert heartbeats.read("tick")["count"] >= before + 2
