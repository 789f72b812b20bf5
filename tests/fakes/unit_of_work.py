"""An in-memory fake of the unit-of-work port (``chalicelib/services/unit_of_work.py``).

Like the PostgreSQL adapter, a unit of work sees one tenant's records (or all
of them, in the system scope) and changes nothing unless it commits: it works
on a copy of the shared store and writes the copy back on ``commit()``. Time is
the ``clock`` the test moves. It holds no SQL: a service that still speaks
statements (``uow.execute``) fails loudly here instead of passing by accident.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from chalicelib.container import UnitsOfWork
from chalicelib.db.idempotency_keys import IdempotencyRecord, KeyScope


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class _StoredKey:
    record: IdempotencyRecord
    expires_at: datetime


def _key(scope: KeyScope) -> tuple[str, str, str, str]:
    return (scope.tenant_id, scope.principal, scope.route, scope.key)


@dataclass
class FakeDatabase:
    """What the fake units of work share: the committed records, and how many commits there were."""

    clock: FakeClock = field(default_factory=FakeClock)
    idempotency_keys: dict[tuple[str, str, str, str], _StoredKey] = field(default_factory=dict)
    commits: int = 0

    def units_of_work(self) -> UnitsOfWork:
        return UnitsOfWork(tenant=lambda tenant_id, **_: FakeUnitOfWork(self, tenant_id=tenant_id),
                           system=lambda **_: FakeUnitOfWork(self, system=True))


class FakeIdempotencyKeys:
    def __init__(self, rows: dict[tuple[str, str, str, str], _StoredKey], uow: FakeUnitOfWork) -> None:
        self._rows, self._uow = rows, uow

    def _visible(self, scope: KeyScope) -> _StoredKey | None:
        self._uow.check_scope(scope.tenant_id)
        return self._rows.get(_key(scope))

    def claim(self, scope: KeyScope, body_hash: str, *, lease_seconds: int) -> bool:
        now = self._uow.clock()
        found = self._visible(scope)
        if found is not None and found.expires_at > now:
            return False
        self._rows[_key(scope)] = _StoredKey(IdempotencyRecord(body_hash, None, None),
                                             now + timedelta(seconds=lease_seconds))
        return True

    def get(self, scope: KeyScope) -> IdempotencyRecord | None:
        found = self._visible(scope)
        return None if found is None else found.record

    def keep(self, scope: KeyScope, status: int, sealed_response: Any, *, keep_seconds: int) -> None:
        found = self._visible(scope)
        if found is not None:
            found.record = IdempotencyRecord(found.record.body_hash, status, sealed_response)
            found.expires_at = self._uow.clock() + timedelta(seconds=keep_seconds)

    def release(self, scope: KeyScope) -> None:
        if self._visible(scope) is not None:
            del self._rows[_key(scope)]

    def purge_expired(self) -> int:
        now = self._uow.clock()
        gone = [key for key, stored in self._rows.items()
                if stored.expires_at <= now and self._uow.sees(key[0])]
        for key in gone:
            del self._rows[key]
        return len(gone)


class FakeUnitOfWork:
    """One transaction over a copy of the fake database's records."""

    def __init__(self, database: FakeDatabase, *, tenant_id: str | None = None, system: bool = False) -> None:
        self._database = database
        self.tenant_id = tenant_id
        self.system = system
        self.clock: Callable[[], datetime] = database.clock
        self.committed = False
        self._keys: dict[tuple[str, str, str, str], _StoredKey] = {}

    def sees(self, tenant_id: str) -> bool:
        return self.system or tenant_id == self.tenant_id

    def check_scope(self, tenant_id: str) -> None:
        # Row-level security in the real database: another tenant's rows are simply not there.
        if not self.sees(tenant_id):
            raise AssertionError(f"a unit of work of tenant {self.tenant_id} reached tenant {tenant_id}")

    def __enter__(self) -> Self:
        self._keys = copy.deepcopy(self._database.idempotency_keys)
        return self

    @property
    def connection(self) -> Any:
        raise NotImplementedError("the fake unit of work holds no connection")

    @property
    def idempotency_keys(self) -> FakeIdempotencyKeys:
        return FakeIdempotencyKeys(self._keys, self)

    def execute(self, statement: Any, params: Any = None) -> Any:
        raise NotImplementedError("this service still speaks SQL: test it against PostgreSQL")

    def set_tenant(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def commit(self) -> None:
        self._database.idempotency_keys = copy.deepcopy(self._keys)
        self._database.commits += 1
        self.committed = True

    def rollback(self) -> None:
        self._keys = copy.deepcopy(self._database.idempotency_keys)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.committed:
            self.rollback()
