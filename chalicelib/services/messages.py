"""Dispatch of step-queue messages by kind.

A message is a small JSON object: ``{"kind": "...", ...ids}``. Each kind has
one handler, registered by the module that owns it (the engine registers
``step``). A handler failure that is a *recorded outcome* (a step failed) is
not an exception; handlers raise only for infrastructure faults, and only those
messages are reported back for redelivery.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.observability import logger
from chalicelib.services import heartbeats

MessageHandler = Callable[[dict[str, Any]], None]
_HANDLERS: dict[str, MessageHandler] = {}


def register(kind: str, handler: MessageHandler) -> None:
    _HANDLERS[kind] = handler


def _probe(message: dict[str, Any]) -> None:
    """A round trip through the real queue, used by diagnostics and tests."""
    heartbeats.record(f"probe:{message.get('probe_id', 'default')}", {"via": "step_queue"})


register("probe", _probe)


def handle_batch(records: list[tuple[str, str]]) -> list[str]:
    """Handle ``(message_id, body)`` records; return the ids that must be redelivered."""
    failed: list[str] = []
    for message_id, body in records:
        try:
            message = json.loads(body)
            kind = message.get("kind") if isinstance(message, dict) else None
        except ValueError:
            message, kind = None, None
        handler = _HANDLERS.get(kind) if kind else None
        if handler is None:
            # A message nobody can handle would never succeed: drop it loudly.
            logger.error("dropping unknown step-queue message", extra={"message_id": message_id})
            continue
        try:
            handler(message)  # type: ignore[arg-type]
        except Exception:
            logger.exception("message handling failed; it will be redelivered",
                             extra={"message_id": message_id, "kind": kind})
            failed.append(message_id)
    return failed
