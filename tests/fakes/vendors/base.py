"""The shared machinery of the vendor fakes: a threaded loopback server that records requests."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class RecordedRequest:
    """One request as the fake received it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def raw_text(self) -> str:
        """Everything received, as one string (to assert a secret did or did not travel)."""
        head = f"{self.method} {self.path}?{urllib.parse.urlencode(self.query, doseq=True)}\n"
        return (
            head
            + "\n".join(f"{k}: {v}" for k, v in self.headers.items())
            + "\n\n"
            + self.body.decode("utf-8", "replace")
        )


@dataclass
class FakeResponse:
    """What the fake answers; ``chunks`` streams a chunked body (with ``chunk_delay`` between chunks)."""

    status: int = 200
    json_body: Any = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunks: Iterable[bytes] | None = None
    chunk_delay: float = 0.0


Handler = Callable[[RecordedRequest, re.Match[str]], FakeResponse]


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> FakeResponse:
    return FakeResponse(status=status, json_body=payload, headers=headers or {})


class FakeVendorServer:
    """A loopback HTTP server with a route table, scripted overrides and a request log."""

    #: Path prefix the connector's ``base_url`` setting should include (e.g. "/api" for Slack).
    base_path = ""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.bytes_sent = 0
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._scripted: deque[FakeResponse] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- set-up ----------------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(f"^{self.base_path}{pattern}$"), handler))

    def script(self, *responses: FakeResponse) -> None:
        """Answer the next requests with these responses, in order, before any route runs."""
        with self._lock:
            self._scripted.extend(responses)

    def start(self) -> Self:
        fake = self

        class _Handler(_RequestHandler):
            owner = fake

        self._server = _QuietServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """The value for the connector's ``base_url`` setting."""
        return self.origin + self.base_path

    # --- inspection ------------------------------------------------------------------------------

    @property
    def last(self) -> RecordedRequest:
        return self.requests[-1]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._scripted.clear()

    # --- dispatch --------------------------------------------------------------------------------

    def dispatch(self, request: RecordedRequest) -> FakeResponse:
        with self._lock:
            self.requests.append(request)
            scripted = self._scripted.popleft() if self._scripted else None
        if scripted is not None:
            return scripted
        return self.answer(request)

    def answer(self, request: RecordedRequest) -> FakeResponse:
        """Route the request (vendors override to check auth and headers first)."""
        known_path = False
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match:
                known_path = True
                if method == request.method:
                    return handler(request, match)
        return self.not_found(request, method_not_allowed=known_path)

    def not_found(self, request: RecordedRequest, *, method_not_allowed: bool = False) -> FakeResponse:
        """The vendor's own 404/405 shape (override per vendor)."""
        return json_response(405 if method_not_allowed else 404, {"error": "not_found"})


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up early (size limits, timeouts) are part of the tests, not errors."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    owner: FakeVendorServer
    protocol_version = "HTTP/1.1"
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line."""

    def _handle(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        response = self.owner.dispatch(request)
        if response.delay:
            time.sleep(response.delay)
        try:
            self._write(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _write(self, response: FakeResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.chunks is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in response.chunks:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
                self.owner.bytes_sent += len(chunk)
                if response.chunk_delay:
                    time.sleep(response.chunk_delay)
            self.wfile.write(b"0\r\n\r\n")
            return
        payload = response.body
        if response.json_body is not None:
            payload = json.dumps(response.json_body).encode("utf-8")
            if not any(k.lower() == "content-type" for k in response.headers):
                self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.owner.bytes_sent += len(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
