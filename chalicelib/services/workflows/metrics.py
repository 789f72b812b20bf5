"""Engine metrics: emitted per step (Powertools EMF) and answered from recorded attempts.

Each finished attempt emits ``StepLatency`` (ms) and ``StepAttempts`` (count)
under the dimensions ``StepType``, ``Template`` and ``Outcome`` (the attempts
committed together with the same dimensions share one EMF document, one value
each); each finished run ``RunDuration``. ``summary`` answers
``GET /api/metrics`` from the database: p50/p95 step latency and error rate
per template (``percentile_cont``), run counts and durations, queue depth.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from sqlalchemy import text

from chalicelib.container import current
from chalicelib.db.uow import tenant_uow
from chalicelib.observability import NAMESPACE, SERVICE, logger


def template_label(node_type: str, template: str | None) -> str:
    """Action nodes by their template; built-in steps by their type."""
    return template or node_type


def step_finished(node_type: str, template: str | None, outcome: str, duration_ms: float) -> None:
    steps_finished([(node_type, template, outcome, duration_ms)])


def steps_finished(attempts: Iterable[tuple[str, str | None, str, float]]) -> None:
    """Attempts ``(node_type, template, outcome, duration_ms)`` committed together: one document per dimensions."""
    grouped: dict[tuple[str, str, str], list[float]] = {}
    for node_type, template, outcome, duration_ms in attempts:
        grouped.setdefault((node_type, template_label(node_type, template), outcome), []).append(duration_ms)
    for (node_type, label, outcome), durations in grouped.items():
        _emit({"StepType": node_type, "Template": label, "Outcome": outcome},
              [("StepLatency", MetricUnit.Milliseconds, d) for d in durations]
              + [("StepAttempts", MetricUnit.Count, 1)] * len(durations))


def run_finished(status: str, duration_ms: float) -> None:
    _emit({"Outcome": status}, [("RunDuration", MetricUnit.Milliseconds, duration_ms)])


def queue_depth() -> int | None:
    """The step queue's depth (visible, in flight, delayed), emitted as ``QueueDepth``; ``None`` if unknown."""
    try:
        depth = current().step_queue().depth()
    except Exception:
        logger.warning("queue depth unavailable")
        return None
    _emit({}, [("QueueDepth", MetricUnit.Count, depth)])
    return depth


def _emit(dimensions: dict[str, str], values: list[tuple[str, Any, float]]) -> None:
    # One provider per document: dimensions differ per step, and instances share no state across threads.
    try:
        provider = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service=SERVICE)
        for name, dimension in dimensions.items():
            provider.add_dimension(name=name, value=dimension)
        for name, unit, value in values:
            provider.add_metric(name=name, unit=unit, value=value)
        provider.flush_metrics()
    except Exception:  # metrics never break a step
        logger.exception("metrics emission failed")


_STEP_SUMMARY = text(
    """
    SELECT coalesce(s.template, s.node_type) AS template, s.node_type,
           count(*) AS attempts,
           count(*) FILTER (WHERE s.status = 'failed') AS failed,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY s.duration_ms) AS p50_ms,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY s.duration_ms) AS p95_ms
    FROM step_runs s JOIN runs r ON r.id = s.run_id
    WHERE s.status IN ('success', 'failed') AND s.duration_ms IS NOT NULL AND s.finished_at >= :since
      AND r.created_at >= CAST(:since AS timestamptz) - interval '35 days'  -- no run lasts longer
      AND (CAST(:all AS boolean) OR r.workspace_id = ANY(CAST(:wss AS uuid[])))
    GROUP BY 1, 2 ORDER BY 1, 2
    """
)
_RUN_SUMMARY = text(
    """
    SELECT status, count(*) AS runs,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM finished_at - started_at) * 1000)
               AS p50_ms,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM finished_at - started_at) * 1000)
               AS p95_ms
    FROM runs WHERE created_at >= :since AND (CAST(:all AS boolean) OR workspace_id = ANY(CAST(:wss AS uuid[])))
    GROUP BY status ORDER BY status
    """
)


# Runs per time bucket and status: a finished run counts at its finish, a running one at its start.
_RUN_TIMELINE = text(
    """
    SELECT to_timestamp(floor(EXTRACT(EPOCH FROM coalesce(finished_at, started_at)) / :bucket) * :bucket) AS at,
           status, count(*) AS runs
    FROM runs WHERE created_at >= :since AND (CAST(:all AS boolean) OR workspace_id = ANY(CAST(:wss AS uuid[])))
    GROUP BY 1, 2 ORDER BY 1, 2
    """
)
BUCKETS = (60, 300, 900, 3600, 21600, 86400)
MAX_BUCKETS = 1440


def bucket_for(since: dt.datetime, now: dt.datetime, requested: int | None = None) -> int:
    """The time-series step: ``requested`` (or a minute) widened until the span holds at most 1,440 whole
    buckets (and the partial one at either end): a day by the minute."""
    span = max(0.0, (now - since).total_seconds())
    for size in BUCKETS:
        if size >= (requested or 60) and span <= size * (MAX_BUCKETS + 1):
            return size
    return BUCKETS[-1] * max(1, int(span // (BUCKETS[-1] * MAX_BUCKETS)) + 1)


def summary(tenant_id: str, *, since: dt.datetime, workspace_ids: list[str] | None = None,
            bucket_seconds: int | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Figures since ``since`` over ``workspace_ids`` (``None``: every workspace of the tenant)."""
    bucket = bucket_for(since, now or dt.datetime.now(dt.UTC), bucket_seconds)
    params = {"since": since, "all": workspace_ids is None, "wss": list(workspace_ids or []), "bucket": bucket}
    with tenant_uow(tenant_id) as uow:
        steps = uow.execute(_STEP_SUMMARY, params).mappings().all()
        run_rows = uow.execute(_RUN_SUMMARY, params).mappings().all()
        timeline = uow.execute(_RUN_TIMELINE, params).mappings().all()
    try:
        depth: int | None = current().step_queue().depth()
    except Exception:
        depth = None
    return {
        "since": since,
        "workspace_ids": workspace_ids,
        "steps": [
            {"template": r["template"], "step_type": r["node_type"], "attempts": int(r["attempts"]),
             "failed": int(r["failed"]), "error_rate": round(int(r["failed"]) / int(r["attempts"]), 4),
             "p50_ms": _ms(r["p50_ms"]), "p95_ms": _ms(r["p95_ms"])}
            for r in steps
        ],
        "runs": [
            {"status": r["status"], "count": int(r["runs"]), "duration_p50_ms": _ms(r["p50_ms"]),
             "duration_p95_ms": _ms(r["p95_ms"])}
            for r in run_rows
        ],
        "bucket_seconds": bucket,
        "runs_over_time": [{"at": r["at"], "status": r["status"], "count": int(r["runs"])} for r in timeline],
        "queue_depth": depth,
    }


def _ms(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)
