"""Errors raised by the identity core, each a small subclass of the platform hierarchy."""

from __future__ import annotations

from chalicelib.errors import (
    Conflict,
    Forbidden,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)

_BEARER_CHALLENGE = 'Bearer error="invalid_token"'


class InvalidToken(Unauthenticated):
    """An access token was refused (malformed, forged, expired, revoked or from a retired key)."""

    code = "invalid_token"
    default_message = "Invalid access token."

    def __init__(self, reason: str = "invalid", *, expired: bool = False) -> None:
        # ``reason`` is a short fixed string for logs ("unknown_kid", "bad_signature"); it is never
        # derived from the token, and it is not part of the HTTP body, so probing learns nothing.
        super().__init__(
            "Access token expired." if expired else None,
            code="token_expired" if expired else None,
            headers={"WWW-Authenticate": _BEARER_CHALLENGE},
        )
        self.reason = reason


class PasswordPolicyViolation(ValidationFailed):
    """A new password does not meet the password policy."""

    code = "password_policy_violation"
    default_message = "The password does not meet the password policy."


class RoleChangeForbidden(Forbidden):
    """The caller may not grant, change or remove this role."""

    code = "role_change_forbidden"
    default_message = "You may not grant, change or remove this role."


class LastOwnerRequired(Conflict):
    """The change would leave the tenant without an owner."""

    code = "last_owner"
    default_message = "A tenant must keep at least one owner."


class LoginThrottled(RateLimited):
    """Too many failed sign-in attempts; retry after ``retry_after`` seconds."""

    code = "login_throttled"
    default_message = "Too many failed sign-in attempts. Try again later."
