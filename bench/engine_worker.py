"""``python -m bench.engine_worker N``: one more step-function process polling the step queue.

On AWS every concurrent step invocation is its own process; the local
runtime runs its pollers as threads of one process, where the interpreter
lock caps throughput near one core. The throughput benchmark adds processes
like this one (environment from the parent: database, emulator, queue).
"""

from __future__ import annotations

import os
import signal
import sys
import threading


def main() -> int:
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from devstack.runtime import LocalRuntime

    runtime = LocalRuntime(endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
                           region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"), serve_http=False,
                           workers=workers).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
