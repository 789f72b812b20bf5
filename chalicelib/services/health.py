"""Dependency checks for ``GET /health``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from chalicelib.bootstrap import Container
from chalicelib.observability import logger
from chalicelib.version import VERSION


def _timed(check: Callable[[], Any]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure of a dependency is reported, not raised
        logger.warning("health check failed", extra={"error_type": type(exc).__name__})
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def check(container: Container) -> tuple[bool, dict[str, Any]]:
    """Probe the database and the step queue; ``(healthy, report)``."""

    def database() -> None:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    checks = {"database": _timed(database), "queue": _timed(container.step_queue.ping)}
    failing = sorted(name for name, result in checks.items() if result["status"] != "ok")
    report: dict[str, Any] = {
        "status": "ok" if not failing else "degraded",
        "version": VERSION,
        "checks": checks,
    }
    if failing:
        report["failing"] = failing
    return not failing, report
