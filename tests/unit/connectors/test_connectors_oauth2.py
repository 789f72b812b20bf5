"""OAuth2 client logic: signed state, PKCE, token exchange and refresh (in-memory transport)."""

from __future__ import annotations

import base64
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.connectors.catalog import get_builtin
from chalicelib.connectors.errors import UpstreamConnectionFailed
from chalicelib.connectors.oauth2 import (
    OAuth2Client,
    OAuth2ClientConfig,
    OAuth2Invalid,
    OAuth2ProviderUnavailable,
    OAuth2RefreshFailed,
    StateSigner,
    TokenSet,
    build_authorization,
    expires_at_from,
    needs_refresh,
    pkce_challenge,
)
from chalicelib.errors import ConfigurationError
from tests.fakes.vendors.scripted_transport import ScriptedTransport, raw

KEY = b"k" * 32
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CONFIG = OAuth2ClientConfig(
    authorize_url="https://idp.example/authorize?prompt=consent",
    token_url="https://idp.example/token",
    client_id="client-1",
    client_secret="client-secret-value-123",
    redirect_uri="https://app.example/oauth/callback",
    scopes=("read", "write"),
)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_pkce_challenge_matches_the_rfc_7636_example():
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_a_state_verifies_and_tells_tenant_and_connection():
    signer = StateSigner(KEY)
    state = signer.verify(signer.issue("tenant-a", "conn-1"), tenant_id="tenant-a")
    assert (state.tenant_id, state.connection_id) == ("tenant-a", "conn-1")


def test_a_tampered_state_is_invalid():
    signer = StateSigner(KEY)
    payload, signature = signer.issue("tenant-a", "conn-1").split(".")
    forged = (
        base64.urlsafe_b64encode(b'{"c":"conn-9","e":9999999999,"n":"x","t":"tenant-b"}')
        .rstrip(b"=")
        .decode()
    )
    for bad in (f"{forged}.{signature}", f"{payload}.{signature[:-2]}AA", "garbage", ""):
        with pytest.raises(OAuth2Invalid):
            signer.verify(bad)


def test_a_state_signed_with_another_key_is_invalid():
    state = StateSigner(b"o" * 32).issue("t", "c")
    with pytest.raises(OAuth2Invalid):
        StateSigner(KEY).verify(state)


def test_a_state_expires():
    clock = Clock()
    signer = StateSigner(KEY, ttl_seconds=60, clock=clock)
    state = signer.issue("t", "c")
    clock.now += 59
    signer.verify(state)
    clock.now += 1
    with pytest.raises(OAuth2Invalid, match="expired"):
        signer.verify(state)


def test_a_state_for_another_tenant_is_invalid():
    signer = StateSigner(KEY)
    with pytest.raises(OAuth2Invalid):
        signer.verify(signer.issue("tenant-a", "c"), tenant_id="tenant-b")


def test_old_keys_still_verify_after_rotation_and_derive_the_same_verifier():
    old = StateSigner(b"o" * 32)
    state = old.issue("t", "c")
    rotated = StateSigner([KEY, b"o" * 32])
    assert rotated.code_verifier(rotated.verify(state)) == old.code_verifier(old.verify(state))


def test_weak_keys_are_refused():
    with pytest.raises(ConfigurationError):
        StateSigner(b"short")


def test_the_authorize_url_carries_state_scopes_and_an_s256_challenge():
    signer = StateSigner(KEY)
    request = build_authorization(CONFIG, signer, tenant_id="t", connection_id="c")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query))
    assert query["prompt"] == "consent" and query["response_type"] == "code"
    assert query["client_id"] == "client-1" and query["redirect_uri"] == CONFIG.redirect_uri
    assert query["scope"] == "read write" and query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == pkce_challenge(request.code_verifier)
    assert signer.code_verifier(signer.verify(query["state"])) == request.code_verifier
    assert 43 <= len(request.code_verifier) <= 128
    assert "client-secret" not in request.url


def test_config_from_a_connector_takes_its_oauth2_settings():
    config = OAuth2ClientConfig.from_connector(
        get_builtin("hubspot"), client_id="id", client_secret="s", redirect_uri="https://a/cb"
    )
    assert config.client_auth == "client_secret_post" and config.pkce is False
    with pytest.raises(ConfigurationError):
        OAuth2ClientConfig.from_connector(
            get_builtin("slack"), client_id="i", client_secret="s", redirect_uri="r"
        )


def test_code_exchange_uses_basic_client_auth_and_computes_expiry():
    transport = ScriptedTransport(
        raw(
            200, {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-1"}
        )
    )
    tokens = OAuth2Client(CONFIG, transport, clock=lambda: NOW).exchange_code(
        "code-1", code_verifier="v" * 43
    )
    assert tokens.access_token == "at-1" and tokens.refresh_token == "rt-1"
    assert tokens.expires_at == NOW + timedelta(hours=1)
    sent = transport.sent[0]
    form = dict(urllib.parse.parse_qsl(sent.body.decode()))
    assert form == {
        "grant_type": "authorization_code",
        "code": "code-1",
        "redirect_uri": CONFIG.redirect_uri,
        "code_verifier": "v" * 43,
    }
    assert (
        sent.headers["Authorization"]
        == "Basic " + base64.b64encode(b"client-1:client-secret-value-123").decode()
    )


def test_a_refused_code_is_invalid_and_the_message_hides_secrets():
    described = "code code-1-long-enough already used by client-secret-value-123"
    transport = ScriptedTransport(raw(400, {"error": "invalid_grant", "error_description": described}))
    with pytest.raises(OAuth2Invalid) as caught:
        OAuth2Client(CONFIG, transport).exchange_code("code-1-long-enough")
    assert "invalid_grant" in caught.value.message
    assert (
        "code-1-long-enough" not in caught.value.message
        and "client-secret-value-123" not in caught.value.message
    )


def test_refresh_keeps_the_old_refresh_token_when_the_provider_does_not_rotate_it():
    config = OAuth2ClientConfig(**{**CONFIG.__dict__, "client_auth": "client_secret_post"})
    transport = ScriptedTransport(raw(200, {"access_token": "at-2", "expires_in": "1800"}))
    tokens = OAuth2Client(config, transport, clock=lambda: NOW).refresh("rt-old")
    assert tokens.refresh_token == "rt-old" and tokens.expires_at == NOW + timedelta(minutes=30)
    form = dict(urllib.parse.parse_qsl(transport.sent[0].body.decode()))
    assert (
        form["client_secret"] == "client-secret-value-123"
        and "Authorization" not in transport.sent[0].headers
    )


def test_a_refused_refresh_is_refresh_failed_not_retryable():
    transport = ScriptedTransport(raw(400, {"error": "invalid_grant"}))
    with pytest.raises(OAuth2RefreshFailed) as caught:
        OAuth2Client(CONFIG, transport).refresh("rt-revoked-token")
    assert caught.value.code == "oauth2_refresh_failed" and caught.value.retryable is False


@pytest.mark.parametrize("step", [raw(503, {}), raw(429, {}), UpstreamConnectionFailed()])
def test_an_unreachable_or_busy_provider_is_retryable(step):
    with pytest.raises(OAuth2ProviderUnavailable) as caught:
        OAuth2Client(CONFIG, ScriptedTransport(step)).refresh("rt-1")
    assert caught.value.retryable is True


def test_a_token_answer_without_access_token_is_invalid():
    with pytest.raises(OAuth2Invalid):
        OAuth2Client(CONFIG, ScriptedTransport(raw(200, {"token_type": "bearer"}))).exchange_code("c")


def test_form_encoded_token_answers_are_read_too():
    transport = ScriptedTransport(
        raw(
            200,
            "access_token=at-9&token_type=bearer&scope=repo",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
    )
    assert OAuth2Client(CONFIG, transport).exchange_code("c").access_token == "at-9"


def test_expiry_and_refresh_timing():
    assert expires_at_from(60, NOW) == NOW + timedelta(seconds=60)
    assert (
        expires_at_from(None, NOW) is None
        and expires_at_from("x", NOW) is None
        and expires_at_from(0, NOW) is None
    )
    assert needs_refresh(NOW + timedelta(seconds=30), NOW) is True
    assert needs_refresh(NOW + timedelta(minutes=5), NOW) is False
    assert needs_refresh(NOW + timedelta(minutes=5), NOW, skew=timedelta(minutes=10)) is True
    assert needs_refresh("2026-11-22T10:00:30Z", NOW) is True
    assert needs_refresh(None, NOW) is False


def test_token_sets_hide_tokens_in_repr_and_serialise_for_storage():
    tokens = TokenSet(access_token="at-secret", refresh_token="rt-secret", expires_at=NOW, scope="a b")
    assert "secret" not in repr(tokens)
    assert tokens.to_credentials() == {
        "access_token": "at-secret",
        "token_type": "bearer",
        "refresh_token": "rt-secret",
        "expires_at": "2026-11-22T10:00:00Z",
        "scope": "a b",
    }
