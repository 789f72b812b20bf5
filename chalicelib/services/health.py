"""Dependency checks for ``GET /health``.

Each check runs in its own thread with a deadline (``CHECK_SECONDS``), so a
database or queue that hangs makes ``/health`` answer 503 naming it (and why:
``timeout``, ``database_unavailable`` …) within its own short time, never
as long as the dependency is stuck.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from sqlalchemy import text

from chalicelib.container import Container
from chalicelib.db import faults as db_faults
from chalicelib.observability import logger
from chalicelib.version import VERSION

CHECK_SECONDS = 3.0
# Checks that outlive their deadline finish (or time out) on their own; a small pool bounds their threads.
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")


def _timed(probe: Any) -> float:
    started = time.perf_counter()
    probe()
    return (time.perf_counter() - started) * 1000


def _result(future: Future, deadline: float) -> dict[str, Any]:
    try:
        elapsed_ms = future.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        logger.warning("health check timed out", extra={"timeout_s": CHECK_SECONDS})
        return {"status": "error", "error": "timeout", "message": f"No answer within {CHECK_SECONDS:g} s."}
    except Exception as exc:  # any failure of a dependency is reported, not raised
        logger.warning("health check failed", extra={"error_type": type(exc).__name__})
        reason = "database_unavailable" if db_faults.is_unavailable(exc) else type(exc).__name__
        return {"status": "error", "error": reason}
    return {"status": "ok", "latency_ms": round(elapsed_ms, 1)}


def check(container: Container) -> tuple[bool, dict[str, Any]]:
    """Probe the database and the step queue (concurrently, within ``CHECK_SECONDS``); ``(healthy, report)``."""

    def database() -> None:
        with container.database().connect() as conn:
            conn.execute(text("SELECT 1"))

    deadline = time.monotonic() + CHECK_SECONDS
    futures = {name: _POOL.submit(_timed, probe) for name, probe in (("database", database),
                                                                    ("queue", lambda: container.step_queue().ping()))}
    checks = {name: _result(future, deadline) for name, future in futures.items()}
    failing = sorted(name for name, result in checks.items() if result["status"] != "ok")
    report: dict[str, Any] = {
        "status": "ok" if not failing else "degraded",
        "version": VERSION,
        "checks": checks,
    }
    if failing:
        report["failing"] = failing
    return not failing, report
