"""The unit-of-work port: what the service layer needs from a transaction.

A service opens one through the container (``current().units_of_work.tenant(id)``
or ``.system()``), works inside it and calls :meth:`UnitOfWork.commit`; leaving
the block without committing rolls everything back. The PostgreSQL adapter is
:class:`chalicelib.db.uow.UnitOfWork`; ``tests/fakes/unit_of_work.py`` is the
in-memory fake the service unit tests run against.

Two ways in, as the code stands:

- **Repositories** (``uow.idempotency_keys`` …): the rules a service owns are
  written against these small ports, so a fake can stand in for the database.
  Their records and scopes are plain values (``chalicelib/db/idempotency_keys.py``).
- **Statements** (``uow.execute``): most services still speak SQLAlchemy Core to
  the adapter directly; those run against PostgreSQL only.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy import Connection

from chalicelib.db.idempotency_keys import IdempotencyRecord, KeyScope


class IdempotencyKeys(Protocol):
    """The stored Idempotency-Keys of the transaction's tenant."""

    def claim(self, scope: KeyScope, body_hash: str, *, lease_seconds: int) -> bool:
        """Claim the key for ``lease_seconds`` in one conditional write: a new key is taken, and so is
        one whose time is up (a stale claim, an answer past keeping); ``False`` when a live record holds it."""
        ...

    def get(self, scope: KeyScope) -> IdempotencyRecord | None: ...

    def keep(self, scope: KeyScope, status: int, sealed_response: Any, *, keep_seconds: int) -> None:
        """Store the answer and keep it for ``keep_seconds``."""
        ...

    def release(self, scope: KeyScope) -> None:
        """Forget the key (the request failed: the client may retry with it)."""
        ...

    def purge_expired(self) -> int:
        """Delete every record whose time is up; how many went."""
        ...


class UnitOfWork(Protocol):
    """One transaction in one tenant's scope (or the system's), rolled back unless committed."""

    tenant_id: str | None

    @property
    def connection(self) -> Connection: ...

    @property
    def idempotency_keys(self) -> IdempotencyKeys: ...

    def execute(self, statement: Any, params: Any = None) -> Any: ...

    def set_tenant(self, tenant_id: str) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
