"""Worker identity: who holds a step's claim, and taking over the work of a worker that died.

Every process has one identity (:func:`worker_id`); each claim it takes
records it in ``step_runs.claimed_by``. A long-running runtime (the local
stack) also **registers** in ``runtime_workers`` and beats every few
seconds. A registered worker is *dead* when it stopped beating for
``worker_stale_seconds``, or at once when it ran on this host and its
process is gone (a restart after ``kill -9``). Its running steps are queued
again — the same attempt, so the same idempotency key — without waiting for
their leases to expire.

Lambda containers never register (they cannot beat while frozen): their
claims are recovered by the lease alone, as before.

At start-up a runtime registers and takes over the dead workers' steps
(``sweeper.recover``).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from chalicelib.db.uow import system_uow
from chalicelib.tables.system import runtime_workers

_WORKER_ID = str(uuid.uuid4())
_HOST = socket.gethostname()[:255]
_REG_LOCK = threading.Lock()
_registrations = 0

_ABANDONED = text(
    """
    SELECT id::text, tenant_id::text, run_id::text, node_id, instance_key, attempt, input, reclaims,
           claim_token::text
    FROM step_runs WHERE status = 'running' AND claimed_by = ANY(CAST(:workers AS uuid[]))
    ORDER BY started_at LIMIT :n
    """
)


def worker_id() -> str:
    """This process's identity (recorded with every claim it takes)."""
    return _WORKER_ID


def register() -> None:
    """Announce this process as a long-running worker that beats (counted: one row per process)."""
    global _registrations
    with _REG_LOCK:
        _registrations += 1
        stmt = pg_insert(runtime_workers).values(id=_WORKER_ID, host=_HOST, pid=os.getpid())
        stmt = stmt.on_conflict_do_update(index_elements=[runtime_workers.c.id],
                                          set_={"heartbeat_at": text("now()"), "pid": os.getpid()})
        with system_uow() as uow:
            uow.execute(stmt)
            uow.commit()


def beat() -> None:
    with system_uow() as uow:
        uow.execute(update(runtime_workers).where(runtime_workers.c.id == _WORKER_ID)
                    .values(heartbeat_at=text("now()")))
        uow.commit()


def unregister() -> None:
    """The last runtime of this process stops: it counts as dead from now on.

    Steps it still holds (a stop that did not wait for them) are taken over by the next sweep or start;
    the row goes once it holds none.
    """
    global _registrations
    with _REG_LOCK:
        _registrations = max(0, _registrations - 1)
        if _registrations:
            return
        with system_uow() as uow:
            uow.execute(update(runtime_workers).where(runtime_workers.c.id == _WORKER_ID)
                        .values(heartbeat_at=text("'-infinity'::timestamptz")))
            uow.commit()
    forget([_WORKER_ID])


def _process_gone(pid: int) -> bool:
    """Whether the process ``pid`` of this host has ended (a zombie — ended, not yet reaped — has)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


def dead_workers(stale_seconds: float) -> list[str]:
    """Registered workers that stopped beating, or ran on this host in a process that is gone."""
    with system_uow() as uow:
        rows = uow.execute(
            select(runtime_workers.c.id, runtime_workers.c.host, runtime_workers.c.pid,
                   (runtime_workers.c.heartbeat_at < text("now() - make_interval(secs => :stale)"))
                   .label("stale")).where(runtime_workers.c.id != _WORKER_ID),
            {"stale": stale_seconds},
        ).mappings().all()
    return [str(r["id"]) for r in rows
            if r["stale"] or (r["host"] == _HOST and r["pid"] != os.getpid() and _process_gone(int(r["pid"])))]


def abandoned_steps(dead: list[str], limit: int) -> list[dict[str, Any]]:
    """Running steps claimed by one of ``dead``."""
    if not dead:
        return []
    with system_uow() as uow:
        return [dict(r) for r in uow.execute(_ABANDONED, {"workers": dead, "n": limit}).mappings().all()]


def forget(dead: list[str]) -> None:
    """Drop dead workers whose steps were all taken over."""
    if not dead:
        return
    with system_uow() as uow:
        still = {str(r[0]) for r in uow.execute(text(
            "SELECT DISTINCT claimed_by::text FROM step_runs WHERE status = 'running' "
            "AND claimed_by = ANY(CAST(:w AS uuid[]))"), {"w": dead}).all()}
        gone = [w for w in dead if w not in still]
        if gone:
            uow.execute(delete(runtime_workers).where(runtime_workers.c.id.in_(gone)))
        uow.commit()
