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

from sqlalchemy import Connection, TextClause, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from chalicelib.tables.triggers import pending_runs, run_admission_counts, trigger_rate_buckets
from chalicelib.triggers.ratelimit import BucketState

# Counts a decision needs, each stopping at ``:bound`` rows (a decision compares them with the concurrency
# limit, and "any waiting?" is all the order needs): nothing here grows with a backlog of waiting runs.
_PENDING = (
    """
    SELECT (SELECT count(*) FROM (SELECT 1 FROM pending_runs WHERE tenant_id = CAST(:t AS uuid) AND waiting
                                  LIMIT :bound) w),
           (SELECT count(*) FROM (SELECT 1 FROM pending_runs WHERE tenant_id = CAST(:t AS uuid) AND NOT waiting
                                  LIMIT :bound) s),
           coalesce(sum(c.count), 0), min(c.minute){running},
           (SELECT array[id::text, run_id::text] FROM trigger_deliveries
            WHERE trigger_id = CAST(:trigger AS uuid) AND mode = :mode AND dedupe_key = :key AND accepted LIMIT 1)
    FROM run_admission_counts c WHERE c.tenant_id = CAST(:t AS uuid) AND c.minute > :since
    """
)
_PENDING_QUERIES: dict[str | None, TextClause] = {None: text(_PENDING.replace("{running}", ""))}
# The tenant's bucket, created full or locked (a no-op update), in one statement.
_LOCK_BUCKET_SQL = """
    INSERT INTO trigger_rate_buckets AS b (tenant_id, tokens, updated_at)
    VALUES (CAST(:t AS uuid), :capacity, :now)
    ON CONFLICT (tenant_id) DO UPDATE SET tokens = b.tokens
    RETURNING b.tokens, b.updated_at
"""
_LOCK_BUCKET = text(_LOCK_BUCKET_SQL).columns(trigger_rate_buckets.c.tokens, trigger_rate_buckets.c.updated_at)
# The same, with the accepted delivery of a dedupe key when there is one (its original, for a duplicate).
_LOCK_BUCKET_FINDING = text(
    f"""
    WITH b AS ({_LOCK_BUCKET_SQL})
    SELECT b.tokens, b.updated_at, o.id, o.run_id FROM b
    LEFT JOIN LATERAL (SELECT id::text, run_id::text FROM trigger_deliveries
                       WHERE trigger_id = CAST(:trigger AS uuid) AND mode = :mode AND dedupe_key = :key AND accepted
                       LIMIT 1) o ON true
    """
).columns(trigger_rate_buckets.c.tokens, trigger_rate_buckets.c.updated_at)
NO_BOUND = 2**31 - 1


@dataclass(frozen=True)
class PendingCounts:
    """The tenant's runs waiting and being started, and the runs admitted since a moment (with the oldest
    minute counted, ``None`` when there is none)."""

    waiting: int
    starting: int
    admitted: int
    oldest_minute: dt.datetime | None
    running: int | None = None  # the ledger's count, when it was read in the same statement
    original: tuple[str, str | None] | None = None  # the accepted delivery (id, run id) of a dedupe key asked


class SqlTriggerAdmission:
    """Admission records in the transaction's connection (the tenant's, or the system's for the tick)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lock_bucket(self, tenant_id: str, capacity: float, now: dt.datetime) -> BucketState:
        row = self._connection.execute(_LOCK_BUCKET, {"t": tenant_id, "capacity": float(capacity), "now": now}).one()
        return BucketState(float(row[0]), row[1])

    def lock_bucket_finding(self, tenant_id: str, capacity: float, now: dt.datetime,
                            dedupe: tuple[str, str, str] | None) -> tuple[BucketState, tuple[str, str | None] | None]:
        """:meth:`lock_bucket`, and in the same statement the accepted delivery of ``dedupe`` (trigger, mode,
        key) as (id, run id), or ``None``."""
        trigger, mode, key = dedupe or (None, None, None)
        row = self._connection.execute(_LOCK_BUCKET_FINDING, {"t": tenant_id, "capacity": float(capacity), "now": now,
                                                              "trigger": trigger, "mode": mode, "key": key}).one()
        return BucketState(float(row[0]), row[1]), (None if row[2] is None else (row[2], row[3]))

    def store_bucket(self, tenant_id: str, state: BucketState) -> None:
        self._connection.execute(update(trigger_rate_buckets).where(
            trigger_rate_buckets.c.tenant_id == tenant_id).values(tokens=state.tokens, updated_at=state.updated_at))

    def pending(self, tenant_id: str, since: dt.datetime, *, bound: int | None = None,
                running: str | None = None, dedupe: tuple[str, str, str] | None = None) -> PendingCounts:
        """``bound``: stop counting there; ``running``: the ledger's SQL count of running runs (``:t`` its
        tenant, ``:bound`` its bound), read in the same statement; ``dedupe`` (trigger, mode, key): also the
        accepted delivery of that key (``PendingCounts.original``)."""
        query = _PENDING_QUERIES.get(running)
        if query is None:  # a ledger has one clause: built once
            query = _PENDING_QUERIES.setdefault(running, text(_PENDING.replace("{running}", f", ({running})")))
        trigger, mode, key = dedupe or (None, None, None)
        row = self._connection.execute(query, {"t": tenant_id, "since": since,
                                               "bound": NO_BOUND if bound is None else bound,
                                               "trigger": trigger, "mode": mode, "key": key}).one()
        original = row[-1]
        return PendingCounts(int(row[0]), int(row[1]), int(row[2]), row[3],
                             None if running is None else int(row[4]),
                             None if original is None else (original[0], original[1]))

    def count_admitted(self, tenant_id: str, minute: dt.datetime) -> None:
        stmt = pg_insert(run_admission_counts).values(tenant_id=tenant_id, minute=minute, count=1)
        self._connection.execute(stmt.on_conflict_do_update(
            constraint="pk_run_admission_counts", set_={"count": run_admission_counts.c.count + 1}))

    def tenants_pending(self) -> list[str]:
        return [str(t) for (t,) in self._connection.execute(select(pending_runs.c.tenant_id).distinct()).all()]
