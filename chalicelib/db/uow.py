"""The unit of work: one transaction, scoped to one tenant (or to the system).

Row-level security on tenant-owned tables reads ``app.tenant_id`` (and
``app.scope`` for housekeeping) from the transaction's settings. They are set
here with ``set_config(name, value, true)`` — transaction-local, bound as
parameters, never formatted into SQL — so a forgotten ``WHERE tenant_id`` can
still never leak another tenant's rows.

The ``set_config`` is not a round trip of its own: it is handed to the driver
(``pg8000_tuning.defer``), which sends it right after the transaction's
``BEGIN`` and before its first statement, all in that statement's round trip
and under one Sync (an error in it skips the statement), so no statement of the
transaction can run without it.

The transaction rolls back unless :meth:`UnitOfWork.commit` was called. This is
the PostgreSQL adapter of the service layer's port (``services/unit_of_work.py``):
its repositories (``idempotency_keys``, ``sessions``, ``trigger_admission``) work in the same transaction.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, text

from chalicelib.db import pg8000_tuning
from chalicelib.db.database_engine import get_db_engine
from chalicelib.db.idempotency_keys import SqlIdempotencyKeys
from chalicelib.db.sessions import SqlSessions
from chalicelib.db.trigger_admission import SqlTriggerAdmission

SYSTEM_SCOPE = "system"
_SET_SCOPE = text(
    "SELECT set_config('app.tenant_id', :tenant_id, true), set_config('app.scope', :scope, true)"
)
_SET_SCOPE_NATIVE = "SELECT set_config('app.tenant_id', $1, true), set_config('app.scope', $2, true)"


class UnitOfWork:
    """A transaction on one connection; use as a context manager."""

    def __init__(
        self,
        *,
        tenant_id: str | None = None,
        system: bool = False,
        db_engine: Engine | None = None,
    ) -> None:
        self._db_engine = db_engine
        self.tenant_id = tenant_id
        self.system = system
        self._committed = False
        self.connection: Connection

    def __enter__(self) -> UnitOfWork:
        self.connection = (self._db_engine or get_db_engine()).connect()
        self._tx = self.connection.begin()
        scope = (self.tenant_id or "", SYSTEM_SCOPE if self.system else "")
        if not pg8000_tuning.defer(self.connection.connection.dbapi_connection, _SET_SCOPE_NATIVE, scope):
            self.connection.execute(_SET_SCOPE, {"tenant_id": scope[0], "scope": scope[1]})
        return self

    @property
    def idempotency_keys(self) -> SqlIdempotencyKeys:
        return SqlIdempotencyKeys(self.connection)

    @property
    def sessions(self) -> SqlSessions:
        return SqlSessions(self.connection)

    @property
    def trigger_admission(self) -> SqlTriggerAdmission:
        return SqlTriggerAdmission(self.connection)

    def set_tenant(self, tenant_id: str) -> None:
        """Narrow a system transaction to one tenant (e.g. once a message names its tenant)."""
        self.tenant_id = tenant_id
        self.connection.execute(_SET_SCOPE, {"tenant_id": tenant_id, "scope": SYSTEM_SCOPE if self.system else ""})

    def execute(self, statement: Any, params: Any = None) -> Any:
        return self.connection.execute(statement, params) if params is not None else self.connection.execute(
            statement
        )

    def commit(self) -> None:
        self._tx.commit()
        self._committed = True

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                self.rollback()
        finally:
            self.connection.close()


def tenant_uow(tenant_id: str, **kwargs: Any) -> UnitOfWork:
    """A unit of work that sees only ``tenant_id``'s rows."""
    return UnitOfWork(tenant_id=tenant_id, **kwargs)


def system_uow(**kwargs: Any) -> UnitOfWork:
    """A unit of work for housekeeping that spans tenants (sweeper, cron tick, reset)."""
    return UnitOfWork(system=True, **kwargs)
