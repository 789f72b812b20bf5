"""The OAuth2 authorization-code flow with PKCE against the fake authorization server."""

from __future__ import annotations

import dataclasses
import urllib.parse

import httpx
import pytest

from chalicelib.connectors.http_transport import HttpxTransport
from chalicelib.connectors.oauth2 import (
    OAuth2Client,
    OAuth2ClientConfig,
    OAuth2Invalid,
    OAuth2ProviderUnavailable,
    OAuth2RefreshFailed,
    StateSigner,
    build_authorization,
)
from tests.fakes.vendors.oauth_server import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeOAuthServer

REDIRECT = "https://app.stepline.example/oauth/callback"
SIGNER = StateSigner(b"state-key-" + b"x" * 22)


@pytest.fixture(autouse=True)
def _stack():
    """Overrides the integration conftest's stack: these tests need only the fake authorization server."""


@pytest.fixture(scope="module")
def idp():
    with FakeOAuthServer() as fake:
        yield fake


@pytest.fixture
def http():
    with httpx.Client(trust_env=False) as client:
        yield client


@pytest.fixture
def config(idp) -> OAuth2ClientConfig:
    idp.fail_refresh = None
    idp.rotate_refresh_tokens = True
    return OAuth2ClientConfig(
        authorize_url=idp.authorize_url,
        token_url=idp.token_url,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        redirect_uri=REDIRECT,
        scopes=("contacts.read", "contacts.write"),
        pkce=True,
        client_auth="client_secret_basic",
    )


def consent(http: httpx.Client, config: OAuth2ClientConfig) -> tuple[str, str]:
    """Follow the authorize URL as the browser would; returns (code, state) from the redirect."""
    start = build_authorization(config, SIGNER, tenant_id="acme", connection_id="conn-1")
    answer = http.get(start.url, follow_redirects=False)
    assert answer.status_code == 302 and answer.headers["location"].startswith(REDIRECT)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["location"]).query))
    return query["code"], query["state"]


def test_code_exchange_with_pkce_and_basic_client_auth(http, idp, config):
    code, state = consent(http, config)
    verified = SIGNER.verify(state, tenant_id="acme")
    tokens = OAuth2Client(config, HttpxTransport(http)).exchange_code(
        code, code_verifier=SIGNER.code_verifier(verified)
    )
    assert (
        tokens.access_token in idp.access_tokens
        and tokens.refresh_token
        and tokens.scope == "contacts.read contacts.write"
    )
    assert idp.last.headers["authorization"].startswith("Basic ") and "client_secret" not in idp.last.form()


def test_a_wrong_pkce_verifier_is_refused(http, config):
    code, _ = consent(http, config)
    with pytest.raises(OAuth2Invalid):
        OAuth2Client(config, HttpxTransport(http)).exchange_code(code, code_verifier="w" * 43)


def test_a_code_cannot_be_used_twice(http, config):
    code, state = consent(http, config)
    verifier = SIGNER.code_verifier(SIGNER.verify(state))
    client = OAuth2Client(config, HttpxTransport(http))
    client.exchange_code(code, code_verifier=verifier)
    with pytest.raises(OAuth2Invalid):
        client.exchange_code(code, code_verifier=verifier)


def test_wrong_client_credentials_are_refused(http, config):
    code, state = consent(http, config)
    bad = dataclasses.replace(config, client_secret="not-the-secret-at-all")
    with pytest.raises(OAuth2Invalid) as caught:
        OAuth2Client(bad, HttpxTransport(http)).exchange_code(
            code, code_verifier=SIGNER.code_verifier(SIGNER.verify(state))
        )
    assert "not-the-secret-at-all" not in caught.value.message


def test_refresh_rotates_the_refresh_token_and_the_old_one_stops_working(http, config):
    code, state = consent(http, config)
    client = OAuth2Client(config, HttpxTransport(http))
    first = client.exchange_code(code, code_verifier=SIGNER.code_verifier(SIGNER.verify(state)))
    second = client.refresh(first.refresh_token)
    assert second.access_token != first.access_token and second.refresh_token != first.refresh_token
    with pytest.raises(OAuth2RefreshFailed):
        client.refresh(first.refresh_token)


def test_a_provider_that_does_not_rotate_keeps_the_refresh_token(http, idp, config):
    idp.rotate_refresh_tokens = False
    code, state = consent(http, config)
    client = OAuth2Client(config, HttpxTransport(http))
    first = client.exchange_code(code, code_verifier=SIGNER.code_verifier(SIGNER.verify(state)))
    assert client.refresh(first.refresh_token).refresh_token == first.refresh_token


def test_refresh_failures_are_told_apart(http, idp, config):
    code, state = consent(http, config)
    client = OAuth2Client(config, HttpxTransport(http))
    tokens = client.exchange_code(code, code_verifier=SIGNER.code_verifier(SIGNER.verify(state)))
    idp.fail_refresh = 503
    with pytest.raises(OAuth2ProviderUnavailable) as unavailable:
        client.refresh(tokens.refresh_token)
    assert unavailable.value.retryable is True
    idp.fail_refresh = "invalid_grant"
    with pytest.raises(OAuth2RefreshFailed) as refused:
        client.refresh(tokens.refresh_token)
    assert refused.value.retryable is False and refused.value.code == "oauth2_refresh_failed"
