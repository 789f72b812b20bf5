"""An in-memory fake of the unit-of-work port (``chalicelib/services/unit_of_work.py``).

Like the PostgreSQL adapter, a unit of work changes nothing unless it commits:
it works on a copy of the shared records and writes the copy back on
``commit()``; an Idempotency-Key or a tenant's admission records are seen
only in its own tenant's scope (or in the system scope). Time is the ``clock``
the test moves. It holds no SQL: a service that still speaks statements
(``uow.execute``) fails loudly here instead of passing by accident.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from chalicelib.container import UnitsOfWork
from chalicelib.db.idempotency_keys import IdempotencyRecord, KeyScope
from chalicelib.db.sessions import SessionRecord
from chalicelib.db.trigger_admission import PendingCounts
from chalicelib.triggers.ratelimit import BucketState


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class _StoredKey:
    record: IdempotencyRecord
    expires_at: dt.datetime


@dataclass(frozen=True)
class PendingRun:
    """A run admitted by a trigger and not started yet (``waiting``: queued behind the limit)."""

    tenant_id: str
    waiting: bool


@dataclass
class Records:
    """Everything a fake transaction may change (copied on begin, written back on commit)."""

    idempotency_keys: dict[tuple[str, str, str, str], _StoredKey] = field(default_factory=dict)
    sessions: dict[str, SessionRecord] = field(default_factory=dict)  # by token hash
    memberships: dict[tuple[str, str], str] = field(default_factory=dict)  # (tenant, user) -> role
    user_cutoffs: dict[str, dt.datetime] = field(default_factory=dict)  # user -> sessions_valid_after
    platform_state: dict[str, dt.datetime] = field(default_factory=dict)
    rate_buckets: dict[str, BucketState] = field(default_factory=dict)  # tenant -> its token bucket
    pending_runs: list[PendingRun] = field(default_factory=list)
    admitted: dict[tuple[str, dt.datetime], int] = field(default_factory=dict)  # (tenant, minute) -> runs


@dataclass
class FakeDatabase:
    """What the fake units of work share: the committed records, and how many commits there were."""

    clock: FakeClock = field(default_factory=FakeClock)
    records: Records = field(default_factory=Records)
    commits: int = 0

    def units_of_work(self) -> UnitsOfWork:
        return UnitsOfWork(tenant=lambda tenant_id, **_: FakeUnitOfWork(self, tenant_id=tenant_id),
                           system=lambda **_: FakeUnitOfWork(self, system=True))


def _key(scope: KeyScope) -> tuple[str, str, str, str]:
    return (scope.tenant_id, scope.principal, scope.route, scope.key)


class FakeIdempotencyKeys:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow
        self._rows = uow.records.idempotency_keys

    def _visible(self, scope: KeyScope) -> _StoredKey | None:
        self._uow.check_scope(scope.tenant_id)
        return self._rows.get(_key(scope))

    def claim(self, scope: KeyScope, body_hash: str, *, lease_seconds: int) -> bool:
        now = self._uow.clock()
        found = self._visible(scope)
        if found is not None and found.expires_at > now:
            return False
        self._rows[_key(scope)] = _StoredKey(IdempotencyRecord(body_hash, None, None),
                                             now + dt.timedelta(seconds=lease_seconds))
        return True

    def get(self, scope: KeyScope) -> IdempotencyRecord | None:
        found = self._visible(scope)
        return None if found is None else found.record

    def keep(self, scope: KeyScope, status: int, sealed_response: Any, *, keep_seconds: int) -> None:
        found = self._visible(scope)
        if found is not None:
            found.record = IdempotencyRecord(found.record.body_hash, status, sealed_response)
            found.expires_at = self._uow.clock() + dt.timedelta(seconds=keep_seconds)

    def release(self, scope: KeyScope) -> None:
        if self._visible(scope) is not None:
            del self._rows[_key(scope)]

    def purge_expired(self) -> int:
        now = self._uow.clock()
        gone = [key for key, stored in self._rows.items() if stored.expires_at <= now and self._uow.sees(key[0])]
        for key in gone:
            del self._rows[key]
        return len(gone)


class FakeSessions:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow
        self._records = uow.records

    def by_token_for_update(self, token_hash: str) -> SessionRecord | None:
        return self._records.sessions.get(token_hash)

    def family_of(self, *, session_id: str | None = None, token_hash: str | None = None) -> str | None:
        for stored_hash, session in self._records.sessions.items():
            if (session_id is not None and session.id == session_id) or (
                    session_id is None and stored_hash == token_hash):
                return session.family_id
        return None

    def add(self, *, id: str, tenant_id: str, user_id: str, family_id: str, token_hash: str,
            expires_at: dt.datetime, client_ip: str | None) -> None:
        if token_hash in self._records.sessions:
            raise AssertionError("sessions.token_hash is unique")
        self._records.sessions[token_hash] = SessionRecord(id, tenant_id, user_id, family_id,
                                                           created_at=self._uow.clock(), expires_at=expires_at)

    def _replace(self, match: Any, **changes: Any) -> None:
        for token_hash, session in list(self._records.sessions.items()):
            if match(session):
                self._records.sessions[token_hash] = dataclasses.replace(session, **changes)

    def mark_rotated(self, session_id: str) -> None:
        self._replace(lambda s: s.id == session_id and s.rotated_at is None, rotated_at=self._uow.clock())

    def revoke_family(self, family_id: str, reason: str) -> None:
        self._replace(lambda s: s.family_id == family_id and s.revoked_at is None,
                      revoked_at=self._uow.clock(), revoked_reason=reason)

    def cutoffs(self, user_id: str, *, reset_key: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        return self._records.user_cutoffs.get(user_id), self._records.platform_state.get(reset_key)

    def role_in(self, tenant_id: str, user_id: str) -> str | None:
        return self._records.memberships.get((tenant_id, user_id))


class FakeTriggerAdmission:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow
        self._records = uow.records

    def lock_bucket(self, tenant_id: str, capacity: float, now: dt.datetime) -> BucketState:
        self._uow.check_scope(tenant_id)
        return self._records.rate_buckets.setdefault(tenant_id, BucketState(float(capacity), now))

    def lock_bucket_finding(self, tenant_id: str, capacity: float, now: dt.datetime,
                            dedupe: tuple[str, str, str] | None) -> tuple[BucketState, tuple[str, str | None] | None]:
        return self.lock_bucket(tenant_id, capacity, now), None  # the fake keeps no deliveries

    def store_bucket(self, tenant_id: str, state: BucketState) -> None:
        self._uow.check_scope(tenant_id)
        self._records.rate_buckets[tenant_id] = state

    def pending(self, tenant_id: str, since: dt.datetime, *, bound: int | None = None,
                running: str | None = None, dedupe: tuple[str, str, str] | None = None) -> PendingCounts:
        self._uow.check_scope(tenant_id)
        runs = [run for run in self._records.pending_runs if run.tenant_id == tenant_id]
        minutes = {minute: n for (tenant, minute), n in self._records.admitted.items()
                   if tenant == tenant_id and minute > since}
        cap = len(runs) if bound is None else bound
        return PendingCounts(waiting=min(cap, sum(run.waiting for run in runs)),
                             starting=min(cap, sum(not run.waiting for run in runs)),
                             admitted=sum(minutes.values()), oldest_minute=min(minutes, default=None))

    def count_admitted(self, tenant_id: str, minute: dt.datetime) -> None:
        self._uow.check_scope(tenant_id)
        key = (tenant_id, minute)
        self._records.admitted[key] = self._records.admitted.get(key, 0) + 1

    def tenants_pending(self) -> list[str]:
        return sorted({run.tenant_id for run in self._records.pending_runs if self._uow.sees(run.tenant_id)})


class FakeUnitOfWork:
    """One transaction over a copy of the fake database's records."""

    def __init__(self, database: FakeDatabase, *, tenant_id: str | None = None, system: bool = False) -> None:
        self._database = database
        self.tenant_id = tenant_id
        self.system = system
        self.clock = database.clock
        self.committed = False
        self.records = Records()

    def sees(self, tenant_id: str) -> bool:
        return self.system or tenant_id == self.tenant_id

    def check_scope(self, tenant_id: str) -> None:
        # Row-level security in the real database: another tenant's rows are simply not there.
        if not self.sees(tenant_id):
            raise AssertionError(f"a unit of work of tenant {self.tenant_id} reached tenant {tenant_id}")

    def __enter__(self) -> Self:
        self.records = copy.deepcopy(self._database.records)
        return self

    @property
    def connection(self) -> Any:
        raise NotImplementedError("the fake unit of work holds no connection")

    @property
    def idempotency_keys(self) -> FakeIdempotencyKeys:
        return FakeIdempotencyKeys(self)

    @property
    def sessions(self) -> FakeSessions:
        return FakeSessions(self)

    @property
    def trigger_admission(self) -> FakeTriggerAdmission:
        return FakeTriggerAdmission(self)

    def execute(self, statement: Any, params: Any = None) -> Any:
        raise NotImplementedError("this service still speaks SQL: test it against PostgreSQL")

    def set_tenant(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def commit(self) -> None:
        self._database.records = copy.deepcopy(self.records)
        self._database.commits += 1
        self.committed = True

    def rollback(self) -> None:
        self.records = copy.deepcopy(self._database.records)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.committed:
            self.rollback()
