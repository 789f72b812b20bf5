"""Logging, metrics and tracing, wired once for every handler.

- ``logger``: Powertools Logger, structured JSON with correlation ids
  (request id, tenant, run, step) added through :func:`bind`. With
  ``LOG_FORMAT=console`` (the local stack) the same records print as one
  readable line each.
- ``metrics``: Powertools Metrics (CloudWatch EMF). Handlers call
  :func:`flush_metrics` at the end of an invocation.
- ``tracer``: Powertools Tracer (X-Ray); disabled outside Lambda.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

SERVICE = "stepline"
NAMESPACE = "Stepline"
CORRELATION_KEYS = ("request_id", "tenant_id", "workspace_id", "run_id", "step_id", "node_id")


class ConsoleFormatter(LambdaPowertoolsFormatter):
    """One readable line per record for local development (same fields as JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        structured = self._extract_log_keys(log_record=record)
        ids = " ".join(
            f"{key}={structured[key]}" for key in CORRELATION_KEYS if structured.get(key)
        )
        extras = " ".join(
            f"{k}={v}"
            for k, v in structured.items()
            if k not in CORRELATION_KEYS
            and k not in {"level", "location", "message", "timestamp", "service", "xray_trace_id"}
            and v not in (None, "")
        )
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.getMessage()}"
        text = " ".join(part for part in (line, ids, extras) if part)
        if record.exc_info:  # a fault of ours: the traceback, so the console says where
            text += "\n" + self.formatException(record.exc_info)
        return text


def _make_logger() -> Logger:
    level = os.environ.get("LOG_LEVEL", "INFO")
    if os.environ.get("LOG_FORMAT", "json") == "console":
        return Logger(service=SERVICE, level=level, logger_formatter=ConsoleFormatter())
    return Logger(service=SERVICE, level=level)


logger = _make_logger()
# httpx logs full URLs (query-string API keys included) at INFO, httpcore headers at DEBUG: never let them.
for _noisy in ("httpx", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE, disabled=not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def bind(**ids: Any) -> None:
    """Add correlation ids to every following log record of this invocation."""
    logger.append_keys(**{k: v for k, v in ids.items() if v is not None})


def clear() -> None:
    """Forget the correlation ids of the previous invocation (warm containers)."""
    logger.remove_keys(list(CORRELATION_KEYS))


@contextlib.contextmanager
def invocation(**ids: Any) -> Iterator[None]:
    """Scope correlation ids (and metric flushing) to one invocation."""
    clear()
    bind(**ids)
    try:
        yield
    finally:
        flush_metrics()
        clear()


def flush_metrics() -> None:
    """Emit the collected EMF metrics (no-op when none were added)."""
    if not metrics.metric_set:
        return
    try:
        metrics.flush_metrics(raise_on_empty_metrics=False)
    except Exception:  # pragma: no cover - metrics must never break a handler
        logger.exception("metrics flush failed")
