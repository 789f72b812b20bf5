"""The invoker over real loopback HTTP: retries, Retry-After, size limits, timeouts, masking."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from chalicelib.connectors.errors import (
    ResponseTooLarge,
    UpstreamConnectionFailed,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnauthorized,
)
from chalicelib.connectors.format import validate_connector
from tests.fakes.vendors.base import FakeResponse, json_response
from tests.fakes.vendors.contract import RecordedSleeps, loopback_invoker
from tests.fakes.vendors.httpbin import FakeHttpBin

API_KEY = "qk_live_4f9d2c7a1b8e6f3d0a5c9b2e7f1d4a8c"


@pytest.fixture(autouse=True)
def _stack():
    """Overrides the integration conftest's stack: these tests need only loopback fakes."""


@pytest.fixture(scope="module")
def connector():
    """A query-string API key connector: the hardest case for masking (the key is in the URL)."""
    return validate_connector(
        {
            "name": "Bin",
            "slug": "bin",
            "vendor": "Test",
            "category": "test",
            "base_url": "{{ settings.base_url }}",
            "auth": {"type": "api_key", "in": "query", "name": "key", "field": "api_key"},
            "auth_fields": {
                "type": "object",
                "properties": {"api_key": {"type": "string", "writeOnly": True}},
            },
            "settings_schema": {"type": "object", "properties": {"base_url": {"type": "string"}}},
            "retry": {
                "max_attempts": 3,
                "initial_backoff_seconds": 0.01,
                "max_backoff_seconds": 0.05,
                "max_total_seconds": 5,
            },
            "timeout_seconds": 2,
            "actions": [
                {"key": "echo", "name": "Echo", "method": "POST", "path": "/anything/echo"},
                {
                    "key": "get",
                    "name": "Get",
                    "method": "GET",
                    "path": "/anything/get",
                    "body_encoding": "none",
                },
                {
                    "key": "status",
                    "name": "Status",
                    "method": "GET",
                    "path": "/status/{{ path.code }}",
                    "body_encoding": "none",
                    "path_schema": {
                        "type": "object",
                        "required": ["code"],
                        "properties": {"code": {"type": "integer"}},
                    },
                },
                {
                    "key": "bytes",
                    "name": "Bytes",
                    "method": "GET",
                    "path": "/{{ path.kind }}/{{ path.n }}",
                    "body_encoding": "none",
                    "max_response_bytes": 100000,
                    "path_schema": {
                        "type": "object",
                        "required": ["kind", "n"],
                        "properties": {"kind": {"enum": ["bytes", "stream-bytes"]}, "n": {"type": "integer"}},
                    },
                },
                {
                    "key": "slow",
                    "name": "Slow",
                    "method": "GET",
                    "path": "/delay/{{ path.seconds }}",
                    "body_encoding": "none",
                    "timeout_seconds": 0.3,
                    "retry": {"max_attempts": 1},
                    "path_schema": {
                        "type": "object",
                        "required": ["seconds"],
                        "properties": {"seconds": {"type": "number"}},
                    },
                },
                {
                    "key": "drip",
                    "name": "Drip",
                    "method": "GET",
                    "path": "/drip",
                    "body_encoding": "none",
                    "timeout_seconds": 0.5,
                    "retry": {"max_attempts": 1},
                },
            ],
            "test_action": "get",
        }
    )


@pytest.fixture(scope="module")
def httpbin():
    with FakeHttpBin() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh(httpbin):
    httpbin.clear()


def call(connector, httpbin, action, input=None, *, sleep=None, base_url=None, **kwargs):
    with loopback_invoker(sleep=sleep) as invoker:
        return invoker.invoke(
            connector,
            action,
            input=input or {},
            settings={"base_url": base_url or httpbin.base_url},
            credentials={"api_key": API_KEY},
            **kwargs,
        )


def test_the_request_reaches_the_server_as_built(connector, httpbin):
    result = call(connector, httpbin, "echo", {"body": {"hello": "wörld"}}, idempotency_key="run:node:1")
    seen = httpbin.last
    assert seen.method == "POST" and seen.path == "/anything/echo" and seen.query == {"key": [API_KEY]}
    assert seen.json() == {"hello": "wörld"} and seen.headers["idempotency-key"] == "run:node:1"
    assert result.output["json"] == {"hello": "wörld"}


def test_a_503_is_retried_then_succeeds(connector, httpbin):
    httpbin.script(json_response(503, {"error": "busy"}), json_response(503, {"error": "busy"}))
    sleeps = RecordedSleeps()
    result = call(connector, httpbin, "get", sleep=sleeps)
    assert result.status == 200 and len(httpbin.requests) == 3 and len(sleeps) == 2
    assert all(0 <= s <= 0.05 for s in sleeps)


def test_a_400_is_not_retried(connector, httpbin):
    with pytest.raises(UpstreamRejected) as caught:
        call(connector, httpbin, "status", {"path": {"code": 400}})
    assert len(httpbin.requests) == 1 and caught.value.upstream_status == 400


def test_429_honours_retry_after_for_real(connector, httpbin):
    httpbin.script(json_response(429, {"error": "slow down"}, {"Retry-After": "1"}))
    started = time.monotonic()
    result = call(connector, httpbin, "get", sleep=time.sleep)
    elapsed = time.monotonic() - started
    assert result.status == 200 and len(httpbin.requests) == 2
    assert 0.9 <= elapsed < 3


def test_a_retry_after_beyond_the_budget_is_not_waited_for(connector, httpbin):
    httpbin.script(json_response(429, {"error": "slow down"}, {"Retry-After": "30"}))
    started = time.monotonic()
    with pytest.raises(UpstreamRateLimited) as caught:
        call(connector, httpbin, "get", sleep=time.sleep)
    assert time.monotonic() - started < 1 and caught.value.retry_after == 30 and caught.value.retryable


def test_a_response_declaring_more_than_the_limit_is_refused(connector, httpbin):
    with pytest.raises(ResponseTooLarge) as caught:
        call(connector, httpbin, "bytes", {"path": {"kind": "bytes", "n": 200_000}})
    assert caught.value.retryable is False


def test_a_streamed_response_is_cut_at_the_limit_without_reading_it_all(connector, httpbin):
    total = 20 * 1024 * 1024
    before = httpbin.bytes_sent
    with pytest.raises(ResponseTooLarge):
        call(connector, httpbin, "bytes", {"path": {"kind": "stream-bytes", "n": total}})
    time.sleep(0.2)  # let the server notice the closed connection
    assert httpbin.bytes_sent - before < total / 2


def test_a_response_within_the_limit_is_read(connector, httpbin):
    result = call(connector, httpbin, "bytes", {"path": {"kind": "stream-bytes", "n": 90_000}})
    assert result.status == 200 and len(result.output) == 90_000


def test_a_slow_server_times_out_on_the_read_timeout(connector, httpbin):
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as caught:
        call(connector, httpbin, "slow", {"path": {"seconds": 1.5}})
    assert time.monotonic() - started < 1.2 and caught.value.retryable is True


def test_a_dripping_server_is_cut_by_the_attempt_deadline(connector, httpbin):
    httpbin.script(FakeResponse(chunks=(b"z" for _ in range(50)), chunk_delay=0.05))
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        call(connector, httpbin, "drip")
    assert time.monotonic() - started < 1.5


def test_a_refused_connection_is_retried_then_reported(connector):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        sleeps = RecordedSleeps()
        with pytest.raises(UpstreamConnectionFailed) as caught:
            with loopback_invoker(sleep=sleeps) as invoker:
                invoker.invoke(
                    connector,
                    "echo",
                    input={},
                    settings={"base_url": f"http://127.0.0.1:{port}"},
                    credentials={"api_key": API_KEY},
                )
    assert caught.value.retryable is True and len(sleeps) == 2
    assert len(caught.value.trace.attempts) == 3


def test_401_refreshes_credentials_once_and_retries(connector, httpbin):
    httpbin.script(json_response(401, {"error": "expired"}))
    fresh_key = "qk_live_fresh_0f1e2d3c4b5a69788796a5b4"
    result = call(connector, httpbin, "get", on_unauthorized=lambda: {"api_key": fresh_key})
    assert result.status == 200 and [r.query["key"] for r in httpbin.requests] == [[API_KEY], [fresh_key]]
    assert fresh_key not in json.dumps(result.to_dict())


def test_a_second_401_fails_without_further_calls(connector, httpbin):
    httpbin.script(json_response(401, {"error": "expired"}), json_response(401, {"error": "still expired"}))
    calls = []
    with pytest.raises(UpstreamUnauthorized):
        call(
            connector,
            httpbin,
            "get",
            on_unauthorized=lambda: calls.append(1) or {"api_key": "qk_other_key_value_1"},
        )
    assert calls == [1] and len(httpbin.requests) == 2


def test_no_secret_appears_in_traces_errors_or_logs(connector, httpbin, caplog):
    caplog.set_level(logging.DEBUG)
    # GIVEN a server that echoes the key back in its body and headers, then fails with it in the message
    result = call(connector, httpbin, "echo", {"body": {"note": "hi"}})
    httpbin.script(json_response(400, {"error": f"key {API_KEY} is suspended"}, {"X-Echo": API_KEY}))
    with pytest.raises(UpstreamRejected) as caught:
        call(connector, httpbin, "get")
    # THEN the secret is nowhere, in any form we produced
    dumps = [
        json.dumps(result.trace.to_dict(), ensure_ascii=False),
        json.dumps(caught.value.trace.to_dict(), ensure_ascii=False),
        caught.value.message,
        str(caught.value),
    ]
    dumps += [json.dumps(r.__dict__, default=str) for r in caplog.records]
    assert any(r.name == "chalicelib.connectors.invoker" for r in caplog.records)
    for text in dumps:
        assert API_KEY not in text
        assert API_KEY[:12] not in text
    assert "key=" in result.trace.request.url and "••••" in result.trace.request.url
