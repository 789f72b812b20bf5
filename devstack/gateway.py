"""A multi-threaded HTTP server in front of the Chalice routes (and the console's files).

Built on Chalice's own ``LocalGateway`` so views see API Gateway-shaped events.
Unlike ``chalice local`` it writes each response in one send with
``TCP_NODELAY`` (no 40 ms Nagle/delayed-ACK stall for keep-alive clients) and
serves every connection on its own thread. Given a :class:`ConsoleFiles`, it
serves the web console at ``/`` for every GET outside the API's paths (same
origin as the API, as CloudFront does on AWS).

:class:`GatewayServer` serves in the calling process (the tests, the benchmarks'
throwaway stack, ``make up`` by default on machines with fewer than three cores).
:class:`GatewayProcesses` serves from a pool of processes (``make up
--api-processes N``; by default one per core from three cores up), as API Gateway
spreads requests over Lambda containers, so requests do not queue on one
interpreter lock nor share it with the step workers: ``python -m devstack.gateway``
imports the app once, binds the listening socket, then forks the rest of the pool
and serves too; the processes share the imported code (copy-on-write) and take
turns accepting connections from the one socket. Each process has its own
database pool; everything they share (rate limits, sessions, idempotency keys)
lives in PostgreSQL, as between Lambda containers.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import LocalChalice, LocalGateway, LocalGatewayException

from chalicelib.http import edge
from devstack.aws import die_with_parent
from devstack.console_files import ConsoleFiles, is_api_path


def make_thread_safe(app: Chalice) -> None:
    """Give the app a thread-local ``current_request`` (as ``chalice local`` does)."""
    if not isinstance(app, LocalChalice):
        app.__class__ = type("ThreadedLocalChalice", (LocalChalice, app.__class__), {})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    gateway: LocalGateway
    console: ConsoleFiles | None = None
    server_version = "stepline-local"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # the app logs each request itself
        return

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.console is not None and self.command in ("GET", "HEAD") and not is_api_path(self.path):
            static = self.console.respond(self.path, headers.get("accept-encoding", ""))
            self._write(static.status, dict(static.headers), static.body)
            return
        try:
            response = self.gateway.handle_request(method=self.command, path=self.path, headers=headers, body=body)
            status = response["statusCode"]
            out_headers: dict[str, Any] = dict(response.get("headers") or {})
            out_headers.update(response.get("multiValueHeaders") or {})
            payload = response.get("body")
            if response.get("isBase64Encoded") and payload is not None:
                payload = base64.b64decode(payload)
        except LocalGatewayException:
            # No route serves the path (Chalice's local gateway answers like API Gateway, whose message
            # repeats the Authorization header): the API's error shape instead, as the deployed
            # gateway's responses do (.chalice/stepline-resources.json).
            request_id = uuid.uuid4().hex
            status, payload = 404, json.dumps(edge.not_found_body(request_id))
            out_headers = {"Content-Type": "application/json", edge.REQUEST_ID_HEADER: request_id}
        if not any(name.lower() == "x-request-id" for name in out_headers):  # answers no view gave (OPTIONS)
            out_headers[edge.REQUEST_ID_HEADER] = uuid.uuid4().hex
        if payload is None:
            payload = b""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        self._write(status, out_headers, payload)

    def _write(self, status: int, out_headers: dict[str, Any], payload: bytes) -> None:
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        out_headers.setdefault("Content-Type", "application/json")
        out_headers["Content-Length"] = str(len(payload))
        for name, value in out_headers.items():
            if name.lower() in ("content-length",) and name != "Content-Length":
                continue
            for item in value if isinstance(value, list) else [value]:
                lines.append(f"{name}: {item}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + (payload if self.command != "HEAD" else b""))
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server answers by itself (request line too long, bad request line): the error shape."""
        request_id = uuid.uuid4().hex
        codes = {414: "uri_too_long", 431: "headers_too_large", 400: "bad_request"}
        error = {"error": {"code": codes.get(code, "bad_request"), "message": (message or "Bad request.")[:200],
                           "request_id": request_id}}
        payload = json.dumps(error).encode()
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header(edge.REQUEST_ID_HEADER, request_id)
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(payload)

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, PROPFIND...) reaches the app, which answers 405 in the error shape.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)


class _Server(ThreadingHTTPServer):
    # The listen backlog: socketserver's default of 5 resets connections when a few dozen clients
    # connect at once (load tests, a burst of webhooks).
    request_queue_size = 128


def _handler(app: Chalice, console: ConsoleFiles | None) -> type[_Handler]:
    make_thread_safe(app)
    config = Config.create(chalice_app=app, lambda_timeout=30, lambda_memory_size=512,
                           function_name="api_handler")
    return type("Handler", (_Handler,), {"gateway": LocalGateway(app, config), "console": console})


class GatewayServer:
    """Serves ``app`` on ``host:port`` in a background thread."""

    def __init__(self, app: Chalice, host: str = "127.0.0.1", port: int = 8000,
                 console: ConsoleFiles | None = None) -> None:
        self.console = console
        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = _Server((host, port), _handler(app, console))
        self.httpd.daemon_threads = True
        bound, self.port = self.httpd.server_address[:2]
        self.host = bound if isinstance(bound, str) else bytes(bound).decode()
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> GatewayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


# Below this many cores the API is served from threads of the runtime's process by default. Measured on a
# 2-core machine (docs/api-performance.md): a pool of 2 cost ~130-160 MB more PSS (the stack went past its
# 400 MB budget) for the same CPU per request, since there the CPUs, not the interpreter lock, are the limit.
POOL_FROM_CORES = 3


def default_processes() -> int:
    """``STEPLINE_API_PROCESSES``; else one per core the process may run on from ``POOL_FROM_CORES`` cores up, and
    0 (threads of the runtime's process) below."""
    configured = os.environ.get("STEPLINE_API_PROCESSES", "").strip()
    if configured:
        return max(0, int(configured))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return cores if cores >= POOL_FROM_CORES else 0


class GatewayProcesses:
    """The gateway served by ``processes`` processes (``python -m devstack.gateway``), started and stopped together.

    Same interface as :class:`GatewayServer`. The pool's first process binds ``host:port`` (an error there, such as
    a port in use, fails :meth:`start`), forks the others, says it is ready on a pipe, and stops them and itself
    when its stdin closes; they all die with this process (``PR_SET_PDEATHSIG``). ``pids``: the pool's processes.
    """

    def __init__(self, processes: int, *, app_module_name: str = "app", host: str = "127.0.0.1", port: int = 8000,
                 console: ConsoleFiles | None = None) -> None:
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self.processes, self.app_module_name, self.host, self.port = processes, app_module_name, host, port
        self.console = console
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> GatewayProcesses:
        ready_read, ready_write = os.pipe()
        command = [sys.executable, "-m", "devstack.gateway", "--processes", str(self.processes), "--host", self.host,
                   "--port", str(self.port), "--app", self.app_module_name, "--ready-fd", str(ready_write)]
        if self.console is not None:
            command += ["--console-dir", str(self.console.directory)]
        try:
            self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=(ready_write,),
                                         preexec_fn=die_with_parent)
        finally:
            os.close(ready_write)
        with os.fdopen(ready_read, "rb") as ready:
            line = ready.readline()  # empty: the pool's parent exited before serving
        if not line.startswith(b"ready"):
            status = self.proc.wait()
            raise RuntimeError(f"the API processes did not start (exit status {status})")
        fields = line.split()
        self.port = int(fields[1])
        self.pids = [int(pid) for pid in fields[2:]]
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def _server_on(listening: socket.socket, handler: type[_Handler]) -> _Server:
    """A server that accepts connections from the pool's shared socket."""
    httpd = _Server(listening.getsockname()[:2], handler, bind_and_activate=False)
    httpd.socket.close()
    httpd.socket = listening
    httpd.daemon_threads = True
    return httpd


def _serve_until_terminated(httpd: _Server) -> None:  # pragma: no cover - in a forked process
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown, daemon=True).start())
    httpd.serve_forever(poll_interval=0.5)  # connections in flight when it returns are cut


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.gateway")
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--app", default="app")
    parser.add_argument("--console-dir")
    parser.add_argument("--ready-fd", type=int, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the runtime stops the pool
    # Everything the processes share is loaded before the fork: the app, its routes and models, the handler.
    app = importlib.import_module(args.app).app
    handler = _handler(app, ConsoleFiles(args.console_dir) if args.console_dir else None)
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind((args.host, args.port))
    listening.listen(_Server.request_queue_size)
    # Non-blocking: a process that loses the race for a connection gets EAGAIN instead of waiting in accept().
    listening.setblocking(False)
    gc.freeze()  # the imported objects stay out of the collector's way: their pages stay shared
    # This process serves too, beside processes - 1 forked ones (no thread exists before the forks).
    children: list[int] = []
    for _ in range(args.processes - 1):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - a forked process
            try:
                die_with_parent()
                _serve_until_terminated(_server_on(listening, handler))
            finally:
                os._exit(0)
        children.append(pid)
    httpd = _server_on(listening, handler)

    def stop_when_told() -> None:
        sys.stdin.buffer.read()  # until the runtime closes it (or dies: then PR_SET_PDEATHSIG ends us all)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        httpd.shutdown()

    threading.Thread(target=stop_when_told, name="gateway-stop", daemon=True).start()
    with os.fdopen(args.ready_fd, "w") as ready:
        ready.write(f"ready {listening.getsockname()[1]} {' '.join(map(str, [os.getpid(), *children]))}\n")
    try:
        httpd.serve_forever(poll_interval=0.5)  # connections in flight when it returns are cut
    finally:
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
