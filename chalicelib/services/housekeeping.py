"""The scheduled tick: housekeeping that runs every minute.

Later parts hook their periodic work in with :func:`register` (the engine's
sweeper, the cron trigger scan, retention clean-up). Each job runs in turn; one
failing job is logged and does not stop the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib.observability import logger
from chalicelib.services import heartbeats

_JOBS: dict[str, Callable[[], None]] = {}


def register(name: str, job: Callable[[], None]) -> None:
    _JOBS[name] = job


def tick() -> dict[str, str]:
    """Run every registered job once; return each job's outcome."""
    outcomes: dict[str, str] = {}
    for name, job in list(_JOBS.items()):
        started = time.perf_counter()
        try:
            job()
            outcomes[name] = "ok"
        except Exception:
            logger.exception("housekeeping job failed", extra={"job": name})
            outcomes[name] = "error"
        logger.debug("housekeeping job", extra={"job": name,
                                                "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
    heartbeats.record("tick", {"jobs": outcomes})
    return outcomes
