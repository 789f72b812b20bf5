"""Browser sessions: the refresh token in an httpOnly cookie, with CSRF protection.

A browser client (the console) asks for this transport with the request header
``X-Session-Transport: cookie`` on any route that issues tokens (login,
refresh, change password, switch tenant, accept invite). The answer then

- carries the refresh token only in ``stepline_refresh`` — ``HttpOnly``,
  ``SameSite=Strict``, ``Path=/auth`` and ``Secure`` when the request came over
  TLS — so no page script can read it, and drops it from the JSON body;
- sets ``stepline_csrf``, readable by the page, whose value is derived one-way
  from the refresh token (so it is bound to this session and says nothing
  about the token).

``/auth/refresh`` and ``/auth/logout`` accept the cookie instead of a body
token only with an ``X-CSRF-Token`` header equal to the value derived from the
cookie's token (double submit, bound to the session). A cross-site page can
neither send the Strict cookie nor read the CSRF cookie to forge the header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from http.cookies import CookieError, SimpleCookie
from typing import Any

from chalice import Response

from chalicelib.config import get_settings
from chalicelib.errors import Forbidden
from chalicelib.http.responses import json_response

REFRESH_COOKIE = "stepline_refresh"
CSRF_COOKIE = "stepline_csrf"
TRANSPORT_HEADER = "x-session-transport"
CSRF_HEADER = "x-csrf-token"
REFRESH_COOKIE_PATH = "/auth"


class CsrfRejected(Forbidden):
    """A cookie-authenticated refresh/logout without the matching CSRF header."""

    code, default_message = "csrf_failed", "The CSRF token is missing or does not match this session."


def wants_cookie(headers: Any) -> bool:
    return (headers.get(TRANSPORT_HEADER) or "").strip().lower() == "cookie"


def csrf_for(refresh_token: str) -> str:
    digest = hashlib.sha256(b"stepline-csrf:" + refresh_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def cookies_of(headers: Any) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie") or "")
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def refresh_from_cookie(headers: Any) -> str | None:
    """The cookie's refresh token, after checking the CSRF header; None when there is no cookie."""
    token = cookies_of(headers).get(REFRESH_COOKIE)
    if not token:
        return None
    sent = headers.get(CSRF_HEADER) or ""
    if not hmac.compare_digest(sent.encode(), csrf_for(token).encode()):
        raise CsrfRejected()
    return token


def _secure(headers: Any) -> bool:
    proto = (headers.get("x-forwarded-proto") or "").strip().lower()
    return proto == "https" or get_settings().public_base_url.lower().startswith("https://")


def _cookie(name: str, value: str, *, path: str, max_age: int, http_only: bool, secure: bool) -> str:
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max_age}", "SameSite=Strict"]
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def session_response(result: dict[str, Any], headers: Any, *, max_age: int, status: int = 200) -> Response:
    """The token answer with the refresh token moved into the cookie (the body no longer holds it)."""
    body = dict(result)
    token = body.pop("refresh_token")
    body["refresh_token_transport"] = "cookie"
    secure = _secure(headers)
    cookies = [
        _cookie(REFRESH_COOKIE, token, path=REFRESH_COOKIE_PATH, max_age=max_age, http_only=True, secure=secure),
        _cookie(CSRF_COOKIE, csrf_for(token), path="/", max_age=max_age, http_only=False, secure=secure),
    ]
    return json_response(body, status=status, headers={"Set-Cookie": cookies, "Cache-Control": "no-store"})


def clearing_headers(headers: Any) -> dict[str, Any]:
    """Set-Cookie headers that remove both cookies."""
    secure = _secure(headers)
    return {"Set-Cookie": [
        _cookie(REFRESH_COOKIE, "", path=REFRESH_COOKIE_PATH, max_age=0, http_only=True, secure=secure),
        _cookie(CSRF_COOKIE, "", path="/", max_age=0, http_only=False, secure=secure),
    ]}
