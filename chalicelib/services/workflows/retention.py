"""Run retention: the housekeeping tick deletes runs that ended more than ``run_retention_days`` ago.

A run's step attempts, events, logs, join arrivals and quarantine entries go
with it (their foreign keys cascade). Runs still running are never touched,
whatever their age. At most ``retention_batch`` runs go per tick, oldest
first, in one system-scoped statement; a backlog drains over the next ticks.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from chalicelib.container import current
from chalicelib.db.uow import system_uow
from chalicelib.observability import logger
from chalicelib.services.workflows.settings import engine_settings

_DELETE_EXPIRED = text(
    """
    DELETE FROM runs WHERE id IN (
        SELECT id FROM runs WHERE status <> 'running' AND finished_at < :cutoff
        ORDER BY finished_at LIMIT :batch)
    """
)


def delete_expired_runs(now: dt.datetime | None = None) -> int:
    """Delete finished runs past retention (one batch); returns how many went."""
    settings = engine_settings()
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=settings.run_retention_days)
    with system_uow() as uow:
        deleted = uow.execute(_DELETE_EXPIRED, {"cutoff": cutoff, "batch": settings.retention_batch}).rowcount
        uow.commit()
    if deleted:
        logger.info("runs past retention deleted", extra={"count": deleted, "cutoff": cutoff.isoformat()})
    return int(deleted or 0)


def retention_job() -> None:
    delete_expired_runs()


def queue_retention_job() -> None:
    """The step queue's messages past retention go (a no-op with SQS, which expires them itself)."""
    expired = current().step_queue().expire_messages()
    if expired:
        logger.info("queue messages past retention deleted", extra={"count": expired})
