"""Stripe connector contract against the loopback Stripe fake."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from chalicelib.connectors.catalog import get_builtin
from chalicelib.connectors.errors import UpstreamRejected, UpstreamUnauthorized, UpstreamUnavailable
from tests.fakes.vendors.base import json_response
from tests.fakes.vendors.contract import RecordedSleeps, loopback_invoker
from tests.fakes.vendors.stripe import DEFAULT_SECRET_KEY, FakeStripe

STRIPE = get_builtin("stripe")


@pytest.fixture(autouse=True)
def _stack():
    """Overrides the integration conftest's stack: contract tests need only the vendor fake."""


@pytest.fixture(scope="module")
def stripe():
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def invoke(stripe):
    stripe.clear()

    def run(action, input=None, key=DEFAULT_SECRET_KEY, settings=None, **kwargs):
        with loopback_invoker() as invoker:
            return invoker.invoke(
                STRIPE,
                action,
                input=input or {},
                settings={"base_url": stripe.base_url, **(settings or {})},
                credentials={"secret_key": key},
                **kwargs,
            )

    return run


def test_the_test_action_authenticates_with_basic_and_the_secret_key(stripe):
    with loopback_invoker() as invoker:
        result = invoker.test_connection(
            STRIPE, settings={"base_url": stripe.base_url}, credentials={"secret_key": DEFAULT_SECRET_KEY}
        )
    assert result.output["object"] == "balance"
    assert (
        stripe.last.headers["authorization"]
        == "Basic " + base64.b64encode(f"{DEFAULT_SECRET_KEY}:".encode()).decode()
    )


def test_customers_are_created_form_encoded_then_retrieved_and_listed(stripe, invoke):
    created = invoke(
        "create_customer",
        {"body": {"email": "jane@example.com", "name": "Jane", "metadata": {"crm_id": "42"}}},
        settings={"api_version": "2024-06-20"},
    )
    assert created.output["id"].startswith("cus_") and created.output["metadata"] == {"crm_id": "42"}
    sent = stripe.last
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert urllib.parse.parse_qsl(sent.body.decode()) == [
        ("email", "jane@example.com"),
        ("name", "Jane"),
        ("metadata[crm_id]", "42"),
    ]
    assert sent.headers["stripe-version"] == "2024-06-20"
    fetched = invoke("retrieve_customer", {"path": {"id": created.output["id"]}})
    assert fetched.output["email"] == "jane@example.com"
    listed = invoke("list_customers", {"query": {"email": "jane@example.com", "limit": 5}})
    assert [c["id"] for c in listed.output["data"]] == [created.output["id"]]


def test_payment_intents_send_integers_and_nested_objects(stripe, invoke):
    result = invoke(
        "create_payment_intent",
        {"body": {"amount": 1999, "currency": "eur", "automatic_payment_methods": {"enabled": True}}},
    )
    assert result.output["amount"] == 1999 and result.output["status"] == "requires_payment_method"
    assert stripe.last.form() == {
        "amount": "1999",
        "currency": "eur",
        "automatic_payment_methods[enabled]": "true",
    }


def test_the_idempotency_key_makes_a_retried_create_safe(stripe, invoke):
    first = invoke("create_customer", {"body": {"email": "a@example.com"}}, idempotency_key="run-7:node-3:1")
    again = invoke("create_customer", {"body": {"email": "a@example.com"}}, idempotency_key="run-7:node-3:1")
    assert first.output["id"] == again.output["id"]
    assert again.trace.response.headers.get("idempotent-replayed") == "true"
    assert all(r.headers["idempotency-key"] == "run-7:node-3:1" for r in stripe.requests)


def test_a_5xx_on_create_is_retried_only_with_an_idempotency_key(stripe, invoke):
    stripe.script(json_response(500, {"error": {"type": "api_error", "message": "boom"}}))
    with pytest.raises(UpstreamUnavailable):
        invoke("create_customer", {"body": {"email": "b@example.com"}})
    assert len(stripe.requests) == 1
    stripe.clear()
    stripe.script(json_response(500, {"error": {"type": "api_error", "message": "boom"}}))
    result = invoke("create_customer", {"body": {"email": "b@example.com"}}, idempotency_key="run-8:node-1:1")
    assert result.status == 200 and len(stripe.requests) == 2


def test_stripe_error_shapes_map_to_errors_with_vendor_type_and_message(invoke):
    with pytest.raises(UpstreamRejected) as missing:
        invoke("retrieve_customer", {"path": {"id": "cus_nope"}})
    assert missing.value.upstream_status == 404 and missing.value.vendor_code == "invalid_request_error"
    assert "No such customer" in missing.value.message
    with pytest.raises(UpstreamRejected) as declined:
        invoke(
            "create_payment_intent",
            {
                "body": {
                    "amount": 500,
                    "currency": "usd",
                    "confirm": True,
                    "payment_method": "pm_card_chargeDeclined",
                }
            },
        )
    assert declined.value.upstream_status == 402 and declined.value.vendor_code == "card_error"
    assert declined.value.retryable is False


def test_a_wrong_key_is_unauthorized_and_masked_everywhere(invoke):
    wrong = "sk_test_51WrongKeyWrongKeyWrongKey99"
    with pytest.raises(UpstreamUnauthorized) as caught:
        invoke("retrieve_balance", key=wrong)
    trace = json.dumps(caught.value.trace.to_dict())
    assert wrong not in trace and wrong not in caught.value.message
    assert caught.value.trace.request.headers["Authorization"].startswith("Basic ••••")


def test_a_rate_limit_is_waited_out(stripe, invoke):
    stripe.script(
        json_response(
            429, {"error": {"type": "rate_limit_error", "message": "Too many requests"}}, {"Retry-After": "1"}
        )
    )
    sleeps = RecordedSleeps()
    with loopback_invoker(sleep=sleeps) as invoker:
        result = invoker.invoke(
            STRIPE,
            "retrieve_balance",
            input={},
            settings={"base_url": stripe.base_url},
            credentials={"secret_key": DEFAULT_SECRET_KEY},
        )
    assert result.status == 200 and sleeps == [1.0]
