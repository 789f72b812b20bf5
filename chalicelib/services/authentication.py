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

:func:`authenticated` does the check inside a transaction of the caller's tenant
and hands it on, so the HTTP layer resolves the route's ids and spends the rate
limit in the same transaction (one per request before the route's own). A
verified access token's signature is not checked again for 30 s
(:class:`~chalicelib.identity.tokens.VerifiedTokens`); the database check runs on
every request, so a revocation takes effect on the next one. An API token's
tenant (which never changes) is remembered after its first lookup, so later
lookups run under that tenant's row-level security.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import ColumnElement, column, select, text

from chalicelib.cache import BoundedCache
from chalicelib.config import get_settings
from chalicelib.container import current
from chalicelib.errors import ConfigurationError, Unauthenticated
from chalicelib.identity import opaque_tokens
from chalicelib.identity.errors import InvalidToken
from chalicelib.identity.principal import Principal
from chalicelib.identity.roles import parse_role
from chalicelib.identity.tokens import Claims, KeySet, VerifiedTokens, verify_access_token
from chalicelib.services.unit_of_work import UnitOfWork

GLOBAL_RESET_KEY = "sessions_valid_after"

__all__ = ["GLOBAL_RESET_KEY", "Principal", "authenticate", "authenticated", "keyset"]


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

# The same lookup under the token's tenant (its row-level security), saying whether its last use is a minute old.
_API_TOKEN_STATE = text(
    """
    SELECT id::text AS id, tenant_id::text AS tenant_id, role, workspace_ids, expires_at, revoked_at,
           (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') AS stale
    FROM api_tokens WHERE token_hash = :h
    """
).columns(column("id"), column("tenant_id"), column("role"), column("workspace_ids"), column("expires_at"),
          column("revoked_at"), column("stale"))

_USER_STATE_COLUMNS = _USER_STATE.columns(
    column("sessions_valid_after"), column("role"), column("session_revoked_at"), column("reset_at"),
    column("workspace_ids"))

_API_TOKEN = text(
    """
    SELECT id::text AS id, tenant_id::text AS tenant_id, role, workspace_ids, expires_at, revoked_at
    FROM api_tokens WHERE token_hash = :h
    """
)

_TOUCH_API_TOKEN = text("UPDATE api_tokens SET last_used_at = now() WHERE id = CAST(:id AS uuid) "
                        "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')")


_VERIFIED = VerifiedTokens(seconds=30.0, size=4096)


# API token hash → its tenant (fixed for the token's life), bounded, least recently used out first.
_TOKEN_TENANTS: BoundedCache[str, str] = BoundedCache(4096)


def forget_caches() -> None:
    """Drop the verified tokens and API token tenants kept by this process (tests, key rotation)."""
    _VERIFIED.clear()
    _TOKEN_TENANTS.clear()


def _refused(reason: str) -> InvalidToken:
    error = InvalidToken()
    error.reason = reason  # for logs only; never in the response
    return error


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated("A bearer token is required.", code="unauthenticated",
                              headers={"WWW-Authenticate": "Bearer"})
    return authorization[7:].strip()


def authenticate(authorization: str | None, *, now: dt.datetime | None = None) -> Principal:
    """Resolve an ``Authorization: Bearer …`` header; 401 for anything else."""
    with authenticated(authorization, now=now) as (principal, uow, _):
        uow.commit()  # an API token's last use
    return principal


class Checks(Protocol):
    """Boolean expressions (e.g. ``EXISTS`` of a path's ids; the same objects each time, so their statement is
    built once) and the values of their bound parameters."""

    @property
    def expressions(self) -> tuple[ColumnElement[bool], ...]: ...

    @property
    def params(self) -> dict[str, Any]: ...


@contextmanager
def authenticated(authorization: str | None, *, now: dt.datetime | None = None,
                  checks: Checks | tuple[()] = ()) -> Iterator[tuple[Principal, UnitOfWork, tuple[bool, ...]]]:
    """The caller, checked inside a transaction of its tenant, that transaction, and the value of each of
    ``checks`` in it (401 for anything else).

    The checks are read in the statement that reads the principal's state (a token's first use in this
    process: in one more). The caller's block works on in the transaction and commits (else everything rolls
    back, the API token's touch too).
    """
    token = _bearer(authorization)
    moment = now or dt.datetime.now(dt.UTC)
    if opaque_tokens.purpose_of(token) is opaque_tokens.TokenPurpose.API:
        token_hash = opaque_tokens.hash_token(token)
        tenant_id = _TOKEN_TENANTS.get(token_hash)
        if tenant_id is None:  # the token's first use in this process: found across tenants
            principal = _api_token_principal(_first_lookup(token_hash), moment)
            _TOKEN_TENANTS.put(token_hash, principal.tenant_id)
            with current().units_of_work.tenant(principal.tenant_id) as uow:
                found = tuple(uow.execute(select(*checks.expressions), checks.params).one()) if checks else ()
                yield principal, uow, found
            return
        with current().units_of_work.tenant(tenant_id) as uow:
            row, found = _with_checks(uow, _API_TOKEN_STATE, {"h": token_hash}, checks)
            principal = _api_token_principal(row, moment)
            if row["stale"]:  # its last use is recorded at most once a minute
                uow.execute(_TOUCH_API_TOKEN, {"id": row["id"]})
            yield principal, uow, found
        return
    claims = _verified_claims(token, now)
    if claims.token_kind != "user":
        raise _refused("wrong_kind")
    with current().units_of_work.tenant(claims.tenant_id) as uow:
        row, found = _with_checks(uow, _USER_STATE_COLUMNS, {
            "tid": claims.tenant_id, "uid": claims.user_id, "sid": claims.session_id, "reset_key": GLOBAL_RESET_KEY},
            checks)
        yield _user_principal(row, claims), uow, found


_COMBINED: dict[tuple[Any, tuple[Any, ...]], Any] = {}


def _with_checks(uow: UnitOfWork, state: Any, params: dict[str, Any],
                 checks: Checks | tuple[()]) -> tuple[Any, tuple[bool, ...]]:
    """The one row of ``state`` (or None) and the values of ``checks``, in one statement."""
    if not checks:
        return uow.execute(state, params).mappings().first(), ()
    expressions = checks.expressions
    statement = _COMBINED.get((state, expressions))
    if statement is None:  # once per state query and route (the checks are the route's)
        found = state.subquery("state")
        statement = _COMBINED.setdefault((state, expressions), select(
            found, *[check.label(f"check_{n}") for n, check in enumerate(expressions)]))
    row = uow.execute(statement, {**params, **checks.params}).mappings().first()
    if row is None:
        return None, ()
    return row, tuple(bool(row[f"check_{n}"]) for n in range(len(expressions)))


def _verified_claims(token: str, now: dt.datetime | None) -> Claims:
    """The token's verified claims; a token verified in the last seconds is not verified again (unless the
    caller names its own ``now``: tests of times always verify)."""
    settings, keys = get_settings(), keyset()
    if now is not None:
        return verify_access_token(keys, token, issuer=settings.jwt_issuer, audience=settings.jwt_audience, now=now)
    moment = dt.datetime.now(dt.UTC)
    claims = _VERIFIED.get(keys, token, moment.timestamp())
    if claims is None or claims.issuer != settings.jwt_issuer or claims.audience != settings.jwt_audience:
        claims = verify_access_token(keys, token, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                                     now=moment)
        _VERIFIED.put(keys, token, claims, moment.timestamp())
    return claims


def _user_principal(row: Any, claims: Claims) -> Principal:
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


def _first_lookup(token_hash: str) -> Any:
    with current().units_of_work.system() as uow:
        row = uow.execute(_API_TOKEN, {"h": token_hash}).mappings().first()
        if row is not None and row["revoked_at"] is None:
            uow.execute(_TOUCH_API_TOKEN, {"id": row["id"]})
            uow.commit()
    return row


def _api_token_principal(row: Any, now: dt.datetime) -> Principal:
    if row is None or row["revoked_at"] is not None:
        raise _refused("unknown_api_token")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise _refused("api_token_expired")
    # A builder or viewer token without a scope (minted before scopes existed) reaches no workspace.
    return Principal(user_id=None, tenant_id=row["tenant_id"], role=parse_role(row["role"]), kind="api",
                     token_id=row["id"], workspace_ids=frozenset(str(w) for w in row["workspace_ids"] or ()))
