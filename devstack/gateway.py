"""A multi-threaded HTTP server in front of the Chalice routes (and the console's files).

Built on Chalice's own ``LocalGateway`` so views see API Gateway-shaped events.
Unlike ``chalice local`` it writes each response in one send with
``TCP_NODELAY`` (no 40 ms Nagle/delayed-ACK stall for keep-alive clients) and
serves every connection on its own thread. Given a :class:`ConsoleFiles`, it
serves the web console at ``/`` for every GET outside the API's paths (same
origin as the API, as CloudFront does on AWS).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import LocalChalice, LocalGateway, LocalGatewayException

from chalicelib.http import edge
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


class GatewayServer:
    """Serves ``app`` on ``host:port`` in a background thread."""

    def __init__(self, app: Chalice, host: str = "127.0.0.1", port: int = 8000,
                 console: ConsoleFiles | None = None) -> None:
        make_thread_safe(app)
        config = Config.create(chalice_app=app, lambda_timeout=30, lambda_memory_size=512,
                               function_name="api_handler")
        self.console = console
        handler = type("Handler", (_Handler,), {"gateway": LocalGateway(app, config), "console": console})
        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = _Server((host, port), handler)
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
