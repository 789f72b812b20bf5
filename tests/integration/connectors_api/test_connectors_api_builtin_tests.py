"""Every built-in connector's test action, through ``POST …/connections/{id}/test``, against its fake."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.connectors.catalog import builtin_slugs
from tests.fakes.vendors import github, hubspot, sendgrid, shopify, slack, stripe
from tests.fakes.vendors.base import FakeVendorServer
from tests.fakes.vendors.httpbin import FakeHttpBin
from tests.integration.connectors_api.connector_docs import unique


@dataclass(frozen=True)
class Case:
    fake: Callable[[], FakeVendorServer]
    secrets: dict[str, Any]
    settings: Callable[[FakeVendorServer], dict[str, Any]]
    secret: str | None  # the value that must never come back


CASES: dict[str, Case] = {
    "http": Case(FakeHttpBin, {}, lambda f: {"base_url": f.base_url}, None),
    "slack": Case(
        slack.FakeSlack,
        {"token": slack.DEFAULT_TOKEN},
        lambda f: {"base_url": f.base_url},
        slack.DEFAULT_TOKEN,
    ),
    "github": Case(
        github.FakeGitHub,
        {"token": github.DEFAULT_TOKEN},
        lambda f: {"base_url": f.base_url},
        github.DEFAULT_TOKEN,
    ),
    "stripe": Case(
        stripe.FakeStripe,
        {"secret_key": stripe.DEFAULT_SECRET_KEY},
        lambda f: {"base_url": f.base_url},
        stripe.DEFAULT_SECRET_KEY,
    ),
    "shopify": Case(
        shopify.FakeShopify,
        {"access_token": shopify.DEFAULT_TOKEN},
        lambda f: {"shop": "acme", "base_url": f.base_url},
        shopify.DEFAULT_TOKEN,
    ),
    "sendgrid": Case(
        sendgrid.FakeSendGrid,
        {"api_key": sendgrid.DEFAULT_API_KEY},
        lambda f: {"base_url": f.base_url},
        sendgrid.DEFAULT_API_KEY,
    ),
    "hubspot": Case(
        hubspot.FakeHubSpot,
        {"access_token": hubspot.PRIVATE_APP_TOKEN},
        lambda f: {"base_url": f.base_url},
        hubspot.PRIVATE_APP_TOKEN,
    ),
}


def test_every_builtin_connector_has_a_case():
    assert sorted(CASES) == builtin_slugs()


@pytest.mark.parametrize("slug", sorted(CASES))
def test_the_builtin_test_action_passes_against_its_fake(api, builder, ws, slug):
    case = CASES[slug]
    with case.fake() as fake:
        created = api.post(
            f"/api/workspaces/{ws}/connections",
            {
                "name": unique(slug),
                "app_id": f"builtin:{slug}",
                "settings": case.settings(fake),
                "secrets": case.secrets,
            },
            token=builder,
        )
        assert created.status == 201, created.body
        reply = api.post(f"/api/workspaces/{ws}/connections/{created.body['id']}/test", token=builder)
        assert reply.status == 200, reply.body
        assert reply.body["ok"] is True, reply.body.get("error")
        assert reply.body["connection"]["status"] == "ok" and 200 <= reply.body["status"] < 300
        assert len(fake.requests) == 1 and reply.body["attempts"][0]["status"] == reply.body["status"]
        if case.secret:
            assert (
                case.secret in fake.requests[0].raw_text or _basic(case.secret) in fake.requests[0].raw_text
            )
            assert case.secret not in str(reply.body) and case.secret not in str(created.body)
        # WHEN the credential is wrong THEN the test says so and the connection turns invalid
        if case.secrets:
            wrong = {k: v[:-4] + "zzzz" for k, v in case.secrets.items()}
            api.post(
                f"/api/workspaces/{ws}/connections/{created.body['id']}/rotate",
                {"secrets": wrong},
                token=builder,
            )
            refused = api.post(f"/api/workspaces/{ws}/connections/{created.body['id']}/test", token=builder)
            assert refused.body["ok"] is False and refused.body["error"]["code"] == "upstream_unauthorized"
            assert refused.body["connection"]["status"] == "invalid"


def _basic(secret: str) -> str:
    import base64

    return base64.b64encode(f"{secret}:".encode()).decode()
