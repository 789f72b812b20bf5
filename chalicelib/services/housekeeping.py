"""The scheduled tick: housekeeping that runs every minute.

The jobs are the container's ``tick_jobs`` (listed in ``chalicelib/bootstrap.py``:
the engine's sweeper, expired idempotency keys, the triggers' cron scan and
retention). Each job runs in turn; one failing job is logged and does not stop
the others.
"""

from __future__ import annotations

import time

from chalicelib.container import current
from chalicelib.observability import logger
from chalicelib.services import heartbeats


def tick() -> dict[str, str]:
    """Run every job of the container once; return each job's outcome."""
    outcomes: dict[str, str] = {}
    for name, job in current().tick_jobs.items():
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
