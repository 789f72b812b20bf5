"""The one place that wires dependencies.

Handlers call :func:`container` and get the same lazily built objects for the
life of a warm container. Tests replace parts with :func:`override`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine

from chalicelib.adapters import aws
from chalicelib.adapters.mail import CapturingMailer, Mailer, SesMailer
from chalicelib.adapters.queue import SqsStepQueue, StepQueue
from chalicelib.config import Settings, get_settings
from chalicelib.db.engine import get_engine


@dataclass(frozen=True)
class Container:
    """Everything a handler needs from the outside world."""

    settings: Settings
    engine: Engine
    step_queue: StepQueue
    mailer: Mailer = field(default_factory=CapturingMailer)
    extras: dict[str, Any] = field(default_factory=dict)


_CONTAINER: Container | None = None
_LOCK = threading.Lock()


def build() -> Container:
    settings = get_settings()
    return Container(
        settings=settings,
        engine=get_engine(),
        step_queue=SqsStepQueue(aws.client("sqs"), settings.step_queue_name),
        mailer=SesMailer(aws.client("ses"), settings.mail_sender) if settings.mail_backend == "ses"
        else CapturingMailer(),
    )


def container() -> Container:
    """The process-wide container, built on first use."""
    global _CONTAINER
    if _CONTAINER is None:
        with _LOCK:
            if _CONTAINER is None:
                _CONTAINER = build()
    return _CONTAINER


def override(**parts: Any) -> Container:
    """Replace parts of the container (tests, benchmarks)."""
    global _CONTAINER
    with _LOCK:
        if _CONTAINER is None and {"settings", "engine", "step_queue"} <= parts.keys():
            _CONTAINER = Container(**parts)
        else:
            _CONTAINER = replace(_CONTAINER or build(), **parts)
        return _CONTAINER


def reset() -> None:
    """Drop the container so the next call rebuilds it from the environment."""
    global _CONTAINER
    with _LOCK:
        _CONTAINER = None
