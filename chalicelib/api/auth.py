"""``/auth/*``: sign-in, sessions and passwords."""

from __future__ import annotations

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
from chalicelib.errors import Unauthenticated
from chalicelib.http.access import VIEWER
from chalicelib.http.routing import PUBLIC, Call, Routes
from chalicelib.services import auth, authn, tenancy

routes = Routes("auth")


@routes.route("/auth/login", methods=("POST",), access=PUBLIC, body=LoginBody, response=LoginSession)
def login(call: Call):
    body = call.body(LoginBody)
    return auth.login(body.email, body.password, tenant_id=body.tenant_id, client_ip=call.client_ip)


@routes.route("/auth/refresh", methods=("POST",), access=PUBLIC, body=RefreshBody, response=Session)
def refresh(call: Call):
    return auth.refresh(call.body(RefreshBody).refresh_token, client_ip=call.client_ip)


@routes.route("/auth/logout", methods=("POST",), access=PUBLIC, status=204, body=LogoutBody, body_required=False)
def logout(call: Call):
    refresh_token = call.body(LogoutBody).refresh_token if call.json(required=False) is not None else None
    principal = None
    if call.headers.get("authorization"):
        principal = authn.authenticate(call.headers.get("authorization"))
    elif not refresh_token:
        raise Unauthenticated("Give the access token or the refresh token to log out.")
    auth.logout(principal, refresh_token)


@routes.route("/auth/forgot", methods=("POST",), access=PUBLIC, status=202, body=ForgotBody, response=Accepted)
def forgot(call: Call):
    auth.forgot(call.body(ForgotBody).email)
    return {"status": "accepted", "message": "If the address has an account, a reset link is on its way."}


@routes.route("/auth/reset", methods=("POST",), access=PUBLIC, status=204, body=ResetBody)
def reset(call: Call):
    body = call.body(ResetBody)
    auth.reset_password(body.token, body.new_password)


@routes.route("/auth/change", methods=("POST",), access=VIEWER, body=ChangeBody, response=Session)
def change(call: Call):
    body = call.body(ChangeBody)
    return auth.change_password(call.principal, body.current_password, body.new_password, client_ip=call.client_ip)


@routes.route("/auth/switch", methods=("POST",), access=VIEWER, body=SwitchBody, response=LoginSession)
def switch(call: Call):
    return auth.switch_tenant(call.principal, call.body(SwitchBody).tenant_id, client_ip=call.client_ip)


@routes.route("/auth/invites/accept", methods=("POST",), access=PUBLIC, body=AcceptInviteBody, response=Session)
def accept_invite(call: Call):
    body = call.body(AcceptInviteBody)
    return tenancy.accept_invite(body.token, body.password, body.name, client_ip=call.client_ip)
