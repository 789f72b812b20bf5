"""A fake OAuth2 authorization server: ``/authorize`` and ``/token`` (authorization_code
with PKCE S256 verification, refresh_token), with switches to make refresh fail."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from tests.fakes.vendors.base import FakeResponse, FakeVendorServer, RecordedRequest, json_response

DEFAULT_CLIENT_ID = "fake-client-id"
DEFAULT_CLIENT_SECRET = "fake-client-secret-0123456789abcdef"


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    used: bool = False


def oauth_error(status: int, error: str, description: str = "") -> FakeResponse:
    return json_response(
        status, {"error": error, "error_description": description}, {"Cache-Control": "no-store"}
    )


class FakeOAuthServer(FakeVendorServer):
    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        expires_in: int = 1800,
        rotate_refresh_tokens: bool = True,
        on_token_issued: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.on_token_issued = on_token_issued
        #: Set to an OAuth error code (e.g. "invalid_grant") to refuse refreshes, or to an int status.
        self.fail_refresh: str | int | None = None
        self.grants: dict[str, _Grant] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> scope
        self.access_tokens: list[str] = []
        self._lock = threading.Lock()
        self.route("GET", r"/authorize", self._authorize)
        self.route("POST", r"/token", self._token)

    @property
    def authorize_url(self) -> str:
        return self.origin + "/authorize"

    @property
    def token_url(self) -> str:
        return self.origin + "/token"

    # --- /authorize ------------------------------------------------------------------------------

    def _authorize(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        arg = request.arg
        if arg("client_id") != self.client_id:
            return oauth_error(400, "invalid_client", "unknown client")
        redirect_uri = arg("redirect_uri") or ""
        if not redirect_uri.startswith(("http://", "https://")):
            return oauth_error(400, "invalid_request", "bad redirect_uri")
        if arg("response_type") != "code":
            return self._redirect(
                redirect_uri, {"error": "unsupported_response_type", "state": arg("state", "")}
            )
        challenge = arg("code_challenge")
        if challenge and arg("code_challenge_method") != "S256":
            return self._redirect(redirect_uri, {"error": "invalid_request", "state": arg("state", "")})
        code = secrets.token_urlsafe(16)
        with self._lock:
            self.grants[code] = _Grant(self.client_id, redirect_uri, arg("scope", "") or "", challenge)
        return self._redirect(redirect_uri, {"code": code, "state": arg("state", "") or ""})

    @staticmethod
    def _redirect(redirect_uri: str, params: dict[str, str]) -> FakeResponse:
        separator = "&" if "?" in redirect_uri else "?"
        return FakeResponse(
            status=302, headers={"Location": redirect_uri + separator + urllib.parse.urlencode(params)}
        )

    # --- /token ----------------------------------------------------------------------------------

    def _client_ok(self, request: RecordedRequest, form: dict[str, str]) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            raw = base64.b64decode(header[6:]).decode()
            cid, _, secret = raw.partition(":")
            return (
                urllib.parse.unquote_plus(cid) == self.client_id
                and urllib.parse.unquote_plus(secret) == self.client_secret
            )
        return form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret

    def _token(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        form = request.form()
        if not self._client_ok(request, form):
            return oauth_error(401, "invalid_client", "client authentication failed")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange(form)
        if grant_type == "refresh_token":
            return self._refresh(form)
        return oauth_error(400, "unsupported_grant_type")

    def _exchange(self, form: dict[str, str]) -> FakeResponse:
        with self._lock:
            grant = self.grants.get(form.get("code", ""))
            if grant is None or grant.used:
                return oauth_error(400, "invalid_grant", "code is invalid or already used")
            grant.used = True
        if form.get("redirect_uri") != grant.redirect_uri:
            return oauth_error(400, "invalid_grant", "redirect_uri mismatch")
        if grant.challenge:
            verifier = form.get("code_verifier", "")
            computed = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if not verifier or computed != grant.challenge:
                return oauth_error(400, "invalid_grant", "PKCE verification failed")
        return self._issue(grant.scope, refresh_token=None)

    def _refresh(self, form: dict[str, str]) -> FakeResponse:
        if isinstance(self.fail_refresh, int):
            return json_response(self.fail_refresh, {"error": "temporarily_unavailable"})
        if self.fail_refresh:
            return oauth_error(400, self.fail_refresh, "refresh token is revoked")
        token = form.get("refresh_token", "")
        with self._lock:
            scope = self.refresh_tokens.get(token)
            if scope is None:
                return oauth_error(400, "invalid_grant", "unknown refresh token")
            if self.rotate_refresh_tokens:
                del self.refresh_tokens[token]
        return self._issue(scope, refresh_token=None if self.rotate_refresh_tokens else token)

    def _issue(self, scope: str, *, refresh_token: str | None) -> FakeResponse:
        access = "at-" + secrets.token_urlsafe(24)
        payload = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "scope": scope,
        }
        with self._lock:
            self.access_tokens.append(access)
            if refresh_token is None:
                refresh_token = "rt-" + secrets.token_urlsafe(24)
                self.refresh_tokens[refresh_token] = scope
                payload["refresh_token"] = refresh_token
        if self.on_token_issued:
            self.on_token_issued(access)
        return json_response(200, payload, {"Cache-Control": "no-store"})
