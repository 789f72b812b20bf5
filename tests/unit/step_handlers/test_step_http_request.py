"""The HTTP step against a real loopback server (127.0.0.1 only)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from chalicelib.engine.errors import ConfigInvalid, NonRetryableStepError, StepFailed, StepTimeout
from chalicelib.engine.node_config import prepare_config
from step_handlers import http_request

SECRET = "tok_live_0123456789abcdef"


class Remote(BaseHTTPRequestHandler):
    """Routes: /echo, /status/<n>, /big/<bytes>, /stream/<bytes>, /slow, /binary, /redirect, /text."""

    protocol_version = "HTTP/1.1"
    received: list[dict] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status, body=b"", content_type="application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        parts = urlsplit(self.path)
        seen = {"method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}  # fmt: skip
        Remote.received.append(seen)
        segments = parts.path.strip("/").split("/")
        if segments[0] == "echo":
            self._send(200, json.dumps(seen).encode(), headers={"X-Echo": self.headers.get("Authorization", "")})
        elif segments[0] == "status":
            status = int(segments[1])
            extra = {"Retry-After": "7"} if status == 429 else {}
            body = {"error": "nope", "saw": self.headers.get("Authorization")}
            self._send(status, json.dumps(body).encode(), headers=extra)
        elif segments[0] == "big":
            self._send(200, b"x" * int(segments[1]), "text/plain")
        elif segments[0] == "stream":
            # No Content-Length: the size is only known while reading.
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            remaining = int(segments[1])
            while remaining > 0:
                chunk = min(remaining, 4096)
                self.wfile.write(b"y" * chunk)
                remaining -= chunk
            self.close_connection = True
        elif segments[0] == "slow":
            time.sleep(1.0)
            self._send(200, b"{}")
        elif segments[0] == "binary":
            self._send(200, b"\xff\xfe\x00\x01", "application/octet-stream")
        elif segments[0] == "redirect":
            self._send(302, b"", headers={"Location": "/echo"})
        elif segments[0] == "text":
            self._send(200, "héllo".encode(), "text/plain; charset=utf-8")
        else:
            self._send(404, b"{}")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that time out on /slow hang up before the answer: expected here.
        pass


@pytest.fixture(scope="module")
def remote():
    server = QuietServer(("127.0.0.1", 0), Remote)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def client():
    with httpx.Client(trust_env=False) as c:
        yield c


@pytest.fixture(autouse=True)
def _clear_received():
    Remote.received.clear()


def call(make_ctx, client, config, credentials=None, payload=None, **ctx_fields):
    payload = payload or {}
    rendered = prepare_config(http_request, config, payload)
    ctx = make_ctx(http=client, **ctx_fields)
    return http_request.handle({"payload": payload}, rendered, ctx, credentials), ctx


def test_get_with_query_and_headers_returns_status_headers_and_parsed_json(make_ctx, client, remote):
    out, _ = call(make_ctx, client, {
        "url": remote + "/echo?fixed=1",
        "query": {"q": "{{ term }}", "tags": ["a", "b"], "flag": True},
        "headers": {"X-Trace": "t-{{ term }}"},
    }, payload={"term": "shoes"})  # fmt: skip
    assert out["status"] == 200
    assert out["body"]["method"] == "GET"
    assert out["body"]["query"] == {"fixed": ["1"], "q": ["shoes"], "tags": ["a", "b"], "flag": ["true"]}
    assert out["headers"]["content-type"] == "application/json"
    seen = Remote.received[0]
    assert seen["headers"]["x-trace"] == "t-shoes"
    assert "idempotency-key" not in seen["headers"]  # GET is safe to repeat


def test_post_json_sends_the_idempotency_key(make_ctx, client, remote):
    out, _ = call(make_ctx, client, {"method": "POST", "url": remote + "/echo", "json": {"id": "{{ id }}"}},
                  payload={"id": 42}, attempt=3)  # fmt: skip
    seen = Remote.received[0]
    assert json.loads(seen["body"]) == {"id": 42}
    assert seen["headers"]["idempotency-key"] == "run-1:node-1:3"
    assert out["status"] == 200


def test_form_body(make_ctx, client, remote):
    call(make_ctx, client, {"method": "PUT", "url": remote + "/echo", "form": {"a": 1, "b": "x y"}})
    assert parse_qs(Remote.received[0]["body"]) == {"a": ["1"], "b": ["x y"]}


@pytest.mark.parametrize(
    ("credentials", "header", "expected"),
    [
        ({"type": "bearer", "token": SECRET}, "authorization", f"Bearer {SECRET}"),
        ({"access_token": SECRET}, "authorization", f"Bearer {SECRET}"),
        ({"type": "api_key", "api_key": SECRET, "name": "X-Api-Key"}, "x-api-key", SECRET),
        ({"type": "header", "name": "X-Custom", "value": SECRET}, "x-custom", SECRET),
    ],
)
def test_credentials_reach_the_remote_but_never_the_output(make_ctx, client, remote, credentials, header, expected):
    # GIVEN a remote that echoes every request header back, in its body and in a header
    out, ctx = call(make_ctx, client, {"url": remote + "/echo"}, credentials=credentials)
    # THEN the remote saw the credential, and nothing the step returns or logs contains it
    assert Remote.received[0]["headers"][header] == expected
    assert SECRET not in json.dumps(out)
    assert SECRET not in json.dumps(ctx.logs)


def test_basic_credentials(make_ctx, client, remote):
    out, _ = call(make_ctx, client, {"url": remote + "/echo"},
                  credentials={"type": "basic", "username": "u", "password": "pa55word-long"})  # fmt: skip
    assert Remote.received[0]["headers"]["authorization"].startswith("Basic ")
    assert "pa55word-long" not in json.dumps(out)
    assert "dTpwYTU1d29yZC1sb25n" not in json.dumps(out)  # the encoded pair neither


def test_api_key_in_the_query_is_kept_out_of_errors(make_ctx, client, remote):
    creds = {"type": "api_key", "in": "query", "name": "key", "value": SECRET}
    with pytest.raises(NonRetryableStepError) as err:
        call(make_ctx, client, {"url": remote + "/status/403"}, credentials=creds)
    assert Remote.received[0]["query"]["key"] == [SECRET]
    assert SECRET not in str(err.value) and SECRET not in json.dumps(err.value.info)


@pytest.mark.parametrize(("status", "code"), [(500, "http_server_error"), (503, "http_server_error"),
                                             (408, "http_request_timeout")])  # fmt: skip
def test_server_errors_are_retryable(make_ctx, client, remote, status, code):
    with pytest.raises(StepFailed) as err:
        call(make_ctx, client, {"url": remote + f"/status/{status}"})
    assert err.value.retryable is True
    assert err.value.code == code
    assert err.value.info["status"] == status


def test_429_is_retryable_and_carries_retry_after(make_ctx, client, remote):
    with pytest.raises(StepFailed) as err:
        call(make_ctx, client, {"url": remote + "/status/429"})
    assert err.value.retryable is True
    assert err.value.code == "http_rate_limited"
    assert err.value.retry_after == 7.0


def test_client_errors_are_not_retryable_and_mask_echoed_secrets(make_ctx, client, remote):
    with pytest.raises(NonRetryableStepError) as err:
        call(make_ctx, client, {"url": remote + "/status/404"}, credentials={"token": SECRET})
    assert err.value.retryable is False
    assert err.value.code == "http_client_error"
    assert "nope" in err.value.info["body_excerpt"]
    assert SECRET not in err.value.info["body_excerpt"]


def test_error_statuses_can_be_returned_instead(make_ctx, client, remote):
    out, _ = call(make_ctx, client, {"url": remote + "/status/404", "fail_on_error_status": False})
    assert out["status"] == 404


def test_connection_refused_is_retryable(make_ctx, client):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StepFailed) as err:
        call(make_ctx, client, {"url": f"http://127.0.0.1:{port}/x?key=hidden-value"})
    assert err.value.retryable is True
    assert err.value.code == "http_connection_failed"
    assert "hidden-value" not in str(err.value)


def test_slow_remote_times_out_retryably(make_ctx, client, remote):
    started = time.monotonic()
    with pytest.raises(StepTimeout) as err:
        call(make_ctx, client, {"url": remote + "/slow", "timeout": 0.2})
    assert err.value.retryable is True
    assert time.monotonic() - started < 0.9


def test_timeout_is_capped_by_the_step_deadline(make_ctx, client, remote, fixed_clock):
    deadline = fixed_clock.now().timestamp() + 0.2
    with pytest.raises(StepTimeout):
        call(make_ctx, client, {"url": remote + "/slow", "timeout": 30}, deadline=deadline)


def test_no_request_once_the_deadline_has_passed(make_ctx, client, remote, fixed_clock):
    with pytest.raises(StepTimeout):
        call(make_ctx, client, {"url": remote + "/echo"}, deadline=fixed_clock.now().timestamp() - 1)
    assert Remote.received == []


@pytest.mark.parametrize("route", ["big", "stream"])
def test_response_size_limit(make_ctx, client, remote, route):
    out, _ = call(make_ctx, client, {"url": remote + f"/{route}/1000", "max_response_bytes": 1000})
    assert len(out["body"]) == 1000
    with pytest.raises(NonRetryableStepError) as err:
        call(make_ctx, client, {"url": remote + f"/{route}/50000", "max_response_bytes": 1000})
    assert err.value.code == "response_too_large"


def test_text_and_binary_bodies(make_ctx, client, remote):
    assert call(make_ctx, client, {"url": remote + "/text"})[0]["body"] == "héllo"
    binary, _ = call(make_ctx, client, {"url": remote + "/binary"})
    assert binary["body"] == "//4AAQ==" and binary["body_encoding"] == "base64"


def test_redirects_are_not_followed_unless_asked(make_ctx, client, remote):
    assert call(make_ctx, client, {"url": remote + "/redirect"})[0]["status"] == 302
    followed, _ = call(make_ctx, client, {"url": remote + "/redirect", "follow_redirects": True})
    assert followed["status"] == 200 and followed["body"]["path"] == "/echo"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "/relative", "http://"])
def test_only_absolute_http_urls(make_ctx, client, url):
    with pytest.raises(ConfigInvalid):
        call(make_ctx, client, {"url": url})


def test_header_injection_is_refused(make_ctx, client, remote):
    with pytest.raises(ConfigInvalid):
        call(make_ctx, client, {"url": remote + "/echo", "headers": {"X-A": "v\r\nX-Injected: 1"}})
    assert Remote.received == []


def test_json_and_form_are_exclusive(make_ctx, client, remote):
    with pytest.raises(ConfigInvalid):
        call(make_ctx, client, {"method": "POST", "url": remote + "/echo", "json": {}, "form": {}})


def test_unsupported_credentials_fail_without_retry(make_ctx, client, remote):
    with pytest.raises(NonRetryableStepError) as err:
        call(make_ctx, client, {"url": remote + "/echo"}, credentials={"type": "kerberos", "ticket": "t"})
    assert err.value.code == "credentials_unsupported"
    assert Remote.received == []
