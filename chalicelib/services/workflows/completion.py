"""Recording a step's outcome and what follows from it, inside one locked ``RunTxn``.

This is the planner's algorithm (``chalicelib.engine.planner``) applied to
rows: each delivery is an arrival row inserted with ``ON CONFLICT DO
NOTHING`` (a duplicate is never decided again); a recorded arrival is decided
with all arrivals at its node instance, in recorded order; ``run`` queues the
node, ``skip`` records it skipped and propagates, ``drop`` marks a late
merge_race arrival dropped, ``wait`` does nothing yet.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from chalicelib.engine.planner import (
    Arrival,
    Delivery,
    FanIn,
    Plan,
    decide,
    plan_after_skip,
    plan_after_success,
)
from chalicelib.engine.retry import RetryPolicy, is_retryable
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.services.workflows.dispatch import Doorbell
from chalicelib.services.workflows.rungraph import RunContext
from chalicelib.services.workflows.txn import RunMissing, RunTxn
from chalicelib.tables.workflows import fan_ins, join_arrivals, quarantined_steps, step_runs

# The run row is locked first (as in every transaction on a run), then the attempt is recorded only if
# this worker's claim still holds: a step reclaimed after its lease expired has another token by now.
_LOCK_AND_RECORD = text(
    """
    WITH run AS (
        SELECT status, event_seq, now() AS now FROM runs WHERE id = CAST(:run AS uuid) FOR UPDATE
    ), recorded AS (
        UPDATE step_runs SET status = :status, output = CAST(:output AS jsonb), error = CAST(:error AS jsonb),
               finished_at = now(), lease_expires_at = NULL, claim_token = NULL, duration_ms = :duration_ms
        WHERE id = CAST(:id AS uuid) AND status = 'running' AND claim_token = CAST(:token AS uuid)
          AND EXISTS (SELECT 1 FROM run)
        RETURNING 1)
    SELECT run.status, run.event_seq, run.now, (SELECT count(*) FROM recorded) FROM run
    """
)
_INSERT_ARRIVAL = text(
    """
    INSERT INTO join_arrivals (tenant_id, run_id, to_node, to_key, from_node, from_key, kind, payload)
    VALUES (CAST(:tenant AS uuid), CAST(:run AS uuid), :to_node, :to_key, :from_node, :from_key, :kind,
            CAST(:payload AS jsonb))
    ON CONFLICT ON CONSTRAINT uq_join_arrivals_delivery DO NOTHING
    RETURNING seq
    """
)


@dataclass(frozen=True)
class Outcome:
    """A finished attempt, as the runner hands it over."""

    step_id: str
    node_id: str
    instance_key: str
    attempt: int
    claim_token: str
    input: Any
    duration_ms: float
    output: dict[str, Any] | None = None
    error: BaseException | None = None
    error_body: dict[str, Any] | None = None
    chosen_ports: frozenset[str] | None = None
    successor_delay: float | None = None
    fan_out_items: tuple[Any, ...] | None = None
    run_output: dict[str, Any] | None = None
    logs: tuple[dict[str, Any], ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.error is None


def begin(uow: UnitOfWork, run: RunContext, outcome: Outcome, *, claim_next: bool = False) -> RunTxn | None:
    """Lock the run and record the attempt; ``None`` when the claim was lost (a stale result)."""
    row = uow.execute(_LOCK_AND_RECORD, {
        "status": "success" if outcome.succeeded else "failed",
        "output": json.dumps(outcome.output, default=str) if outcome.output is not None else None,
        "error": json.dumps(outcome.error_body, default=str) if outcome.error_body is not None else None,
        "duration_ms": outcome.duration_ms, "id": outcome.step_id, "token": outcome.claim_token,
        "run": run.run_id,
    }).first()
    if row is None:
        raise RunMissing(run.run_id)
    if not row[3]:
        return None
    return RunTxn(uow=uow, run=run, status=row[0], seq=int(row[1]), now=row[2], claim_next=claim_next)


def segment(uow: UnitOfWork, run: RunContext, *, status: str, seq: int, now: Any) -> RunTxn:
    """A deferred ``RunTxn`` for a pure segment, in the transaction that claimed its first step (and locked the
    run: ``status``, ``seq`` and ``now`` are what that claim read)."""
    return RunTxn(uow=uow, run=run, status=status, seq=seq, now=now, deferred=True)


def record_in(txn: RunTxn, outcome: Outcome, *, claim_next: bool = False) -> None:
    """Record the attempt in a segment's deferred ``txn`` (which holds its claim); the counterpart of
    :func:`begin` for a step executed inside the transaction that claimed it."""
    txn.claim_next, txn.inline = claim_next, None
    txn.record_attempt(outcome.step_id, outcome.claim_token, node_id=outcome.node_id,
                       instance_key=outcome.instance_key, attempt=outcome.attempt,
                       status="success" if outcome.succeeded else "failed", output=outcome.output,
                       error=outcome.error_body, duration_ms=outcome.duration_ms)


def record(txn: RunTxn, outcome: Outcome, retry: RetryPolicy, *, rng: Any = None) -> None:
    """Everything that follows a recorded attempt: logs, events, successors or the retry."""
    txn.add_logs(outcome.step_id, outcome.node_id, outcome.logs)
    if outcome.succeeded:
        txn.event("step.succeeded", step_id=outcome.step_id, node_id=outcome.node_id, attempt=outcome.attempt,
                  duration_ms=round(outcome.duration_ms, 2))
        if outcome.run_output is not None:
            txn.set_run(output=outcome.run_output)
        if txn.active:
            plan = plan_after_success(txn.run.graph, outcome.node_id, outcome.instance_key, outcome.output or {},
                                      chosen_ports=outcome.chosen_ports, fan_out_items=outcome.fan_out_items)
            apply_plan(txn, plan, delay=outcome.successor_delay)
    else:
        _after_failure(txn, outcome, retry, rng)


def _after_failure(txn: RunTxn, outcome: Outcome, retry: RetryPolicy, rng: Any) -> None:
    error = outcome.error
    assert error is not None
    body = outcome.error_body or {}
    txn.event("step.failed", step_id=outcome.step_id, node_id=outcome.node_id, attempt=outcome.attempt,
              code=body.get("code"), retryable=body.get("retryable"))
    if getattr(error, "ends_run", False):
        expire(txn, body)
        return
    if not txn.active:
        return
    if retry.should_retry(error, outcome.attempt):
        delay = retry.delay_for(error, outcome.attempt, rng)
        txn.event("step.retrying", step_id=outcome.step_id, node_id=outcome.node_id,
                  next_attempt=outcome.attempt + 1, delay_seconds=round(delay, 3))
        txn.queue_step(outcome.node_id, outcome.instance_key, outcome.attempt + 1, outcome.input, delay)
    elif is_retryable(error):
        quarantine(txn, outcome.step_id, outcome.node_id, outcome.instance_key, outcome.attempt, body)


def quarantine(txn: RunTxn, step_id: str, node_id: str, instance_key: str, attempt: int,
               error: dict[str, Any]) -> None:
    """An attempt that exhausted its retries: kept for inspection and redrive."""
    txn.uow.execute(pg_insert(quarantined_steps).values(
        id=str(uuid.uuid4()), tenant_id=txn.run.tenant_id, workspace_id=txn.run.workspace_id,
        run_id=txn.run.run_id, step_id=step_id, node_id=node_id, instance_key=instance_key, attempt=attempt,
        error=error,
    ))
    txn.event("step.quarantined", step_id=step_id, node_id=node_id, attempt=attempt)


def apply_plan(txn: RunTxn, plan: Plan, *, delay: float | None = None) -> None:
    """Store a for_each's fan-in, queue a join that runs at once, and deliver (skips propagate)."""
    if plan.fan_in is not None:
        fan_in = plan.fan_in
        txn.uow.execute(pg_insert(fan_ins).values(
            tenant_id=txn.run.tenant_id, run_id=txn.run.run_id, join_node=fan_in.join_node,
            join_key=fan_in.join_key, for_each=fan_in.for_each, expected_instances=fan_in.expected_instances,
        ).on_conflict_do_nothing())
        if plan.run_join_now is not None:
            txn.queue_step(fan_in.join_node, fan_in.join_key, 1, plan.run_join_now, delay)
    deliver(txn, plan.deliveries, delay=delay)


def deliver(txn: RunTxn, deliveries: tuple[Delivery, ...], *, delay: float | None = None) -> None:
    graph = txn.run.graph
    pending = deque(deliveries)
    while pending:
        d = pending.popleft()
        closes = graph.closes(d.to_node) is not None
        fan_in: FanIn | None = None
        if not closes and len(graph.predecessors(d.to_node)) == 1:
            # One way in: the target's own step row (unique per instance) makes the decision exactly once.
            arrivals = [d.arrival()]
            recorded_seq = None
        else:
            recorded = txn.uow.execute(_INSERT_ARRIVAL, {
                "tenant": txn.run.tenant_id, "run": txn.run.run_id, "to_node": d.to_node, "to_key": d.to_key,
                "from_node": d.from_node, "from_key": d.from_key, "kind": d.kind,
                "payload": json.dumps(d.payload, default=str) if d.payload is not None else None,
            }).first()
            if recorded is None:
                continue  # a duplicate delivery: decided when it first arrived
            recorded_seq = recorded[0]
            fan_in = _fan_in(txn, d) if closes else None
            if fan_in is not None and not _fan_in_complete(txn, graph, fan_in):
                continue  # an item instance arrived; the join waits for the rest
            arrivals = _arrivals(txn, d.to_node, d.to_key)
        decision = decide(graph, d.to_node, arrivals, fan_in)
        if decision.action == "run":
            txn.queue_step(d.to_node, d.to_key, 1, decision.payload, delay)
        elif decision.action == "skip":
            txn.skip_step(d.to_node, d.to_key)
            pending.extend(plan_after_skip(graph, d.to_node, d.to_key).deliveries)
        elif decision.action == "drop":
            txn.uow.execute(update(join_arrivals).where(join_arrivals.c.seq == recorded_seq).values(dropped=True))
            txn.event("arrival.dropped", node_id=d.to_node, from_node=d.from_node,
                      instance_key=d.to_key or None)


def _fan_in_complete(txn: RunTxn, graph: Any, fan_in: FanIn) -> bool:
    """Whether every item instance arrived on every incoming edge (counted, not loaded: N items stay O(N))."""
    count = txn.uow.execute(
        select(func.count()).select_from(join_arrivals)
        .where(join_arrivals.c.run_id == txn.run.run_id, join_arrivals.c.to_node == fan_in.join_node,
               join_arrivals.c.to_key == fan_in.join_key)
    ).scalar()
    return int(count) >= fan_in.expected_instances * len(graph.predecessors(fan_in.join_node))


def _arrivals(txn: RunTxn, to_node: str, to_key: str) -> list[Arrival]:
    rows = txn.uow.execute(
        select(join_arrivals.c.from_node, join_arrivals.c.kind, join_arrivals.c.payload, join_arrivals.c.from_key)
        .where(join_arrivals.c.run_id == txn.run.run_id, join_arrivals.c.to_node == to_node,
               join_arrivals.c.to_key == to_key)
        .order_by(join_arrivals.c.seq)
    ).all()
    return [Arrival(from_node=r[0], kind=r[1], payload=r[2], from_key=r[3]) for r in rows]


def _fan_in(txn: RunTxn, d: Delivery) -> FanIn | None:
    row = txn.uow.execute(
        select(fan_ins.c.for_each, fan_ins.c.expected_instances)
        .where(fan_ins.c.run_id == txn.run.run_id, fan_ins.c.join_node == d.to_node, fan_ins.c.join_key == d.to_key)
    ).first()
    return FanIn(row[0], d.to_node, d.to_key, int(row[1])) if row else None


# -- run-level transitions (cancel, deadline) -------------------------------------------------


def expire(txn: RunTxn, error: dict[str, Any] | None = None) -> bool:
    """The run's deadline passed: it fails, and nothing queued starts."""
    if not txn.active:
        return False
    txn.cancel_queued()
    txn.finish("failed", error={"code": "run_deadline_exceeded",
                                "message": "The run did not finish before its deadline.",
                                **({"node_id": error.get("node_id")} if error and error.get("node_id") else {})})
    return True


def cancel(txn: RunTxn) -> bool:
    """Cancel: queued steps are canceled; a running step may finish but enqueues nothing."""
    if not txn.active:
        return False
    txn.cancel_queued()
    txn.finish("canceled")
    return True


def requeue_expired_lease(txn: RunTxn, step_id: str, *, claim_token: str | None = None) -> bool:
    """A claimed step whose worker vanished: the same attempt is queued again (same idempotency key).

    Without ``claim_token`` the lease must have expired; with it (the claim of a worker known dead)
    the claim must still be that one, whatever its lease.
    """
    held = (step_runs.c.claim_token == claim_token if claim_token is not None
            else step_runs.c.lease_expires_at < txn.now)
    row = txn.uow.execute(
        update(step_runs)
        .where(step_runs.c.id == step_id, step_runs.c.status == "running", held)
        .values(status="queued", claim_token=None, claimed_by=None, lease_expires_at=None, dispatched_at=txn.now,
                reclaims=step_runs.c.reclaims + 1)
        .returning(step_runs.c.node_id, step_runs.c.attempt, step_runs.c.reclaims)
    ).first()
    if row is None:
        return False
    if not txn.active:
        # The run ended meanwhile: the step will not start again.
        txn.uow.execute(update(step_runs).where(step_runs.c.id == step_id).values(status="canceled",
                                                                                  finished_at=txn.now))
        txn.event("step.canceled", step_id=step_id, node_id=row[0])
        return True
    txn.doorbells.append(Doorbell(txn.run.tenant_id, txn.run.run_id, step_id))
    txn.event("step.requeued", step_id=step_id, node_id=row[0], attempt=row[1], reclaims=row[2],
              reason="worker_lost" if claim_token is not None else "lease_expired")
    return True
