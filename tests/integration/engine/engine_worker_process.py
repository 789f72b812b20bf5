"""A step-function worker in its own process (for the crash test): the local runtime's SQS poller only.

Run as ``python engine_worker_process.py``; prints ``ready`` once polling. The
environment (database, emulator, queue, ``ENGINE_*``) comes from the parent.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))


def main() -> None:
    from devstack.runtime import LocalRuntime

    LocalRuntime(endpoint_url=os.environ["AWS_ENDPOINT_URL"], region=os.environ["AWS_DEFAULT_REGION"],
                 serve_http=False, workers=1).start()
    print("ready", flush=True)
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    main()
