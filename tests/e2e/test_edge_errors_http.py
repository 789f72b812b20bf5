"""One error shape everywhere, with a request id, over real HTTP (item: the edge of the API).

Whatever answers — a view, Chalice before any view (405, 415), the gateway
(unknown path, TRACE, a request line too long) — the body is
``{"error": {"code", "message", "request_id"}}``, the same id is in
``X-Request-Id``, and no credential sent with the request comes back.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from devstack.postgres import free_port
from devstack.runtime import LocalRuntime

SECRET = "sl_secret_token_that_must_never_come_back_0123456789"


@pytest.fixture(scope="module")
def base_url(local_stack):
    runtime = LocalRuntime(endpoint_url=local_stack.env["AWS_ENDPOINT_URL"],
                           region=local_stack.env["AWS_DEFAULT_REGION"], port=free_port(), workers=1).start()
    yield runtime.gateway.url
    runtime.stop()


def _assert_error_shape(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    assert SECRET not in response.text and SECRET not in str(response.headers)


@pytest.mark.parametrize(("method", "path", "headers", "body", "status", "code"), [
    ("GET", "/nope", {"Authorization": f"Bearer {SECRET}"}, None, 404, "route_not_found"),
    ("POST", "/api/nope/deeper", {"Authorization": f"Bearer {SECRET}"}, b"{}", 404, "route_not_found"),
    ("DELETE", "/api/me", {"Authorization": f"Bearer {SECRET}"}, None, 405, "method_not_allowed"),
    ("TRACE", "/api/me", {}, None, 405, "method_not_allowed"),
    ("POST", "/auth/login", {"Content-Type": "text/plain"}, b"hello", 415, "unsupported_media_type"),
    ("GET", "/api/me", {"Authorization": f"Bearer {SECRET}"}, None, 401, "invalid_token"),
    ("GET", "/api/me", {"Authorization": f"Basic {SECRET}"}, None, 401, "unauthenticated"),
    ("POST", "/auth/login", {"Content-Type": "application/json"}, b"[" * 5000 + b"]" * 5000, 400, "too_deep"),
])
def test_every_error_has_the_one_shape_and_a_request_id(base_url, method, path, headers, body, status, code):
    response = httpx.request(method, base_url + path, headers=headers, content=body, timeout=30)
    _assert_error_shape(response, status, code)


def test_a_request_line_too_long_is_answered_in_the_error_shape(base_url):
    # httpx refuses to send such a URL: write the request line by hand
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(b"GET /api/apps?category=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = b""
        while chunk := conn.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = httpx.Headers([tuple(line.split(": ", 1)) for line in lines[1:]])
    response = httpx.Response(int(lines[0].split()[1]), headers=headers, content=body)
    _assert_error_shape(response, 414, "uri_too_long")


def test_every_answer_carries_a_request_id_header(base_url):
    with httpx.Client(base_url=base_url, timeout=30) as client:
        ids = {client.get("/health").headers["x-request-id"], client.get("/openapi.json").headers["x-request-id"],
               client.options("/health").headers.get("x-request-id")}
    assert None not in ids and len(ids) == 3  # one per request
