"""JWT access tokens: short-lived, asymmetric, signed by the key set's active key.

A token carries who (``sub``), which tenant (``tid``) and which role
(``role``), plus ``sid`` (the session, for logout) and ``kind`` (``user`` or
``api``). Its header names the key (``kid``) and the token type ``at+jwt``
(RFC 9068), so an access token is never confused with any other JWT.

Verification trusts nothing in the token before the signature is checked with
the key named by ``kid``, and then only with that key's own algorithm: ``none``,
HMAC and algorithm-substitution tricks all fail. Every refusal is one
``InvalidToken`` (401, code ``invalid_token``, or ``token_expired`` when a
genuine token has merely expired); the message never echoes the token.

``iat`` is written with millisecond precision (RFC 7519 allows non-integer
NumericDates) so that ``not_before_epoch`` can tell a token issued just before
a global session reset from one issued just after it within the same second.
``exp`` and ``nbf`` are whole seconds.

:class:`VerifiedTokens` keeps what verification concluded about a token for a
short, bounded time, so a client sending the same access token on every request
pays for the signature check once: a hit still refuses an expired token, and a
revocation (logout, password reset, a changed membership) never depended on the
signature, so it is checked in the database on every request as before.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import jwt

from chalicelib.cache import BoundedCache
from chalicelib.identity.errors import InvalidToken
from chalicelib.identity.keys import KeySet, generate_key_config, generate_keyset_json
from chalicelib.identity.roles import Role, parse_role

# The key set lives in ``keys``; it is re-exported so callers can take everything token-related from here.
__all__ = [
    "ACCESS_TOKEN_TYPE", "Claims", "InvalidToken", "KeySet", "TokenKind", "generate_key_config",
    "generate_keyset_json", "issue_access_token", "verify_access_token", "VerifiedTokens",
]

ACCESS_TOKEN_TYPE = "at+jwt"
DEFAULT_TTL_SECONDS = 15 * 60
MAX_TTL_SECONDS = 24 * 60 * 60
MAX_LEEWAY_SECONDS = 5 * 60
# Real tokens are well under 1 KiB; refusing larger input early bounds the work an attacker can cause.
MAX_TOKEN_LENGTH = 8 * 1024

_REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti", "tid", "role", "kind")
_RESERVED_CLAIMS = frozenset({*_REQUIRED_CLAIMS, "nbf", "sid"})
# Signature, issuer and audience are checked by PyJWT; times are checked here against the caller's
# ``now`` (PyJWT only knows the wall clock), with strict number types.
_DECODE_OPTIONS: Any = {
    "require": list(_REQUIRED_CLAIMS),
    "verify_signature": True,
    "verify_aud": True,
    "verify_iss": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "strict_aud": True,
}
_JWT = jwt.PyJWT()


class TokenKind(StrEnum):
    """Who holds the token: a signed-in user, or a service using an API token."""

    USER = "user"
    API = "api"


@dataclass(frozen=True)
class Claims:
    """The verified content of an access token. Times are seconds since the epoch (UTC)."""

    user_id: str
    tenant_id: str
    role: Role
    token_kind: TokenKind
    token_id: str
    session_id: str | None
    issuer: str
    audience: str
    key_id: str
    issued_at: float
    not_before: int | None
    expires_at: int
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)


def issue_access_token(
    keyset: KeySet,
    *,
    user_id: str,
    tenant_id: str,
    role: str | Role,
    session_id: str | None = None,
    token_kind: str | TokenKind = TokenKind.USER,
    ttl: int = DEFAULT_TTL_SECONDS,
    now: datetime,
    issuer: str,
    audience: str,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Sign a new access token with the active key; ``ValueError`` for invalid arguments.

    ``extra`` adds claims that are not reserved (``exp``, ``sub``, ``tid``,
    ``role`` … cannot be overridden); its values must be JSON-serialisable.
    """
    for name, value in (("user_id", user_id), ("tenant_id", tenant_id), ("issuer", issuer),
                        ("audience", audience)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string")
    if session_id is not None and (not isinstance(session_id, str) or not session_id):
        raise ValueError("session_id must be a non-empty string or None")
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl must be an integer from 1 to {MAX_TTL_SECONDS} seconds")
    extra_claims = dict(extra or {})
    clashing = [name for name in extra_claims if not isinstance(name, str) or name in _RESERVED_CLAIMS]
    if clashing:
        raise ValueError("extra must not set reserved claims")

    issued_at = math.floor(_epoch(now) * 1000) / 1000
    whole_second = math.floor(issued_at)
    payload: dict[str, Any] = {
        **extra_claims,
        "iss": issuer,
        "aud": audience,
        "sub": user_id,
        "tid": tenant_id,
        "role": parse_role(role).value,
        "kind": TokenKind(token_kind).value,
        "jti": secrets.token_urlsafe(16),
        "iat": issued_at,
        "nbf": whole_second,
        "exp": whole_second + ttl,
    }
    if session_id is not None:
        payload["sid"] = session_id
    key = keyset.signing_key
    return _JWT.encode(
        payload,
        key.private_key,  # type: ignore[arg-type]  # the active key always has one
        algorithm=key.algorithm,
        headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE},
    )


def verify_access_token(
    keyset: KeySet,
    token: object,
    *,
    issuer: str,
    audience: str,
    now: datetime | None = None,
    leeway: int = 0,
    not_before_epoch: float | None = None,
) -> Claims:
    """Return the token's ``Claims`` or raise ``InvalidToken``.

    ``leeway`` (seconds, at most 300) tolerates clock skew on ``exp``, ``nbf``
    and ``iat``. ``not_before_epoch`` refuses tokens issued before that moment
    (seconds since the epoch, fractions kept): pass the time of the last global
    session reset so every token issued before it stops working.
    """
    if not isinstance(leeway, int) or isinstance(leeway, bool) or not 0 <= leeway <= MAX_LEEWAY_SECONDS:
        raise ValueError(f"leeway must be an integer from 0 to {MAX_LEEWAY_SECONDS} seconds")
    moment = now if now is not None else datetime.now(UTC)
    now_ts = _epoch(moment)
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise InvalidToken("malformed")

    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidToken("malformed") from None
    if header.get("typ") != ACCESS_TOKEN_TYPE:
        raise InvalidToken("wrong_type")
    key = keyset.verification_key(header.get("kid"), moment)
    if header.get("alg") != key.algorithm:
        raise InvalidToken("algorithm_mismatch")

    try:
        decoded = _JWT.decode_complete(
            token,
            key.public_key,
            algorithms=[key.algorithm],
            issuer=issuer,
            audience=audience,
            options=_DECODE_OPTIONS,
        )
    except jwt.InvalidSignatureError:
        raise InvalidToken("bad_signature") from None
    except jwt.InvalidAlgorithmError:
        raise InvalidToken("algorithm_mismatch") from None
    except jwt.MissingRequiredClaimError:
        raise InvalidToken("missing_claim") from None
    except jwt.InvalidAudienceError:
        raise InvalidToken("wrong_audience") from None
    except jwt.InvalidIssuerError:
        raise InvalidToken("wrong_issuer") from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidToken("malformed") from None

    payload: dict[str, Any] = decoded["payload"]
    claims = _claims_from(payload, key_id=key.kid)
    if claims.expires_at <= now_ts - leeway:
        raise InvalidToken("expired", expired=True)
    if claims.not_before is not None and claims.not_before > now_ts + leeway:
        raise InvalidToken("not_yet_valid")
    if claims.issued_at > now_ts + leeway:
        raise InvalidToken("issued_in_future")
    if not_before_epoch is not None and claims.issued_at < not_before_epoch:
        raise InvalidToken("issued_before_reset")
    return claims


def _claims_from(payload: dict[str, Any], *, key_id: str) -> Claims:
    try:
        role = parse_role(payload["role"])
        kind = TokenKind(payload["kind"])
    except (ValueError, TypeError):
        raise InvalidToken("bad_claim") from None
    session_id = payload.get("sid")
    if session_id is not None and not _is_text(session_id):
        raise InvalidToken("bad_claim")
    if not all(_is_text(payload[name]) for name in ("sub", "tid", "jti", "iss", "aud")):
        raise InvalidToken("bad_claim")
    not_before = payload.get("nbf")
    if not _is_time(payload["exp"]) or not _is_time(payload["iat"]):
        raise InvalidToken("bad_claim")
    if not_before is not None and not _is_time(not_before):
        raise InvalidToken("bad_claim")
    return Claims(
        user_id=payload["sub"],
        tenant_id=payload["tid"],
        role=role,
        token_kind=kind,
        token_id=payload["jti"],
        session_id=session_id,
        issuer=payload["iss"],
        audience=payload["aud"],
        key_id=key_id,
        issued_at=float(payload["iat"]),
        not_before=None if not_before is None else math.floor(not_before),
        expires_at=math.floor(payload["exp"]),
        extra=MappingProxyType({k: v for k, v in payload.items() if k not in _RESERVED_CLAIMS}),
    )


def _is_text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 512


def _is_time(value: object) -> bool:
    # json.loads accepts NaN and Infinity, and bool is an int: neither is a time.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _epoch(moment: datetime) -> float:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return moment.timestamp()


class VerifiedTokens:
    """Tokens whose signature and claims were verified, kept for ``seconds`` (at most ``size`` of them).

    Keyed by the whole token and the key set that verified it (a new key set verifies anew). An entry
    lives no longer than ``seconds`` (so a retired key stops being trusted within that time) nor past the
    token's expiry; :meth:`get` checks expiry again against its ``now``. Thread-safe; the least recently
    used entry goes first when full.
    """

    def __init__(self, *, seconds: float = 30.0, size: int = 4096) -> None:
        if seconds <= 0 or size < 1:
            raise ValueError("seconds must be positive and size at least 1")
        self.seconds = seconds
        # The keep time is per entry (never past the token's expiry), checked here against the caller's clock.
        self._entries: BoundedCache[str, tuple[KeySet, Claims, float]] = BoundedCache(size)

    def get(self, keyset: KeySet, token: str, now: float) -> Claims | None:
        """The claims verified for ``token`` by ``keyset``, if still kept and not expired at ``now`` (epoch s)."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        verified_by, claims, until = entry
        if verified_by is not keyset or now >= until or claims.expires_at <= now:
            self._entries.discard(token)
            return None
        return claims

    def put(self, keyset: KeySet, token: str, claims: Claims, now: float) -> None:
        self._entries.put(token, (keyset, claims, min(now + self.seconds, float(claims.expires_at))))

    def clear(self) -> None:
        self._entries.clear()
