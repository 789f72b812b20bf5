"""Run one vendor fake on its own, for the console's browser tests: ``python -m tests.fakes.vendors.serve httpbin``.

Prints ``READY <base_url>`` once listening on loopback (``oauth``: the authorization
server, ``/authorize`` and ``/token`` under that URL, accepting ``fake-client-id``), and
serves until the process is terminated.
"""

from __future__ import annotations

import signal
import sys
import threading

from tests.fakes.vendors.base import FakeVendorServer
from tests.fakes.vendors.httpbin import FakeHttpBin
from tests.fakes.vendors.oauth_server import FakeOAuthServer

FAKES: dict[str, type[FakeVendorServer]] = {"httpbin": FakeHttpBin, "oauth": FakeOAuthServer}


def main(argv: list[str]) -> int:
    name = argv[0] if argv else "httpbin"
    if name not in FAKES:
        print(f"unknown fake {name!r}; one of {sorted(FAKES)}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FAKES[name]() as fake:
        print(f"READY {fake.base_url}", flush=True)
        try:
            while not stop.wait(0.2):  # a timed wait, so the signal handler always gets to run
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
