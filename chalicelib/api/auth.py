"""``/auth/*``: sign-in, sessions and passwords."""

from __future__ import annotations

import datetime as dt
from typing import Any

from chalice import Response

from chalicelib.api.contract import Accepted
from chalicelib.api.models import (
    AcceptInviteBody,
    ChangeBody,
    ForgotBody,
    LoginBody,
    LoginSession,
    LogoutBody,
    RefreshBody,
    ResetBody,
    Session,
    SwitchBody,
)
from chalicelib.errors import SteplineError, Unauthenticated
from chalicelib.http import requests as req
from chalicelib.http import session_cookies
from chalicelib.http.access import VIEWER
from chalicelib.http.routing import PUBLIC, Call, Routes
from chalicelib.services import authentication, sign_in, tenancy

routes = Routes("auth")


def _issued(call: Call, result: dict[str, Any]) -> Any:
    """Tokens as asked: the refresh token in the body, or (``X-Session-Transport: cookie``) in a cookie."""
    if session_cookies.wants_cookie(call.headers):
        return session_cookies.session_response(result, call.headers, max_age=int(sign_in.REFRESH_TTL.total_seconds()))
    return result


@routes.route("/auth/login", methods=("POST",), access=PUBLIC, body=LoginBody, response=LoginSession)
def login(call: Call):
    body = call.body(LoginBody)
    return _issued(call, sign_in.login(body.email, body.password, tenant_id=body.tenant_id, client_ip=call.client_ip))


@routes.route("/auth/refresh", methods=("POST",), access=PUBLIC, body=RefreshBody, response=Session)
def refresh(call: Call):
    """Rotate the refresh token given in the body, or in the session cookie (with the CSRF header)."""
    raw = call.json(required=False)
    token = req.parse(RefreshBody, raw).refresh_token if raw is not None else None
    from_cookie = token is None
    if token is None:
        token = session_cookies.refresh_from_cookie(call.headers)
        if token is None:
            raise Unauthenticated("Give the refresh token (in the body, or the session cookie).",
                                  code="invalid_refresh_token")
    try:
        result = sign_in.refresh(token, client_ip=call.client_ip,
                              reuse_leeway=sign_in.BROWSER_REUSE_LEEWAY if from_cookie else dt.timedelta(0))
    except SteplineError as exc:
        if from_cookie:  # a dead cookie is removed, so the browser stops presenting it
            exc.headers = {**exc.headers, **session_cookies.clearing_headers(call.headers)}
        raise
    if from_cookie:  # a cookie session stays a cookie session
        return session_cookies.session_response(result, call.headers, max_age=int(sign_in.REFRESH_TTL.total_seconds()))
    return _issued(call, result)


@routes.route("/auth/logout", methods=("POST",), access=PUBLIC, status=204, body=LogoutBody, body_required=False)
def logout(call: Call):
    refresh_token = call.body(LogoutBody).refresh_token if call.json(required=False) is not None else None
    if refresh_token is None and not call.headers.get("authorization"):
        refresh_token = session_cookies.refresh_from_cookie(call.headers)
    principal = None
    if call.headers.get("authorization"):
        principal = authentication.authenticate(call.headers.get("authorization"))
    elif not refresh_token:
        raise Unauthenticated("Give the access token or the refresh token to log out.")
    try:
        sign_in.logout(principal, refresh_token)
    except SteplineError as exc:
        exc.headers = {**exc.headers, **session_cookies.clearing_headers(call.headers)}
        raise
    return Response(body="", status_code=204, headers=session_cookies.clearing_headers(call.headers))


@routes.route("/auth/forgot", methods=("POST",), access=PUBLIC, status=202, body=ForgotBody, response=Accepted)
def forgot(call: Call):
    sign_in.forgot(call.body(ForgotBody).email)
    return {"status": "accepted", "message": "If the address has an account, a reset link is on its way."}


@routes.route("/auth/reset", methods=("POST",), access=PUBLIC, status=204, body=ResetBody)
def reset(call: Call):
    body = call.body(ResetBody)
    sign_in.reset_password(body.token, body.new_password)


@routes.route("/auth/change", methods=("POST",), access=VIEWER, body=ChangeBody, response=Session)
def change(call: Call):
    body = call.body(ChangeBody)
    return _issued(call, sign_in.change_password(call.principal, body.current_password, body.new_password,
                                              client_ip=call.client_ip))


@routes.route("/auth/switch", methods=("POST",), access=VIEWER, body=SwitchBody, response=LoginSession)
def switch(call: Call):
    tenant_id = call.body(SwitchBody).tenant_id
    return _issued(call, sign_in.switch_tenant(call.principal, tenant_id, client_ip=call.client_ip))


@routes.route("/auth/invites/accept", methods=("POST",), access=PUBLIC, body=AcceptInviteBody, response=Session)
def accept_invite(call: Call):
    body = call.body(AcceptInviteBody)
    return _issued(call, tenancy.accept_invite(body.token, body.password, body.name, client_ip=call.client_ip))
