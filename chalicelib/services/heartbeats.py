"""Heartbeats: proof that a scheduled or queue-driven function really ran."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from chalicelib.db.uow import system_uow
from chalicelib.tables.system import heartbeats


def record(name: str, detail: dict[str, Any] | None = None) -> None:
    """Count one beat of ``name`` (upsert; safe under concurrency)."""
    stmt = insert(heartbeats).values(name=name, count=1, last_at=func.now(), detail=detail)
    stmt = stmt.on_conflict_do_update(
        index_elements=[heartbeats.c.name],
        set_={"count": heartbeats.c.count + 1, "last_at": func.now(), "detail": stmt.excluded.detail},
    )
    with system_uow() as uow:
        uow.execute(stmt)
        uow.commit()


def read(name: str) -> dict[str, Any] | None:
    with system_uow() as uow:
        row = uow.execute(select(heartbeats).where(heartbeats.c.name == name)).mappings().first()
    return dict(row) if row else None
