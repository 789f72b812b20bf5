"""The ``idempotency_keys`` repository over PostgreSQL (the port is ``services.unit_of_work.IdempotencyKeyRepository``).

Time is the database's (``now()``), so every API function agrees on when a claim
goes stale; the claim is one ``INSERT … ON CONFLICT … DO UPDATE … WHERE`` that
only one concurrent request can win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from chalicelib.tables.platform import idempotency_keys

c = idempotency_keys.c


class KeyScope(Protocol):
    """Whose Idempotency-Key a record is (``services.idempotency.Scope``)."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def principal(self) -> str: ...
    @property
    def route(self) -> str: ...
    @property
    def key(self) -> str: ...


@dataclass(frozen=True)
class IdempotencyRecord:
    """A claimed key: the body it was claimed with, and the sealed answer once there is one."""

    body_hash: str
    status: int | None  # None while the first request is in flight
    sealed_response: Any


def _where(scope: KeyScope) -> tuple[Any, ...]:
    return (c.tenant_id == scope.tenant_id, c.principal == scope.principal, c.route == scope.route,
            c.key == scope.key)


class SqlIdempotencyKeys:
    """Idempotency-Keys in the transaction's connection (row-level security scopes them to its tenant)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def claim(self, scope: KeyScope, body_hash: str, *, lease_seconds: int) -> bool:
        lease = func.now() + timedelta(seconds=lease_seconds)
        new = insert(idempotency_keys).values(
            tenant_id=scope.tenant_id, principal=scope.principal, key=scope.key, route=scope.route,
            body_hash=body_hash, expires_at=lease)
        # A new key is inserted; a row whose time is up is taken over; a live row is left alone.
        claim = new.on_conflict_do_update(
            index_elements=[c.tenant_id, c.principal, c.route, c.key],
            set_={"body_hash": new.excluded.body_hash, "status": None, "sealed_response": None,
                  "created_at": func.now(), "expires_at": new.excluded.expires_at},
            where=c.expires_at <= func.now(),
        ).returning(c.key)
        return self._connection.execute(claim).first() is not None

    def get(self, scope: KeyScope) -> IdempotencyRecord | None:
        row = self._connection.execute(
            select(c.body_hash, c.status, c.sealed_response).where(*_where(scope))
        ).first()
        return None if row is None else IdempotencyRecord(row.body_hash, row.status, row.sealed_response)

    def keep(self, scope: KeyScope, status: int, sealed_response: Any, *, keep_seconds: int) -> None:
        self._connection.execute(update(idempotency_keys).where(*_where(scope)).values(
            status=status, sealed_response=sealed_response, expires_at=func.now() + timedelta(seconds=keep_seconds)))

    def release(self, scope: KeyScope) -> None:
        self._connection.execute(delete(idempotency_keys).where(*_where(scope)))

    def purge_expired(self) -> int:
        gone = self._connection.execute(delete(idempotency_keys).where(c.expires_at <= func.now())).rowcount
        return int(gone or 0)
