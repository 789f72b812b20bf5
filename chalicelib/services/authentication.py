"""Who is calling: bearer credentials → a :class:`Principal`.

Two kinds of bearer credential:
- a JWT access token (users): verified against the key set, then checked in
  one query against what can have changed since it was issued — the session
  was logged out, the user's sessions were revoked (password reset), the
  platform was reset, or the membership changed or ended (the current role
  wins over the token's);
- an opaque API token (``slk_…``): looked up by its hash; it acts with the
  role and the workspace scope it was given.

Workspace access is the same rule for both: owners and admins reach every
workspace of the tenant; builders and viewers only theirs — a user's
workspace memberships, a token's scope chosen when it was minted.
"""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import text

from chalicelib.config import get_settings
from chalicelib.db.uow import system_uow, tenant_uow
from chalicelib.errors import ConfigurationError, Unauthenticated
from chalicelib.identity import opaque_tokens
from chalicelib.identity.errors import InvalidToken
from chalicelib.identity.principal import Principal
from chalicelib.identity.roles import parse_role
from chalicelib.identity.tokens import KeySet, verify_access_token

GLOBAL_RESET_KEY = "sessions_valid_after"

__all__ = ["GLOBAL_RESET_KEY", "Principal", "authenticate", "keyset"]


@functools.lru_cache(maxsize=4)
def _keyset(raw: str) -> KeySet:
    return KeySet.from_json(raw)


def keyset() -> KeySet:
    raw = get_settings().jwt_keys
    if not raw:
        raise ConfigurationError("JWT_KEYS is not configured.")
    return _keyset(raw)


_USER_STATE = text(
    """
    SELECT u.sessions_valid_after,
           m.role AS role,
           s.revoked_at AS session_revoked_at,
           (SELECT (value #>> '{}')::timestamptz FROM platform_state WHERE key = :reset_key) AS reset_at,
           COALESCE((SELECT array_agg(wm.workspace_id::text) FROM workspace_members wm
                     WHERE wm.user_id = u.id), ARRAY[]::text[]) AS workspace_ids
    FROM users u
    LEFT JOIN memberships m ON m.user_id = u.id AND m.tenant_id = CAST(:tid AS uuid)
    LEFT JOIN sessions s ON s.id = CAST(:sid AS uuid)
    WHERE u.id = CAST(:uid AS uuid)
    """
)

_API_TOKEN = text(
    """
    SELECT id::text AS id, tenant_id::text AS tenant_id, role, workspace_ids, expires_at, revoked_at
    FROM api_tokens WHERE token_hash = :h
    """
)


def _refused(reason: str) -> InvalidToken:
    error = InvalidToken()
    error.reason = reason  # for logs only; never in the response
    return error


def authenticate(authorization: str | None, *, now: dt.datetime | None = None) -> Principal:
    """Resolve an ``Authorization: Bearer …`` header; 401 for anything else."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated("A bearer token is required.", code="unauthenticated",
                              headers={"WWW-Authenticate": "Bearer"})
    token = authorization[7:].strip()
    if opaque_tokens.purpose_of(token) is opaque_tokens.TokenPurpose.API:
        return _authenticate_api_token(token, now or dt.datetime.now(dt.UTC))
    return _authenticate_access_token(token, now or dt.datetime.now(dt.UTC))


def _authenticate_access_token(token: str, now: dt.datetime) -> Principal:
    settings = get_settings()
    claims = verify_access_token(keyset(), token, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                                 now=now)
    if claims.token_kind != "user":
        raise _refused("wrong_kind")
    with tenant_uow(claims.tenant_id) as uow:
        row = uow.execute(_USER_STATE, {"tid": claims.tenant_id, "uid": claims.user_id,
                                        "sid": claims.session_id, "reset_key": GLOBAL_RESET_KEY}).mappings().first()
    if row is None or row["role"] is None:
        raise _refused("no_membership")
    issued = claims.issued_at
    for cutoff in (row["reset_at"], row["sessions_valid_after"]):
        if cutoff is not None and issued < cutoff.timestamp():
            raise _refused("issued_before_revocation")
    if claims.session_id and row["session_revoked_at"] is not None:
        raise _refused("session_revoked")
    role = min(parse_role(row["role"]), claims.role)  # a demotion takes effect at once
    return Principal(user_id=claims.user_id, tenant_id=claims.tenant_id, role=role, kind="user",
                     session_id=claims.session_id,
                     workspace_ids=frozenset(row["workspace_ids"] or ()))


def _authenticate_api_token(token: str, now: dt.datetime) -> Principal:
    with system_uow() as uow:
        row = uow.execute(_API_TOKEN, {"h": opaque_tokens.hash_token(token)}).mappings().first()
        if row is not None and row["revoked_at"] is None:
            uow.execute(text("UPDATE api_tokens SET last_used_at = now() WHERE id = CAST(:id AS uuid) "
                             "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"),
                        {"id": row["id"]})
            uow.commit()
    if row is None or row["revoked_at"] is not None:
        raise _refused("unknown_api_token")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise _refused("api_token_expired")
    # A builder or viewer token without a scope (minted before scopes existed) reaches no workspace.
    return Principal(user_id=None, tenant_id=row["tenant_id"], role=parse_role(row["role"]), kind="api",
                     token_id=row["id"], workspace_ids=frozenset(str(w) for w in row["workspace_ids"] or ()))
