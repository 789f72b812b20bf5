"""Sign-in and sessions: login, refresh, logout, forgot/reset/change password, switch tenant.

Refresh tokens are opaque (``slr_…``), stored hashed, rotated on every use.
All refresh tokens descending from one login form a *family*: presenting a
token that was already rotated (a stolen copy being replayed, or the victim
after the thief) revokes the whole family.

These flows run before a tenant is known (or across tenants), so they use the
system scope of the unit of work; every statement names the user or token it
concerns.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, insert, select, text, update

from chalicelib import container
from chalicelib.adapters.mail import Mail
from chalicelib.config import get_settings
from chalicelib.db.sessions import SessionRecord
from chalicelib.db.uow import system_uow
from chalicelib.errors import NotFound, Unauthenticated, ValidationFailed
from chalicelib.identity import passwords
from chalicelib.identity.opaque_tokens import TokenPurpose, generate_token, hash_token
from chalicelib.identity.passwords import FAST_TEST_PROFILE, PRODUCTION_PROFILE, HashingProfile
from chalicelib.identity.roles import parse_role
from chalicelib.identity.throttle import ThrottlePolicy, decide_login
from chalicelib.identity.tokens import issue_access_token
from chalicelib.ids import new_id
from chalicelib.services import audit
from chalicelib.services.authentication import GLOBAL_RESET_KEY, Principal, keyset
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.identity import (
    login_failures,
    memberships,
    password_resets,
    platform_state,
    sessions,
    tenants,
    users,
)

ACCESS_TTL = dt.timedelta(minutes=15)
REFRESH_TTL = dt.timedelta(days=30)
RESET_TTL = dt.timedelta(hours=1)
THROTTLE = ThrottlePolicy()


class InvalidCredentials(Unauthenticated):
    """Wrong email or password (deliberately not saying which)."""

    code, default_message = "invalid_credentials", "Invalid email or password."


class InvalidRefreshToken(Unauthenticated):
    """The refresh token is unknown, expired, revoked or already used."""

    code, default_message = ("invalid_refresh_token",
                             "This session is no longer valid (signed out, expired or the platform was reset): "
                             "sign in again.")


class InvalidResetToken(ValidationFailed):
    """The password-reset or invite token is unknown, used or expired."""

    code, default_message = "invalid_or_expired_token", "The token is invalid or has expired."


def profile() -> HashingProfile:
    return FAST_TEST_PROFILE if get_settings().password_profile == "fast" else PRODUCTION_PROFILE


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


# -- issuing -------------------------------------------------------------------
def _issue(uow: UnitOfWork, *, user_id: str, tenant_id: str, role: str, family_id: str | None = None,
           client_ip: str | None = None) -> dict[str, Any]:
    """A new session row (refresh token) and an access token bound to it."""
    settings = get_settings()
    refresh = generate_token(TokenPurpose.REFRESH)
    session_id = new_id()
    moment = now()
    uow.sessions.add(id=session_id, tenant_id=tenant_id, user_id=user_id, family_id=family_id or session_id,
                     token_hash=refresh.token_hash, expires_at=moment + REFRESH_TTL, client_ip=client_ip)
    access = issue_access_token(
        keyset(), user_id=user_id, tenant_id=tenant_id, role=role, session_id=session_id,
        ttl=int(ACCESS_TTL.total_seconds()), now=moment, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
    )
    return {"access_token": access, "token_type": "Bearer", "expires_in": int(ACCESS_TTL.total_seconds()),
            "refresh_token": refresh.value, "tenant_id": tenant_id, "role": role, "user_id": user_id}


def _memberships(uow: UnitOfWork, user_id: str) -> list[dict[str, Any]]:
    rows = uow.execute(
        select(memberships.c.tenant_id, memberships.c.role, tenants.c.name, tenants.c.slug)
        .join(tenants, tenants.c.id == memberships.c.tenant_id)
        .where(memberships.c.user_id == user_id)
        .order_by(memberships.c.created_at, tenants.c.slug)
    ).mappings().all()
    return [dict(r) for r in rows]


# -- login -----------------------------------------------------------------------
def login(email: str, password: str, *, tenant_id: str | None, client_ip: str) -> dict[str, Any]:
    key = normalise_email(email)
    moment = now()
    with system_uow() as uow:
        since = moment - dt.timedelta(seconds=THROTTLE.lookback_seconds)
        account_failures = uow.execute(select(login_failures.c.created_at).where(
            login_failures.c.account_key == key, login_failures.c.created_at >= since)).scalars().all()
        address_failures = uow.execute(select(login_failures.c.created_at).where(
            login_failures.c.client_ip == client_ip, login_failures.c.created_at >= since)).scalars().all()
        decide_login(THROTTLE, account_failures=account_failures, address_failures=address_failures,
                     now=moment).raise_if_refused()
        user = uow.execute(select(users).where(users.c.email == key)).mappings().first()
        if user is None or not user["password_hash"]:
            passwords.dummy_verify(password or "", profile=profile())
            ok = False
        else:
            ok = passwords.verify_password(user["password_hash"], password or "", profile=profile())
        member_of = _memberships(uow, user["id"]) if ok and user else []
        if not ok or not member_of:
            uow.execute(insert(login_failures).values(id=new_id(), account_key=key, client_ip=client_ip))
            uow.commit()
            raise InvalidCredentials()
        chosen = next((m for m in member_of if m["tenant_id"] == tenant_id), None) if tenant_id else member_of[0]
        if chosen is None:
            raise NotFound("You are not a member of that tenant.")
        uow.execute(login_failures.delete().where(login_failures.c.account_key == key))
        if passwords.needs_rehash(user["password_hash"], profile=profile()):
            uow.execute(update(users).where(users.c.id == user["id"]).values(
                password_hash=passwords.hash_password(password, profile=profile())))
        result = _issue(uow, user_id=user["id"], tenant_id=chosen["tenant_id"], role=chosen["role"],
                        client_ip=client_ip)
        uow.commit()
    result["tenants"] = member_of
    return result


# -- refresh / logout ------------------------------------------------------------------
# A browser can lose a refresh answer (the page navigates away while it is in flight; two tabs
# refresh at once) and then presents the token it still holds. Within this leeway that is not
# taken for theft; past it, reuse revokes the family. Only the cookie transport grants it.
BROWSER_REUSE_LEEWAY = dt.timedelta(seconds=30)


def refresh(refresh_token: str, *, client_ip: str, reuse_leeway: dt.timedelta = dt.timedelta(0)) -> dict[str, Any]:
    token_hash = hash_token(refresh_token or "")
    with container.current().units_of_work.system() as uow:
        session = uow.sessions.by_token_for_update(token_hash)
        if session is None:
            raise InvalidRefreshToken()
        if session.revoked_at is not None:
            raise InvalidRefreshToken(_ENDED.get(session.revoked_reason or "", _ENDED["default"]),
                                      code="session_ended")
        if session.rotated_at is not None and session.rotated_at <= now() - reuse_leeway:
            # Reuse of a spent token: someone holds a copy. End the whole family.
            uow.sessions.revoke_family(session.family_id, "reuse_detected")
            uow.commit()
            raise InvalidRefreshToken("The refresh token was already used; every session of its family is revoked.",
                                      code="refresh_token_reused")
        if session.expires_at <= now():
            raise InvalidRefreshToken("The session expired: sign in again.", code="session_ended")
        cutoff = _cutoff_reason(uow, session)
        if cutoff:
            raise InvalidRefreshToken(_ENDED[cutoff], code="session_ended")
        role = uow.sessions.role_in(session.tenant_id, session.user_id)
        if role is None:
            raise InvalidRefreshToken()
        uow.sessions.mark_rotated(session.id)
        result = _issue(uow, user_id=session.user_id, tenant_id=session.tenant_id, role=role,
                        family_id=session.family_id, client_ip=client_ip)
        uow.commit()
    return result


# Why a session ended, in words a person signed out by it can act on (the console shows them).
_ENDED = {
    "password_change": "The password of this account was changed, so every session ended: sign in again.",
    "password_reset": "The password of this account was reset, so every session ended: sign in again.",
    "logout": "You signed out of this session.",
    "reuse_detected": "This session was ended for safety (its refresh token was used twice): sign in again.",
    "user_cutoff": "Every session of this account was ended: sign in again.",
    "platform_reset": "The platform was reset and everyone was signed out: sign in again.",
    "default": "This session has ended: sign in again.",
}


def _cutoff_reason(uow: UnitOfWork, session: SessionRecord) -> str | None:
    """Whether a cut-off (the user's, or the platform reset's) ended this session, and which."""
    user_cutoff, platform_cutoff = uow.sessions.cutoffs(session.user_id, reset_key=GLOBAL_RESET_KEY)
    if platform_cutoff is not None and session.created_at < platform_cutoff:
        return "platform_reset"
    if user_cutoff is not None and session.created_at < user_cutoff:
        return "user_cutoff"
    return None


def logout(principal: Principal | None, refresh_token: str | None) -> None:
    """Revoke the caller's session family (from the access token's session, or a refresh token)."""
    with container.current().units_of_work.system() as uow:
        family = None
        if principal is not None and principal.session_id:
            family = uow.sessions.family_of(session_id=principal.session_id)
        if family is None and refresh_token:
            family = uow.sessions.family_of(token_hash=hash_token(refresh_token))
        if family is None:
            raise InvalidRefreshToken()
        uow.sessions.revoke_family(family, "logout")
        uow.commit()


# -- passwords ---------------------------------------------------------------------
def forgot(email: str) -> None:
    """Mail a single-use reset link if the account exists; answer the same either way."""
    key = normalise_email(email)
    with system_uow() as uow:
        user = uow.execute(select(users.c.id).where(users.c.email == key)).first()
        if user is None:
            passwords.dummy_verify("x" * 12, profile=profile())  # similar timing either way
            return
        token = generate_token(TokenPurpose.PASSWORD_RESET)
        uow.execute(insert(password_resets).values(id=new_id(), user_id=user.id, token_hash=token.token_hash,
                                                   expires_at=now() + RESET_TTL))
        uow.commit()
    link = f"{get_settings().public_base_url}/reset-password?token={token.value}"
    container.current().mailer().send(Mail(to=key, subject="Reset your Stepline password", kind="password_reset",
                                           body=f"Use this link within one hour to choose a new password:\n{link}\n"
                                                f"Reset token: {token.value}\n"))


def _revoke_user_sessions(uow: UnitOfWork, user_id: str, reason: str) -> None:
    uow.execute(update(users).where(users.c.id == user_id).values(sessions_valid_after=func.now()))
    uow.execute(update(sessions).where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
                .values(revoked_at=func.now(), revoked_reason=reason))


def reset_password(token: str, new_password: str) -> None:
    passwords.check_password_policy(new_password)
    with system_uow() as uow:
        row = uow.execute(
            update(password_resets)
            .where(password_resets.c.token_hash == hash_token(token or ""), password_resets.c.used_at.is_(None),
                   password_resets.c.expires_at > func.now())
            .values(used_at=func.now())
            .returning(password_resets.c.user_id)
        ).first()
        if row is None:
            raise InvalidResetToken()
        uow.execute(update(users).where(users.c.id == row.user_id).values(
            password_hash=passwords.hash_password(new_password, profile=profile()), password_changed_at=func.now()))
        _revoke_user_sessions(uow, row.user_id, "password_reset")
        uow.commit()


class WrongCurrentPassword(ValidationFailed):
    """The current password given to a change is wrong."""

    code, default_message = "invalid_current_password", "The current password is not correct."


def change_password(principal: Principal, current: str, new_password: str, *, client_ip: str) -> dict[str, Any]:
    """Change the caller's password; every other session ends, the caller gets fresh tokens."""
    if principal.user_id is None:
        raise WrongCurrentPassword("API tokens have no password.")
    passwords.check_password_policy(new_password, path="/new_password")
    with system_uow() as uow:
        stored = uow.execute(select(users.c.password_hash).where(users.c.id == principal.user_id)).scalar()
        if not stored or not passwords.verify_password(stored, current or "", profile=profile()):
            raise WrongCurrentPassword(details=[{"path": "/current_password", "issue": "does not match"}])
        uow.execute(update(users).where(users.c.id == principal.user_id).values(
            password_hash=passwords.hash_password(new_password, profile=profile()), password_changed_at=func.now()))
        _revoke_user_sessions(uow, principal.user_id, "password_change")
        uow.commit()
    # a fresh session created after the cut-off above
    with system_uow() as uow:
        result = _issue(uow, user_id=principal.user_id, tenant_id=principal.tenant_id, role=principal.role.value,
                        client_ip=client_ip)
        audit.record(uow, principal, "user.password_changed", "user", principal.user_id)
        uow.commit()
    return result


def switch_tenant(principal: Principal, tenant_id: str, *, client_ip: str) -> dict[str, Any]:
    if principal.user_id is None:
        raise NotFound("API tokens belong to one tenant.")
    with system_uow() as uow:
        member_of = _memberships(uow, principal.user_id)
        chosen = next((m for m in member_of if m["tenant_id"] == tenant_id), None)
        if chosen is None:
            raise NotFound("No such tenant.")
        result = _issue(uow, user_id=principal.user_id, tenant_id=tenant_id, role=chosen["role"], client_ip=client_ip)
        uow.commit()
    result["tenants"] = member_of
    return result


def global_reset_marker(uow: UnitOfWork) -> None:
    """Every token and session issued before now stops working."""
    stmt = text("INSERT INTO platform_state (key, value, updated_at) VALUES (:k, to_jsonb(CAST(now() AS text)), now()) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()")
    uow.execute(stmt, {"k": GLOBAL_RESET_KEY})


__all__ = ["login", "refresh", "logout", "forgot", "reset_password", "change_password", "switch_tenant",
           "global_reset_marker", "parse_role", "platform_state"]
