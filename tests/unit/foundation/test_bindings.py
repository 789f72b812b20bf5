"""The loopback check reads a process's listeners from /proc and flags any reachable from outside."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from devstack import bindings

LISTENER = textwrap.dedent("""
    import socket, sys, time
    s = socket.socket(); s.bind((sys.argv[1], 0)); s.listen(); print(s.getsockname()[1], flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize(("host", "exposed"), [("127.0.0.1", False), ("0.0.0.0", True)])
def test_a_listener_beyond_loopback_is_flagged(host, exposed):
    child = subprocess.Popen([sys.executable, "-c", LISTENER, host], stdout=subprocess.PIPE, text=True)
    try:
        port = int(child.stdout.readline())
        assert ("tcp", host, port) in bindings.listeners([child.pid])
        assert bool(bindings.exposed([child.pid])) is exposed
        assert bindings.main([str(child.pid)]) == (1 if exposed else 0)
    finally:
        child.kill()
        child.wait(10)


def test_a_connected_client_socket_is_not_a_listener():
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(server.getsockname()) as client:
        ports = {port for _, _, port in bindings.listeners([os.getpid()])}
        assert server.getsockname()[1] in ports
        assert client.getsockname()[1] not in ports
