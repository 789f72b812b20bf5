"""Using a connection: decrypt, keep OAuth2 tokens fresh, call an action, keep the health status true.

- Before a call, an OAuth2 token that expires within a minute (``needs_refresh``)
  is refreshed; on a 401 the invoker asks once more (``on_unauthorized``).
- A refresh runs with the connection's row locked (``SELECT … FOR UPDATE``):
  concurrent steps wait, then find the fresh token already stored, so a
  provider that rotates refresh tokens never sees the old one twice.
- Refreshed tokens are sealed again under a fresh data key.
- Health: ``ok`` after a successful call; ``invalid`` when the provider refuses
  the credentials; ``refresh_failed`` when it refuses the refresh token;
  ``expired`` when the token lapsed and there is no refresh token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, update

from chalicelib import container
from chalicelib.config import get_settings
from chalicelib.connectors.definition import ConnectorDefinition, OAuth2Auth
from chalicelib.connectors.errors import UpstreamUnauthorized
from chalicelib.connectors.oauth2 import (
    OAuth2Client,
    OAuth2ClientConfig,
    OAuth2Invalid,
    OAuth2RefreshFailed,
    needs_refresh,
)
from chalicelib.connectors.trace import InvocationResult
from chalicelib.db.uow import tenant_uow
from chalicelib.errors import SteplineError, ValidationFailed
from chalicelib.services.connectors.connections import (
    EXPIRED,
    INVALID,
    OK,
    REFRESH_FAILED,
    app_ref_of_row,
    row_of,
    store_secrets,
)
from chalicelib.services.connectors.definitions import AppRef
from chalicelib.services.connectors.errors import AuthorizationRequired, ConnectionExpired, NotOAuth2
from chalicelib.services.connectors.secrets_box import unseal
from chalicelib.tables.connectors import connections

logger = logging.getLogger(__name__)
TOKEN_FIELDS = ("access_token", "refresh_token", "expires_at", "token_type", "scope")


@dataclass
class LiveConnection:
    """A connection with its secrets decrypted, for the length of one call."""

    tenant_id: str
    id: str
    workspace_id: str
    app: AppRef
    settings: dict[str, Any]
    status: str
    status_detail: str | None
    secrets: dict[str, Any] = field(repr=False)


def open_connection(tenant_id: str, connection_id: str, *, workspace_id: str | None = None) -> LiveConnection:
    """Load and decrypt; ``NotFound`` unless it is the tenant's (and in ``workspace_id`` when given)."""
    with tenant_uow(tenant_id) as uow:
        row = row_of(uow, connection_id, workspace_id=workspace_id)
    return LiveConnection(
        tenant_id,
        str(row["id"]),
        str(row["workspace_id"]),
        app_ref_of_row(row),
        dict(row["settings"] or {}),
        row["status"],
        row["status_detail"],
        unseal(tenant_id, connection_id, row["secrets_envelope"]),
    )


def credentials_for(connector: ConnectorDefinition, secrets: Mapping[str, Any]) -> dict[str, Any]:
    """What the invoker gets: the fields the app declares (nothing else travels)."""
    return {k: v for k, v in secrets.items() if k in connector.declared_credential_fields}


def redirect_uri() -> str:
    return get_settings().public_base_url.rstrip("/") + "/oauth/callback"


def client_config(
    connector: ConnectorDefinition, secrets: Mapping[str, Any], settings: Mapping[str, Any]
) -> OAuth2ClientConfig:
    """The OAuth2 client of this connection (its own client id and secret, stored with its secrets)."""
    client_id = secrets.get("client_id") or settings.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise ValidationFailed(
            "OAuth2 needs the connection's client id.",
            details=[{"path": "/secrets/client_id", "issue": "is required for OAuth2"}],
        )
    secret = secrets.get("client_secret")
    return OAuth2ClientConfig.from_connector(
        connector,
        client_id=client_id,
        client_secret=secret if isinstance(secret, str) else None,
        redirect_uri=redirect_uri(),
    )


def with_tokens(secrets: Mapping[str, Any], tokens: Mapping[str, Any]) -> dict[str, Any]:
    """Stored secrets with the token fields replaced by a new token answer."""
    kept = {k: v for k, v in secrets.items() if k not in TOKEN_FIELDS}
    return {**kept, **tokens}


def mark(conn: LiveConnection, status: str, detail: str | None = None, *, tested: bool = False) -> None:
    """Record the connection's health (written only when it changed, or after a test)."""
    values: dict[str, Any] = {}
    detail = detail[:300] if detail else None
    if (status, detail) != (conn.status, conn.status_detail):
        values.update(status=status, status_detail=detail)
    if tested:
        values["last_tested_at"] = func.now()
    if not values:
        return
    with tenant_uow(conn.tenant_id) as uow:
        uow.execute(update(connections).where(connections.c.id == conn.id).values(**values))
        uow.commit()
    conn.status, conn.status_detail = status, detail


def touch_tested(conn: LiveConnection) -> None:
    """Record that a test ran, whatever its outcome says about the connection."""
    mark(conn, conn.status, conn.status_detail, tested=True)


def refresh(conn: LiveConnection, connector: ConnectorDefinition, *, stale_token: str | None = None) -> dict:
    """Refresh the tokens (row locked); returns the stored secrets, fresh. See the module notes."""
    auth = connector.auth
    if not isinstance(auth, OAuth2Auth):
        raise NotOAuth2("The connection's app does not use OAuth2.")
    with tenant_uow(conn.tenant_id) as uow:
        row = row_of(uow, conn.id, lock=True)
        secrets = unseal(conn.tenant_id, conn.id, row["secrets_envelope"])
        current = secrets.get(auth.access_token_field)
        if stale_token is not None and current and current != stale_token:
            return secrets  # another call refreshed while we waited for the lock
        now = container.current().clock()
        if stale_token is None and current and not needs_refresh(secrets.get("expires_at"), now):
            return secrets
        refresh_token = secrets.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            uow.execute(
                update(connections)
                .where(connections.c.id == conn.id)
                .values(status=EXPIRED, status_detail="no_refresh_token")
            )
            uow.commit()
            conn.status, conn.status_detail = EXPIRED, "no_refresh_token"
            raise ConnectionExpired(
                "The access token expired and there is no refresh token; authorize again."
            )
        client = OAuth2Client(
            client_config(connector, secrets, row["settings"] or {}),
            container.current().http_transport(),
            clock=container.current().clock,
        )
        try:
            tokens = client.refresh(refresh_token)
        except (OAuth2RefreshFailed, OAuth2Invalid) as exc:
            uow.execute(
                update(connections)
                .where(connections.c.id == conn.id)
                .values(status=REFRESH_FAILED, status_detail=exc.code)
            )
            uow.commit()
            conn.status, conn.status_detail = REFRESH_FAILED, exc.code
            logger.warning("oauth2 refresh refused", extra={"connection_id": conn.id, "code": exc.code})
            raise
        fresh = with_tokens(secrets, tokens.to_credentials())
        store_secrets(uow, row, connector, fresh, status=OK, status_detail=None)
        uow.commit()
    conn.status, conn.status_detail = OK, None
    logger.info("oauth2 tokens refreshed", extra={"connection_id": conn.id})
    return fresh


def ensure_fresh(conn: LiveConnection, connector: ConnectorDefinition) -> None:
    """Refresh an OAuth2 token that is about to expire (updates ``conn.secrets``)."""
    auth = connector.auth
    if not isinstance(auth, OAuth2Auth):
        return
    if not conn.secrets.get(auth.access_token_field):
        mark(conn, INVALID, "authorization_required")
        raise AuthorizationRequired("The connection is not authorized yet: run its OAuth2 authorization.")
    if needs_refresh(conn.secrets.get("expires_at"), container.current().clock()):
        conn.secrets = refresh(conn, connector)


def reauthorizer(conn: LiveConnection, connector: ConnectorDefinition) -> Callable[[], dict | None] | None:
    """The invoker's ``on_unauthorized``: one refresh after a 401 (OAuth2 with a refresh token only)."""
    auth = connector.auth
    if not isinstance(auth, OAuth2Auth) or not conn.secrets.get("refresh_token"):
        return None

    def again() -> dict | None:
        conn.secrets = refresh(conn, connector, stale_token=conn.secrets.get(auth.access_token_field))
        return credentials_for(connector, conn.secrets)

    return again


def call(
    conn: LiveConnection | None,
    connector: ConnectorDefinition,
    action_key: str,
    input: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
    timeout: float | None = None,
    tested: bool = False,
    single_attempt: bool = False,
) -> InvocationResult:
    """Invoke ``action_key`` with the connection (or none), keeping the connection's health current."""
    if conn is None:
        return container.current().connector_invoker().invoke(
            connector,
            action_key,
            input=input,
            settings={},
            credentials={},
            idempotency_key=idempotency_key,
            timeout=timeout,
            single_attempt=single_attempt,
        )
    try:
        ensure_fresh(conn, connector)
        result = container.current().connector_invoker().invoke(
            connector,
            action_key,
            input=input,
            settings=conn.settings,
            credentials=credentials_for(connector, conn.secrets),
            idempotency_key=idempotency_key,
            timeout=timeout,
            on_unauthorized=reauthorizer(conn, connector),
            single_attempt=single_attempt,
        )
    except UpstreamUnauthorized as exc:
        mark(conn, INVALID, exc.vendor_code or exc.code, tested=tested)
        raise
    except SteplineError:
        if tested:
            touch_tested(conn)
        raise
    mark(conn, OK, None, tested=tested)
    return result
