"""HubSpot connector contract: the OAuth2 flow against the fake authorization server, then the CRM fake."""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from datetime import UTC, datetime

import httpx
import pytest

from chalicelib.connectors.catalog import get_builtin
from chalicelib.connectors.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnauthorized
from chalicelib.connectors.http_transport import HttpxTransport
from chalicelib.connectors.oauth2 import (
    OAuth2Client,
    OAuth2ClientConfig,
    OAuth2RefreshFailed,
    StateSigner,
    TokenSet,
    build_authorization,
)
from tests.fakes.vendors.base import FakeResponse
from tests.fakes.vendors.contract import loopback_invoker
from tests.fakes.vendors.hubspot import PRIVATE_APP_TOKEN, FakeHubSpot
from tests.fakes.vendors.oauth_server import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeOAuthServer

HUBSPOT = get_builtin("hubspot")
REDIRECT = "https://app.stepline.example/oauth/callback"


@pytest.fixture(autouse=True)
def _stack():
    """Overrides the integration conftest's stack: contract tests need only the vendor fakes."""


@pytest.fixture(scope="module")
def hubspot():
    with FakeHubSpot() as fake:
        yield fake


@pytest.fixture(scope="module")
def idp(hubspot):
    with FakeOAuthServer(on_token_issued=hubspot.add_token) as fake:
        yield fake


@pytest.fixture
def oauth_config(idp) -> OAuth2ClientConfig:
    config = OAuth2ClientConfig.from_connector(
        HUBSPOT, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, redirect_uri=REDIRECT
    )
    return dataclasses.replace(config, authorize_url=idp.authorize_url, token_url=idp.token_url)


def authorize(config: OAuth2ClientConfig, idp: FakeOAuthServer) -> TokenSet:
    """The browser leg (follow /authorize to the redirect) and the callback leg (verify state, exchange)."""
    signer = StateSigner(b"s" * 32)
    start = build_authorization(config, signer, tenant_id="acme", connection_id="conn-1")
    answer = httpx.get(start.url, follow_redirects=False, trust_env=False)
    assert answer.status_code == 302
    callback = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["location"]).query))
    state = signer.verify(callback["state"], tenant_id="acme")
    verifier = signer.code_verifier(state) if config.pkce else None
    with httpx.Client(trust_env=False) as client:
        return OAuth2Client(config, HttpxTransport(client)).exchange_code(
            callback["code"], code_verifier=verifier
        )


def run(hubspot, action, credentials, input=None, **kwargs):
    with loopback_invoker() as invoker:
        return invoker.invoke(
            HUBSPOT,
            action,
            input=input or {},
            settings={"base_url": hubspot.base_url},
            credentials=credentials,
            **kwargs,
        )


def test_the_oauth2_flow_yields_tokens_the_crm_accepts(hubspot, idp, oauth_config):
    tokens = authorize(oauth_config, idp)
    assert tokens.refresh_token and tokens.expires_at > datetime.now(UTC)
    token_request = idp.last
    assert token_request.form()["client_secret"] == DEFAULT_CLIENT_SECRET  # HubSpot: client_secret_post
    with loopback_invoker() as invoker:
        result = invoker.test_connection(
            HUBSPOT, settings={"base_url": hubspot.base_url}, credentials=tokens.to_credentials()
        )
    assert result.output["portalId"] == 62515
    assert hubspot.last.headers["authorization"] == f"Bearer {tokens.access_token}"


def test_a_private_app_token_works_without_refresh(hubspot):
    result = run(hubspot, "get_account_details", {"access_token": PRIVATE_APP_TOKEN})
    assert result.status == 200


def test_contacts_are_created_read_updated_and_searched(hubspot):
    creds = {"access_token": PRIVATE_APP_TOKEN}
    created = run(
        hubspot,
        "create_contact",
        creds,
        {"body": {"properties": {"email": "ada@example.com", "firstname": "Ada"}}},
    )
    contact_id = created.output["id"]
    assert created.status == 201
    fetched = run(
        hubspot, "get_contact", creds, {"path": {"contact_id": contact_id}, "query": {"properties": "email"}}
    )
    assert fetched.output["properties"] == {"email": "ada@example.com"}
    updated = run(
        hubspot,
        "update_contact",
        creds,
        {"path": {"contact_id": contact_id}, "body": {"properties": {"lastname": "L"}}},
    )
    assert updated.output["properties"]["lastname"] == "L" and hubspot.last.method == "PATCH"
    search = {
        "filterGroups": [
            {"filters": [{"propertyName": "email", "operator": "EQ", "value": "ada@example.com"}]}
        ]
    }
    assert run(hubspot, "search_contacts", creds, {"body": search}).output["total"] == 1


def test_hubspot_errors_map_with_their_category(hubspot):
    creds = {"access_token": PRIVATE_APP_TOKEN}
    run(hubspot, "create_contact", creds, {"body": {"properties": {"email": "dup@example.com"}}})
    with pytest.raises(UpstreamRejected) as conflict:
        run(hubspot, "create_contact", creds, {"body": {"properties": {"email": "dup@example.com"}}})
    assert conflict.value.upstream_status == 409 and conflict.value.vendor_code == "CONFLICT"
    with pytest.raises(UpstreamRejected) as missing:
        run(hubspot, "get_contact", creds, {"path": {"contact_id": "999999"}})
    assert missing.value.vendor_code == "OBJECT_NOT_FOUND"


def test_an_expired_token_is_refreshed_once_on_401_and_the_call_retried(hubspot, idp, oauth_config):
    # GIVEN a connection whose access token the CRM no longer accepts
    tokens = authorize(oauth_config, idp)
    hubspot.expire_token(tokens.access_token)
    refreshed: list[TokenSet] = []

    def on_unauthorized():
        with httpx.Client(trust_env=False) as client:
            fresh = OAuth2Client(oauth_config, HttpxTransport(client)).refresh(tokens.refresh_token)
        refreshed.append(fresh)
        return fresh.to_credentials()

    # WHEN an action runs
    result = run(hubspot, "get_account_details", tokens.to_credentials(), on_unauthorized=on_unauthorized)
    # THEN it refreshed once, retried with the new token, and no token is in the trace
    assert result.status == 200 and len(refreshed) == 1
    assert hubspot.last.headers["authorization"] == f"Bearer {refreshed[0].access_token}"
    trace = json.dumps(result.to_dict())
    assert tokens.access_token not in trace and refreshed[0].access_token not in trace


def test_a_revoked_refresh_token_surfaces_refresh_failed(hubspot, idp, oauth_config):
    tokens = authorize(oauth_config, idp)
    hubspot.expire_token(tokens.access_token)
    idp.fail_refresh = "invalid_grant"
    try:

        def on_unauthorized():
            with httpx.Client(trust_env=False) as client:
                return (
                    OAuth2Client(oauth_config, HttpxTransport(client))
                    .refresh(tokens.refresh_token)
                    .to_credentials()
                )

        with pytest.raises(OAuth2RefreshFailed) as caught:
            run(hubspot, "get_account_details", tokens.to_credentials(), on_unauthorized=on_unauthorized)
        assert caught.value.retryable is False and tokens.refresh_token not in caught.value.message
    finally:
        idp.fail_refresh = None


def test_expired_authentication_without_refresh_is_unauthorized(hubspot):
    hubspot.expire_token("pat-na1-old-token-000000")
    with pytest.raises(UpstreamUnauthorized) as caught:
        run(hubspot, "get_account_details", {"access_token": "pat-na1-old-token-000000"})
    assert caught.value.vendor_code == "EXPIRED_AUTHENTICATION"


def test_hubspot_rate_limits_are_retryable(hubspot):
    hubspot.script(
        FakeResponse(
            status=429,
            json_body={
                "status": "error",
                "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT",
                "category": "RATE_LIMITS",
                "policyName": "SECONDLY",
            },
        )
    )
    with pytest.raises(UpstreamRateLimited) as caught:
        run(hubspot, "get_account_details", {"access_token": PRIVATE_APP_TOKEN}, timeout=0.5)
    assert caught.value.retryable is True and caught.value.vendor_code == "RATE_LIMITS"
