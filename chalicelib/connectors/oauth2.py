"""OAuth2 authorization code flow with refresh, for connections of ``oauth2`` apps.

- ``StateSigner`` issues the ``state`` parameter: HMAC-SHA256 over tenant,
  connection, nonce and expiry with a server key (several keys verify, so the
  key can rotate). The PKCE S256 verifier is derived from the same key and the
  state's nonce, so the callback needs no stored verifier and an intercepted
  ``code`` + ``state`` is useless without the server key.
- ``OAuth2Client`` exchanges codes and refreshes tokens at the token endpoint
  through the same ``HttpTransport`` port as the invoker.

Errors: ``OAuth2Invalid`` (bad/expired state, code refused, malformed token
answer: the user must start again), ``OAuth2RefreshFailed`` (the provider
refused the refresh token: the connection must be re-authorized),
``OAuth2ProviderUnavailable`` (network, 429 or 5xx: retry later).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.connectors.definition import ConnectorDefinition, OAuth2Auth
from chalicelib.connectors.http_transport import HttpTransport, OutboundRequest, Timeouts, default_transport
from chalicelib.errors import BadRequest, ConfigurationError, DependencyUnavailable, SteplineError
from chalicelib.masking import SecretMasker

DEFAULT_STATE_TTL = 600
DEFAULT_REFRESH_SKEW = timedelta(seconds=60)
_TOKEN_TIMEOUTS = Timeouts(connect=5.0, read=15.0, total=20.0)
_MAX_TOKEN_RESPONSE = 64 * 1024


class OAuth2Invalid(BadRequest):
    """The authorization cannot complete: bad or expired state, code refused, or a malformed token answer."""

    code = "oauth2_invalid"


class OAuth2RefreshFailed(SteplineError):
    """The provider refused the refresh token; the connection must be authorized again."""

    status, code, default_message = 424, "oauth2_refresh_failed", "The OAuth2 refresh was refused."


class OAuth2ProviderUnavailable(DependencyUnavailable):
    """The token endpoint could not be reached or answered 429/5xx."""

    code = "oauth2_provider_unavailable"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636 §4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class OAuthState:
    """What a verified ``state`` says."""

    tenant_id: str
    connection_id: str
    nonce: str
    expires_at: int
    key_index: int = field(default=0, repr=False)
    redirect_uri: str | None = None  # the one the authorization was started with


class StateSigner:
    """Signs and verifies ``state`` values; derives PKCE verifiers from them."""

    def __init__(
        self,
        keys: bytes | Sequence[bytes],
        *,
        ttl_seconds: int = DEFAULT_STATE_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = [keys] if isinstance(keys, bytes) else list(keys)
        if not self._keys or any(len(k) < 32 for k in self._keys):
            raise ConfigurationError("OAuth2 state keys must be at least 32 bytes.")
        if not 30 <= ttl_seconds <= 3600:
            raise ConfigurationError("OAuth2 state TTL must be between 30 and 3600 seconds.")
        self._ttl = ttl_seconds
        self._clock = clock

    def _mac(self, key: bytes, payload: str) -> str:
        return _b64url(
            hmac.new(key, b"stepline-oauth2-state:" + payload.encode("ascii"), hashlib.sha256).digest()
        )

    def issue(self, tenant_id: str, connection_id: str, redirect_uri: str | None = None) -> str:
        claims: dict[str, Any] = {
            "t": tenant_id,
            "c": connection_id,
            "n": secrets.token_urlsafe(16),
            "e": int(self._clock()) + self._ttl,
        }
        if redirect_uri:
            claims["r"] = redirect_uri
        payload = _b64url(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"{payload}.{self._mac(self._keys[0], payload)}"

    def verify(self, state: str, *, tenant_id: str | None = None) -> OAuthState:
        """The state's claims; ``OAuth2Invalid`` when forged, malformed, expired or for another tenant."""
        payload, _, signature = (state or "").partition(".")
        if not payload or not signature:
            raise OAuth2Invalid("The OAuth2 state is malformed.")
        key_index = next(
            (
                i
                for i, key in enumerate(self._keys)
                if hmac.compare_digest(self._mac(key, payload), signature)
            ),
            None,
        )
        if key_index is None:
            raise OAuth2Invalid("The OAuth2 state signature is invalid.")
        try:
            claims = json.loads(_b64url_decode(payload))
            redirect = claims.get("r")
            parsed = OAuthState(
                str(claims["t"]), str(claims["c"]), str(claims["n"]), int(claims["e"]), key_index,
                str(redirect) if redirect else None,
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise OAuth2Invalid("The OAuth2 state is malformed.") from exc
        if parsed.expires_at <= self._clock():
            raise OAuth2Invalid("The OAuth2 state has expired; start the authorization again.")
        if tenant_id is not None and not hmac.compare_digest(parsed.tenant_id, tenant_id):
            raise OAuth2Invalid("The OAuth2 state belongs to another tenant.")
        return parsed

    def code_verifier(self, state: OAuthState) -> str:
        """The PKCE verifier bound to this state (43 characters, RFC 7636)."""
        key = self._keys[state.key_index]
        return _b64url(
            hmac.new(key, b"stepline-pkce:" + state.nonce.encode("ascii"), hashlib.sha256).digest()
        )


@dataclass(frozen=True)
class OAuth2ClientConfig:
    """Everything needed to talk to one provider for one OAuth app."""

    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str = ""
    scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    pkce: bool = True
    client_auth: str = "client_secret_basic"
    authorize_params: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_connector(
        cls, connector: ConnectorDefinition, *, client_id: str, client_secret: str | None, redirect_uri: str
    ) -> OAuth2ClientConfig:
        auth = connector.auth
        if not isinstance(auth, OAuth2Auth):
            raise ConfigurationError(f"Connector {connector.slug!r} does not use OAuth2.")
        return cls(
            authorize_url=auth.authorize_url,
            token_url=auth.token_url,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            scopes=auth.scopes,
            scope_separator=auth.scope_separator,
            pkce=auth.pkce,
            client_auth=auth.client_auth,
            authorize_params=dict(auth.authorize_params),
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the user, and the state it carries."""

    url: str
    state: str
    code_verifier: str | None = field(default=None, repr=False)


def build_authorization(
    config: OAuth2ClientConfig, signer: StateSigner, *, tenant_id: str, connection_id: str
) -> AuthorizationRequest:
    """The authorize URL with a signed, expiring state and (when enabled) a PKCE S256 challenge."""
    state = signer.issue(tenant_id, connection_id, config.redirect_uri)
    verifier = signer.code_verifier(signer.verify(state)) if config.pkce else None
    params: dict[str, str] = {
        **config.authorize_params,
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": config.redirect_uri,
        "state": state,
    }
    if config.scopes:
        params["scope"] = config.scope_separator.join(config.scopes)
    if verifier:
        params["code_challenge"] = pkce_challenge(verifier)
        params["code_challenge_method"] = "S256"
    separator = "&" if urllib.parse.urlsplit(config.authorize_url).query else "?"
    url = config.authorize_url + separator + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return AuthorizationRequest(url=url, state=state, code_verifier=verifier)


@dataclass(frozen=True)
class TokenSet:
    """Tokens from the provider; ``to_credentials()`` is what a connection stores (encrypted)."""

    access_token: str = field(repr=False)
    token_type: str = "bearer"
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    scope: str | None = None

    def to_credentials(self) -> dict[str, Any]:
        creds: dict[str, Any] = {"access_token": self.access_token, "token_type": self.token_type}
        if self.refresh_token:
            creds["refresh_token"] = self.refresh_token
        if self.expires_at:
            creds["expires_at"] = self.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.scope:
            creds["scope"] = self.scope
        return creds


def expires_at_from(expires_in: Any, now: datetime) -> datetime | None:
    """``now + expires_in`` seconds; ``None`` when the provider gave no (usable) lifetime."""
    try:
        seconds = int(float(expires_in))
    except (TypeError, ValueError):
        return None
    return now + timedelta(seconds=seconds) if seconds > 0 else None


def _as_datetime(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def needs_refresh(
    expires_at: datetime | str | None, now: datetime, skew: timedelta = DEFAULT_REFRESH_SKEW
) -> bool:
    """Whether a token expiring at ``expires_at`` should be refreshed now (``skew`` early).

    A token without expiry (e.g. a HubSpot private-app token) never needs refreshing.
    """
    when = _as_datetime(expires_at)
    return when is not None and now + skew >= when


class OAuth2Client:
    """Talks to one provider's token endpoint."""

    def __init__(
        self,
        config: OAuth2ClientConfig,
        transport: HttpTransport | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._config = config
        self._transport = transport
        self._clock = clock

    def exchange_code(self, code: str, *, code_verifier: str | None = None) -> TokenSet:
        """Trade an authorization code for tokens; ``OAuth2Invalid`` when the provider refuses it."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self._config.redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        masker = SecretMasker([code, code_verifier or "", self._config.client_secret or ""])
        return self._token_request(form, masker, refused=OAuth2Invalid, previous_refresh=None)

    def refresh(self, refresh_token: str) -> TokenSet:
        """New tokens from a refresh token (the old one is kept when the provider does not rotate)."""
        if not refresh_token:
            raise OAuth2RefreshFailed("The connection has no refresh token; authorize it again.")
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if self._config.scopes:
            form["scope"] = self._config.scope_separator.join(self._config.scopes)
        masker = SecretMasker([refresh_token, self._config.client_secret or ""])
        return self._token_request(form, masker, refused=OAuth2RefreshFailed, previous_refresh=refresh_token)

    def _token_request(
        self,
        form: dict[str, str],
        masker: SecretMasker,
        *,
        refused: type[SteplineError],
        previous_refresh: str | None,
    ) -> TokenSet:
        headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
        config = self._config
        if config.client_secret and config.client_auth == "client_secret_basic":
            # RFC 6749 §2.3.1: form-encode each part before base64.
            pair = (
                f"{urllib.parse.quote_plus(config.client_id)}:{urllib.parse.quote_plus(config.client_secret)}"
            )
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form["client_id"] = config.client_id
            if config.client_secret:
                form["client_secret"] = config.client_secret
        request = OutboundRequest(
            "POST", config.token_url, headers, urllib.parse.urlencode(form).encode("ascii")
        )
        transport = self._transport or default_transport()
        try:
            raw = transport.send(request, timeouts=_TOKEN_TIMEOUTS, max_response_bytes=_MAX_TOKEN_RESPONSE)
        except SteplineError as exc:
            raise OAuth2ProviderUnavailable("The OAuth2 token endpoint could not be reached.") from exc
        body = _parse_token_body(raw.body, raw.headers.get("content-type", ""))
        if raw.status == 429 or raw.status >= 500:
            raise OAuth2ProviderUnavailable(f"The OAuth2 token endpoint answered HTTP {raw.status}.")
        if raw.status >= 400 or "error" in body:
            reason = str(body.get("error") or f"http_{raw.status}")
            description = str(body.get("error_description") or "")[:200]
            raise refused(masker.text(f"The provider refused the grant ({reason}). {description}".strip()))
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise OAuth2Invalid("The token endpoint's answer has no access_token.")
        new_refresh = body.get("refresh_token")
        return TokenSet(
            access_token=access_token,
            token_type=str(body.get("token_type") or "bearer"),
            refresh_token=new_refresh if isinstance(new_refresh, str) and new_refresh else previous_refresh,
            expires_at=expires_at_from(body.get("expires_in"), self._clock()),
            scope=body.get("scope") if isinstance(body.get("scope"), str) else None,
        )


def _parse_token_body(body: bytes, content_type: str) -> dict[str, Any]:
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return dict(urllib.parse.parse_qsl(text))
