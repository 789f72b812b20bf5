"""The OAuth2 authorization-code flow of a connection: start, then the provider's callback.

Stateless between the two: the ``state`` is signed (tenant, connection, nonce,
expiry) and the PKCE verifier derives from it (``StateSigner``), so no table
holds pending authorizations. The callback is public — the browser arrives
from the provider without our token — and trusts only what the signature
covers: the tenant and the connection come from the verified state, never
from the query.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from chalicelib import container
from chalicelib.config import get_settings
from chalicelib.connectors.definition import OAuth2Auth
from chalicelib.connectors.oauth2 import OAuth2Client, OAuth2Invalid, build_authorization
from chalicelib.db.uow import tenant_uow
from chalicelib.errors import BadRequest, NotFound, ValidationFailed
from chalicelib.services import audit
from chalicelib.services.authentication import Principal
from chalicelib.services.connectors.connections import INVALID, OK, app_ref_of_row, row_of, store_secrets
from chalicelib.services.connectors.definitions import current_source
from chalicelib.services.connectors.errors import NotOAuth2
from chalicelib.services.connectors.live_credentials import (
    client_config,
    mark,
    open_connection,
    redirect_uri,
    with_tokens,
)
from chalicelib.services.connectors.secrets_box import unseal

logger = logging.getLogger(__name__)
_MAX_PARAM = 2048


def allowed_redirect_uris() -> list[str]:
    """Where a provider may send the browser back: our callback, and the URIs the operator allows."""
    extra = [uri.strip() for uri in get_settings().oauth_redirect_uris.split(",") if uri.strip()]
    return [redirect_uri(), *extra]


def start(principal: Principal, ws: str, connection_id: str, redirect_to: str | None = None) -> dict[str, Any]:
    """The provider's authorize URL, with a signed state and (when the app allows) a PKCE challenge.

    ``redirect_to`` (e.g. a console page that forwards ``code`` and ``state`` to
    ``/oauth/callback``) must be one of :func:`allowed_redirect_uris`; the state
    carries it, so the code is exchanged with the same one.
    """
    if redirect_to is not None and redirect_to not in allowed_redirect_uris():
        raise ValidationFailed("This redirect_uri is not on the allowed list (OAUTH_REDIRECT_URIS).",
                               details=[{"path": "/redirect_uri", "issue": "is not allowed"}],
                               code="redirect_uri_not_allowed")
    conn = open_connection(principal.tenant_id, connection_id, workspace_id=ws)
    with tenant_uow(principal.tenant_id) as uow:
        connector = current_source(uow, conn.app).connector
    if not isinstance(connector.auth, OAuth2Auth):
        raise NotOAuth2("This connection's app does not use OAuth2.")
    config = client_config(connector, conn.secrets, conn.settings)
    if redirect_to is not None:
        config = replace(config, redirect_uri=redirect_to)
    request = build_authorization(
        config, container.current().state_signer(), tenant_id=principal.tenant_id, connection_id=connection_id
    )
    return {"authorize_url": request.url, "redirect_uri": config.redirect_uri, "pkce": config.pkce}


def _param(params: dict[str, str], name: str) -> str:
    value = params.get(name) or ""
    if not value or len(value) > _MAX_PARAM:
        raise BadRequest(f"The callback lacks a valid {name!r}.", code="oauth2_invalid")
    return value


def callback(params: dict[str, str]) -> dict[str, Any]:
    """Verify the state, exchange the code, store the tokens sealed; the connection becomes ``ok``."""
    signer = container.current().state_signer()
    state = signer.verify(_param(params, "state"))
    if params.get("error"):
        error = params["error"][:100]
        try:
            conn = open_connection(state.tenant_id, state.connection_id)
            mark(conn, INVALID, f"authorization_denied:{error}")
        except NotFound:
            pass
        raise OAuth2Invalid(f"The provider did not authorize the connection ({error}).")
    code = _param(params, "code")
    with tenant_uow(state.tenant_id) as uow:
        try:
            row = row_of(uow, state.connection_id)
        except NotFound:
            raise OAuth2Invalid("The connection of this authorization no longer exists.") from None
        connector = current_source(uow, app_ref_of_row(row)).connector
    if not isinstance(connector.auth, OAuth2Auth):
        raise NotOAuth2("This connection's app does not use OAuth2.")
    secrets = unseal(state.tenant_id, state.connection_id, row["secrets_envelope"])
    config = client_config(connector, secrets, row["settings"] or {})
    if state.redirect_uri:
        config = replace(config, redirect_uri=state.redirect_uri)
    tokens = OAuth2Client(config, container.current().http_transport(), clock=container.current().clock).exchange_code(
        code, code_verifier=signer.code_verifier(state) if config.pkce else None
    )
    with tenant_uow(state.tenant_id) as uow:
        row = row_of(uow, state.connection_id, lock=True)
        stored = with_tokens(
            unseal(state.tenant_id, state.connection_id, row["secrets_envelope"]), tokens.to_credentials()
        )
        store_secrets(uow, row, connector, stored, status=OK, status_detail=None)
        after = row_of(uow, state.connection_id)
        audit.record(
            uow,
            None,
            "connection.authorized",
            "connection",
            state.connection_id,
            before={"credentials": row["credentials_preview"]},
            after={"credentials": after["credentials_preview"]},
            tenant_id=state.tenant_id,
            secret_keys=tuple(connector.secret_fields),
        )
        uow.commit()
    logger.info("oauth2 connection authorized", extra={"connection_id": state.connection_id})
    return {
        "connection_id": state.connection_id,
        "workspace_id": str(after["workspace_id"]),
        "status": OK,
        "token_expires_at": after["token_expires_at"],
    }
