"""Generic HTTP connector contract against the loopback httpbin-like fake."""

from __future__ import annotations

import pytest

from chalicelib.connectors.catalog import get_builtin
from chalicelib.connectors.errors import (
    InvalidActionInput,
    InvalidUpstreamUrl,
    UpstreamRejected,
    UpstreamUnavailable,
)
from tests.fakes.vendors.base import json_response
from tests.fakes.vendors.contract import loopback_invoker
from tests.fakes.vendors.httpbin import FakeHttpBin

HTTP = get_builtin("http")


@pytest.fixture(autouse=True)
def _stack():
    """Overrides the integration conftest's stack: contract tests need only the vendor fake."""


@pytest.fixture(scope="module")
def httpbin():
    with FakeHttpBin() as fake:
        yield fake


@pytest.fixture
def invoke(httpbin):
    httpbin.clear()

    def run(action, input=None, **kwargs):
        with loopback_invoker() as invoker:
            return invoker.invoke(
                HTTP,
                action,
                input=input or {},
                settings={"base_url": httpbin.base_url},
                credentials={},
                **kwargs,
            )

    return run


def test_the_test_action_gets_the_root(httpbin):
    with loopback_invoker() as invoker:
        result = invoker.test_connection(HTTP, settings={"base_url": httpbin.base_url}, credentials={})
    assert result.output == {"ok": True} and httpbin.last.path == "/"


@pytest.mark.parametrize("action", ["http_post", "http_put", "http_patch"])
def test_body_methods_send_json_query_and_headers(httpbin, invoke, action):
    result = invoke(
        action,
        {
            "path": {"path": "anything/orders/42"},
            "query": {"expand": ["items", "customer"]},
            "headers": {"X-Tenant": "acme"},
            "body": {"qty": 2},
        },
    )
    echoed = result.output
    assert echoed["method"] == action.split("_")[1].upper() and echoed["path"] == "/anything/orders/42"
    assert echoed["query"] == {"expand": ["items", "customer"]} and echoed["json"] == {"qty": 2}
    assert echoed["headers"]["x-tenant"] == "acme"


def test_get_and_delete(invoke):
    assert invoke("http_get", {"path": {"path": "anything/x"}, "query": {"page": 2}}).output["query"] == {
        "page": ["2"]
    }
    assert invoke("http_delete", {"path": {"path": "anything/x/1"}}).output["method"] == "DELETE"


def test_error_statuses_map_to_errors(httpbin, invoke):
    with pytest.raises(UpstreamRejected):
        invoke("http_get", {"path": {"path": "status/404"}})
    httpbin.script(*[json_response(502, {"error": "bad gateway"})] * 3)
    with pytest.raises(UpstreamUnavailable):
        invoke("http_get", {"path": {"path": "anything"}})
    assert len(httpbin.requests) == 4


def test_paths_cannot_climb_out_of_the_base_url(invoke):
    with pytest.raises(InvalidUpstreamUrl):
        invoke("http_get", {"path": {"path": "../admin"}})


def test_a_base_url_is_required():
    with pytest.raises(InvalidActionInput) as caught:
        with loopback_invoker() as invoker:
            invoker.invoke(HTTP, "http_get", input={"path": {"path": ""}}, settings={}, credentials={})
    assert caught.value.details == [{"path": "/settings/base_url", "issue": "is required"}]
