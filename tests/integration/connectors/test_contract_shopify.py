"""Shopify connector contract against the loopback Shopify fake."""

from __future__ import annotations

import pytest

from chalicelib.connectors.auth import adapter_for
from chalicelib.connectors.catalog import get_builtin
from chalicelib.connectors.errors import (
    InvalidActionInput,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnauthorized,
)
from chalicelib.connectors.invoker import ActionInvoker
from chalicelib.connectors.request_builder import build_request, effective_settings
from tests.fakes.vendors.contract import RecordedSleeps, loopback_invoker
from tests.fakes.vendors.shopify import DEFAULT_TOKEN, FakeShopify

SHOPIFY = get_builtin("shopify")


@pytest.fixture(autouse=True)
def _stack():
    """Overrides the integration conftest's stack: contract tests need only the vendor fake."""


@pytest.fixture(scope="module")
def shopify():
    with FakeShopify() as fake:
        yield fake


@pytest.fixture
def sleeps():
    return RecordedSleeps()


@pytest.fixture
def invoke(shopify, sleeps):
    shopify.clear()

    def run(action, input=None, token=DEFAULT_TOKEN, **kwargs):
        with loopback_invoker(sleep=sleeps) as invoker:
            return invoker.invoke(
                SHOPIFY,
                action,
                input=input or {},
                settings={"shop": "acme", "base_url": shopify.base_url},
                credentials={"access_token": token},
                **kwargs,
            )

    return run


def test_the_default_base_url_puts_the_shop_in_the_subdomain():
    built = build_request(
        SHOPIFY,
        SHOPIFY.action("get_shop"),
        adapter_for(SHOPIFY.auth),
        input={},
        settings=effective_settings(SHOPIFY, {"shop": "acme"}),
        credentials={"access_token": DEFAULT_TOKEN},
    )
    assert built.request.url == "https://acme.myshopify.com/admin/api/2024-10/shop.json"
    assert built.request.headers["X-Shopify-Access-Token"] == DEFAULT_TOKEN


def test_a_shop_name_that_would_change_the_host_is_refused():
    with pytest.raises(InvalidActionInput) as caught:
        ActionInvoker().invoke(
            SHOPIFY,
            "get_shop",
            input={},
            settings={"shop": "evil.example/x"},
            credentials={"access_token": DEFAULT_TOKEN},
        )
    assert caught.value.details[0]["path"] == "/settings/shop"


def test_the_test_action_sends_the_access_token_header(shopify, invoke):
    with loopback_invoker() as invoker:
        result = invoker.test_connection(
            SHOPIFY,
            settings={"shop": "acme", "base_url": shopify.base_url},
            credentials={"access_token": DEFAULT_TOKEN},
        )
    assert result.output["shop"]["myshopify_domain"] == "acme.myshopify.com"
    assert shopify.last.headers["x-shopify-access-token"] == DEFAULT_TOKEN
    assert "authorization" not in shopify.last.headers


def test_products_are_listed_fetched_and_created(shopify, invoke):
    assert invoke("list_products", {"query": {"limit": 5}}).output["products"][0]["id"] == 632910392
    assert shopify.last.path == "/admin/api/2024-10/products.json" and shopify.last.query == {"limit": ["5"]}
    assert (
        invoke("get_product", {"path": {"product_id": 632910392}}).output["product"]["title"]
        == "IPod Nano - 8GB"
    )
    created = invoke("create_product", {"body": {"title": "Burton Custom Freestyle 151", "vendor": "Burton"}})
    assert created.status == 201 and created.output["product"]["vendor"] == "Burton"
    assert shopify.last.json() == {"product": {"title": "Burton Custom Freestyle 151", "vendor": "Burton"}}


def test_orders_are_listed(invoke):
    assert invoke("list_orders", {"query": {"status": "any"}}).output["orders"][0]["name"] == "#1001"


def test_422_errors_object_becomes_the_message(shopify, invoke):
    shopify.clear()
    with pytest.raises(UpstreamRejected) as caught:
        invoke("create_product", {"body": {"title": ""}})
    assert caught.value.upstream_status == 422 and "can't be blank" in caught.value.message


def test_a_missing_product_is_a_404_rejection(invoke):
    with pytest.raises(UpstreamRejected) as caught:
        invoke("get_product", {"path": {"product_id": 1}})
    assert caught.value.upstream_status == 404 and "Not Found" in caught.value.message


def test_an_invalid_token_is_unauthorized(invoke):
    with pytest.raises(UpstreamUnauthorized) as caught:
        invoke("get_shop", token="shpat_wrongwrongwrong")
    assert "Invalid API key or access token" in caught.value.message
    assert caught.value.trace.request.headers["X-Shopify-Access-Token"].startswith("••••")


def test_429_with_a_decimal_retry_after_is_honoured(shopify, invoke, sleeps):
    shopify.script(shopify.throttled("2.0"))
    assert invoke("get_shop").status == 200 and sleeps == [2.0]
    shopify.script(shopify.throttled("90.0"))
    with pytest.raises(UpstreamRateLimited) as caught:
        invoke("get_shop", timeout=5)
    assert caught.value.retry_after == 90
