"""The ``sessions`` repository over PostgreSQL (the port is ``services.unit_of_work.SessionRepository``).

What the refresh-token rules read and write: a session found by its token hash
(locked for the rotation), its family revoked at once, and the two facts that
end a session from outside (the user's cut-off, the platform reset) and the
membership it was issued for. Times the database writes are its ``now()``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select, text, update

from chalicelib.tables.identity import memberships, sessions

_CUTOFFS = text(
    "SELECT u.sessions_valid_after, (SELECT (value #>> '{}')::timestamptz FROM platform_state "
    "WHERE key = :k) FROM users u WHERE u.id = :uid")


@dataclass(frozen=True)
class SessionRecord:
    """One refresh token's session (the token itself is never stored, only its hash)."""

    id: str
    tenant_id: str
    user_id: str
    family_id: str
    created_at: dt.datetime
    expires_at: dt.datetime
    rotated_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    revoked_reason: str | None = None


class SqlSessions:
    """Sessions in the transaction's connection (the auth flows run in the system scope)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def by_token_for_update(self, token_hash: str) -> SessionRecord | None:
        row = self._connection.execute(
            select(sessions).where(sessions.c.token_hash == token_hash).with_for_update()).mappings().first()
        if row is None:
            return None
        return SessionRecord(
            id=str(row["id"]), tenant_id=str(row["tenant_id"]), user_id=str(row["user_id"]),
            family_id=str(row["family_id"]), created_at=row["created_at"], expires_at=row["expires_at"],
            rotated_at=row["rotated_at"], revoked_at=row["revoked_at"], revoked_reason=row["revoked_reason"])

    def family_of(self, *, session_id: str | None = None, token_hash: str | None = None) -> str | None:
        where = sessions.c.id == session_id if session_id is not None else sessions.c.token_hash == token_hash
        family = self._connection.execute(select(sessions.c.family_id).where(where)).scalar()
        return None if family is None else str(family)

    def add(self, *, id: str, tenant_id: str, user_id: str, family_id: str, token_hash: str,
            expires_at: dt.datetime, client_ip: str | None) -> None:
        self._connection.execute(insert(sessions).values(
            id=id, tenant_id=tenant_id, user_id=user_id, family_id=family_id, token_hash=token_hash,
            expires_at=expires_at, client_ip=client_ip))

    def mark_rotated(self, session_id: str) -> None:
        """The session's token is spent (from now; a token rotated before stays rotated at its first time)."""
        self._connection.execute(update(sessions).where(sessions.c.id == session_id)
                                 .values(rotated_at=func.coalesce(sessions.c.rotated_at, func.now())))

    def revoke_family(self, family_id: str, reason: str) -> None:
        self._connection.execute(update(sessions).where(sessions.c.family_id == family_id,
                                                        sessions.c.revoked_at.is_(None))
                                 .values(revoked_at=func.now(), revoked_reason=reason))

    def cutoffs(self, user_id: str, *, reset_key: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        """(the user's ``sessions_valid_after``, the platform reset's time, kept in ``platform_state`` under
        ``reset_key``): sessions created before either have ended."""
        row = self._connection.execute(_CUTOFFS, {"k": reset_key, "uid": user_id}).first()
        return (row[0], row[1]) if row is not None else (None, None)

    def role_in(self, tenant_id: str, user_id: str) -> str | None:
        """The user's role in the tenant, ``None`` when no longer a member."""
        role = self._connection.execute(select(memberships.c.role).where(
            memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id)).scalar()
        return None if role is None else str(role)
