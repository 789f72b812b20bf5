"""``python -m devstack.worker``: a step-worker process of the local runtime (its queue pollers only).

Started by ``LocalRuntime(worker_processes=N)``; the environment (database, emulator,
queue) comes from the parent. It registers as a worker that beats (so a restart takes
over its steps at once if it is killed), prints ``ready`` once polling, and stops —
finishing the batches in hand — when its stdin closes (the parent stopped or died).
"""

from __future__ import annotations

import argparse
import os
import sys

# Idle pollers of `make up` ask the emulator every this many seconds instead of every second (a stop waits as
# long): each empty receive costs a few ms of CPU in botocore and in the emulator.
POLL_WAIT_SECONDS = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.worker")
    parser.add_argument("--endpoint-url")
    parser.add_argument("--region", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--app", default="app")
    args = parser.parse_args(argv)
    from devstack.runtime import LocalRuntime

    runtime = LocalRuntime(endpoint_url=args.endpoint_url, region=args.region, serve_http=False,
                           workers=args.workers, app_module_name=args.app, schedules=False, take_over=False,
                           poll_wait_seconds=POLL_WAIT_SECONDS)
    runtime.start()
    print("ready", flush=True)
    # From now on what this process prints (its log) goes where the parent's goes: the pipe that carried
    # "ready" is read no more, and a full pipe would block the process on its next log line.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        sys.stdin.buffer.read()  # until the parent closes it (or dies)
    finally:
        runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
