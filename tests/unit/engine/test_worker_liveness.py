"""A registered worker on this host is dead once its process ended, reaped or not."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from chalicelib.services.workflows import workers


def test_a_running_process_is_alive_and_an_ended_one_is_gone_even_before_it_is_reaped():
    # GIVEN a child process that ends and is not reaped yet (a zombie, as a killed stack's worker can be)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{child.pid}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    try:
        # THEN it counts as gone, while this process counts as alive
        assert workers._process_gone(child.pid)
        assert not workers._process_gone(os.getpid())
    finally:
        child.wait()
    # AND once reaped it is gone too
    assert workers._process_gone(child.pid)
