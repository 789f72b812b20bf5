"""Dispatch of step-queue messages by kind.

A message is a small JSON object: ``{"kind": "...", ...ids}``. Each kind has
one handler, listed in the container's ``message_kinds`` (``chalicelib/bootstrap.py``:
the engine's ``step``, and ``probe``). A handler failure that is a *recorded outcome* (a step failed) is
not an exception; handlers raise only for infrastructure faults, and only those
messages are reported back for redelivery.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.config import get_settings
from chalicelib.container import current
from chalicelib.observability import logger
from chalicelib.services import heartbeats


def probe(message: dict[str, Any]) -> None:
    """A round trip through the real queue, used by diagnostics and tests."""
    heartbeats.record(f"probe:{message.get('probe_id', 'default')}", {"via": "step_queue"})


def _pool_size() -> int:
    """``DB_POOL_SIZE`` as the engine reads it (5), without loading the settings (unit tests have none)."""
    try:
        return max(1, int(os.environ.get("DB_POOL_SIZE", "5")))
    except ValueError:
        return 5


def _pool_capacity() -> int:
    """Connections this process's pool may open (``pool_size`` + ``max_overflow``, see db/database_engine.py)."""
    return 3 * get_settings().db_pool_size


def _concurrency() -> int:
    """``STEP_BATCH_CONCURRENCY`` (10), never more than the process's connection pool can serve."""
    try:
        wanted = max(1, int(os.environ.get("STEP_BATCH_CONCURRENCY", "10")))
    except ValueError:
        wanted = 10
    return min(wanted, _pool_capacity())


def handle_batch(records: list[tuple[str, str]]) -> list[str]:
    """Handle ``(message_id, body)`` records; return the ids that must be redelivered.

    The records of one batch are handled concurrently (up to ``STEP_BATCH_CONCURRENCY``,
    default 10, and at most the connections the pool may open): each names another step,
    often of another run, and steps mostly wait on the network, so doorbells delivered
    together do not queue behind each other.
    """
    threads = min(len(records), _concurrency())
    if threads <= 1:
        outcomes = [_handle_one(record) for record in records]
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="step") as pool:
            outcomes = list(pool.map(_handle_one, records))
    return [message_id for (message_id, _), ok in zip(records, outcomes, strict=True) if not ok]


_SLOTS: threading.BoundedSemaphore | None = None
_SLOTS_LOCK = threading.Lock()


def _process_slots() -> threading.BoundedSemaphore:
    """Handlers running at once in this process, across every batch and poller: one per pooled connection,
    so the pool's overflow stays free for a handler's nested unit of work and no checkout waits out its timeout."""
    global _SLOTS
    with _SLOTS_LOCK:
        if _SLOTS is None:
            _SLOTS = threading.BoundedSemaphore(_pool_size())
        return _SLOTS


def _handle_one(record: tuple[str, str]) -> bool:
    """Handle one record; ``False`` when it must be redelivered."""
    with _process_slots():
        return _handle_unlimited(record)


def _handle_unlimited(record: tuple[str, str]) -> bool:
    message_id, body = record
    try:
        message = json.loads(body)
        kind = message.get("kind") if isinstance(message, dict) else None
    except ValueError:
        message, kind = None, None
    handler = current().message_kinds.get(kind) if kind else None
    if handler is None:
        # A message nobody can handle would never succeed: drop it loudly.
        logger.error("dropping unknown step-queue message", extra={"message_id": message_id})
        return True
    try:
        handler(message)
    except Exception:
        logger.exception("message handling failed; it will be redelivered",
                         extra={"message_id": message_id, "kind": kind})
        return False
    return True
