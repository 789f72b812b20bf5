"""The ``trigger_admission`` repository over PostgreSQL (the port is
``services.unit_of_work.TriggerAdmissionRepository``).

What per-tenant admission reads and writes: the tenant's token-bucket row
(locked ``FOR UPDATE``, which serialises the tenant's admissions), the
runs waiting or being started (``pending_runs``) and the per-minute counters
of runs admitted (``run_admission_counts``). The decisions are made in
``services/triggers/admission.py`` and ``triggers/backpressure.py``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from chalicelib.tables.triggers import pending_runs, run_admission_counts, trigger_rate_buckets
from chalicelib.triggers.ratelimit import BucketState

_PENDING = text(
    """
    SELECT (SELECT count(*) FROM pending_runs WHERE tenant_id = CAST(:t AS uuid) AND waiting),
           (SELECT count(*) FROM pending_runs WHERE tenant_id = CAST(:t AS uuid) AND NOT waiting),
           coalesce(sum(c.count), 0), min(c.minute)
    FROM run_admission_counts c WHERE c.tenant_id = CAST(:t AS uuid) AND c.minute > :since
    """
)


@dataclass(frozen=True)
class PendingCounts:
    """The tenant's runs waiting and being started, and the runs admitted since a moment (with the oldest
    minute counted, ``None`` when there is none)."""

    waiting: int
    starting: int
    admitted: int
    oldest_minute: dt.datetime | None


class SqlTriggerAdmission:
    """Admission records in the transaction's connection (the tenant's, or the system's for the tick)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lock_bucket(self, tenant_id: str, capacity: float, now: dt.datetime) -> BucketState:
        query = select(trigger_rate_buckets.c.tokens, trigger_rate_buckets.c.updated_at).where(
            trigger_rate_buckets.c.tenant_id == tenant_id).with_for_update()
        row = self._connection.execute(query).first()
        if row is None:
            self._connection.execute(pg_insert(trigger_rate_buckets).values(
                tenant_id=tenant_id, tokens=float(capacity), updated_at=now).on_conflict_do_nothing())
            row = self._connection.execute(query).one()  # inserted now, or by a concurrent first admission
        return BucketState(float(row[0]), row[1])

    def store_bucket(self, tenant_id: str, state: BucketState) -> None:
        self._connection.execute(update(trigger_rate_buckets).where(
            trigger_rate_buckets.c.tenant_id == tenant_id).values(tokens=state.tokens, updated_at=state.updated_at))

    def pending(self, tenant_id: str, since: dt.datetime) -> PendingCounts:
        waiting, starting, admitted, oldest = self._connection.execute(
            _PENDING, {"t": tenant_id, "since": since}).one()
        return PendingCounts(int(waiting), int(starting), int(admitted), oldest)

    def count_admitted(self, tenant_id: str, minute: dt.datetime) -> None:
        stmt = pg_insert(run_admission_counts).values(tenant_id=tenant_id, minute=minute, count=1)
        self._connection.execute(stmt.on_conflict_do_update(
            constraint="pk_run_admission_counts", set_={"count": run_admission_counts.c.count + 1}))

    def tenants_pending(self) -> list[str]:
        return [str(t) for (t,) in self._connection.execute(select(pending_runs.c.tenant_id).distinct()).all()]
