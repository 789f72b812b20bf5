"""One locked transaction on a run: the only place that writes step rows, events and the run's state.

``RunTxn.begin`` locks the run row (``SELECT … FOR UPDATE``), so every
decision about the run — arrivals counted, successors queued, the outcome —
is taken by exactly one transaction at a time. Events get the run's next
``seq`` numbers here, under that lock, so their order is commit order and an
SSE reader that asks for ``seq > n`` never misses one.

New step rows and events are collected and written by :meth:`RunTxn.settle`
in one statement, which also counts the run's active steps; when none are
left the run's outcome is decided in the same transaction. Doorbells for the
rows it queued are sent by the caller after commit (queued rows are the outbox),
or, with a transactional queue, inserted by :meth:`RunTxn.write` in the
transaction itself.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, text, update

from chalicelib.adapters.queue import MAX_DELAY_SECONDS
from chalicelib.engine.planner import run_outcome
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.services.workflows import dispatch, workers
from chalicelib.services.workflows.dispatch import Doorbell
from chalicelib.services.workflows.rungraph import RunContext
from chalicelib.tables.workflows import step_logs, step_runs

_LOCK_RUN = text("SELECT status, event_seq, now() AS now FROM runs WHERE id = CAST(:id AS uuid) FOR UPDATE")
_LATEST = text(
    """
    SELECT DISTINCT ON (node_id, instance_key) id::text AS id, node_id, instance_key, status, error, finished_at
    FROM step_runs WHERE run_id = CAST(:id AS uuid)
    ORDER BY node_id, instance_key, attempt DESC
    """
)
# Hot-path statements are fixed text (rows travel as one JSON parameter), so neither SQLAlchemy nor
# the driver rebuilds them per step, and a step's whole outcome is one round trip.
_WRITE = text(
    """
    WITH new_steps AS (
        INSERT INTO step_runs (id, tenant_id, run_id, node_id, instance_key, attempt, node_type, template, status,
                               input, not_before, dispatched_at, lease_seconds, claim_token, claimed_by,
                               started_at, lease_expires_at, finished_at)
        SELECT s.id, CAST(:tenant AS uuid), CAST(:run AS uuid), s.node_id, s.instance_key, s.attempt, s.node_type,
               s.template, s.status, s.input, s.not_before, s.dispatched_at, s.lease_seconds, s.claim_token,
               s.claimed_by, s.started_at, s.lease_expires_at, s.finished_at
        FROM jsonb_to_recordset(CAST(:steps AS jsonb)) AS s(
            id uuid, node_id text, instance_key text, attempt int, node_type text, template text, status text,
            input jsonb, not_before timestamptz, dispatched_at timestamptz, lease_seconds float8, claim_token uuid,
            claimed_by uuid, started_at timestamptz, lease_expires_at timestamptz, finished_at timestamptz)
        ON CONFLICT ON CONSTRAINT uq_step_runs_attempt DO NOTHING
        RETURNING status
    ), new_events AS (
        INSERT INTO run_events (tenant_id, run_id, seq, type, step_id, node_id, data)
        SELECT CAST(:tenant AS uuid), CAST(:run AS uuid), e.seq, e.type, e.step_id, e.node_id,
               COALESCE(e.data, '{}'::jsonb)
        FROM jsonb_to_recordset(CAST(:events AS jsonb))
             AS e(seq bigint, type text, step_id uuid, node_id text, data jsonb)
    ), run_row AS (
        UPDATE runs SET event_seq = :seq,
            status = CASE WHEN :set_status THEN CAST(:status AS varchar) ELSE status END,
            finished_at = CASE WHEN :set_finished THEN CAST(:finished_at AS timestamptz) ELSE finished_at END,
            output = CASE WHEN :set_output THEN CAST(:output AS jsonb) ELSE output END,
            error = CASE WHEN :set_error THEN CAST(:error AS jsonb) ELSE error END
        WHERE id = CAST(:run AS uuid)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM new_steps),
           (SELECT count(*) FROM new_steps WHERE status IN ('queued', 'running')),
           (SELECT count(*) FROM step_runs WHERE run_id = CAST(:run AS uuid) AND status IN ('queued', 'running'))
    """
)


class RunMissing(LookupError):
    """The run row is gone (its workflow or tenant was deleted)."""


class StepRowConflict(RuntimeError):
    """A step row this transaction decided already existed: decisions are exactly once, so roll back."""


@dataclass(frozen=True)
class InlineClaim:
    """A successor this transaction claimed for the current worker (no doorbell: it runs next, here)."""

    step_id: str
    node_id: str
    instance_key: str
    attempt: int
    input: Any
    claim_token: str
    started_at: dt.datetime


@dataclass
class RunTxn:
    """The accumulator of one locked transaction on a run."""

    uow: UnitOfWork
    run: RunContext
    status: str
    seq: int
    now: dt.datetime
    doorbells: list[Doorbell] = field(default_factory=list)
    # Claim the first successor due now for this worker (a completion with inline budget left).
    claim_next: bool = False
    inline: InlineClaim | None = None
    finished: str | None = None  # the run's terminal status, when this transaction ended it
    _steps: list[dict[str, Any]] = field(default_factory=list)
    _events: list[dict[str, Any]] = field(default_factory=list)
    _run_changes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def begin(cls, uow: UnitOfWork, run: RunContext) -> RunTxn:
        row = uow.execute(_LOCK_RUN, {"id": run.run_id}).first()
        if row is None:
            raise RunMissing(run.run_id)
        return cls(uow=uow, run=run, status=row[0], seq=int(row[1]), now=row[2])

    @property
    def active(self) -> bool:
        return self.status == "running"

    # -- events ------------------------------------------------------------------------------

    def event(self, type_: str, *, step_id: str | None = None, node_id: str | None = None, **data: Any) -> None:
        self.seq += 1
        self._events.append({"seq": self.seq, "type": type_, "step_id": step_id, "node_id": node_id,
                             "data": {k: v for k, v in data.items() if v is not None}})

    # -- step rows ---------------------------------------------------------------------------

    def queue_step(self, node_id: str, instance_key: str, attempt: int, payload: Any,
                   delay: float | None = None) -> str:
        """Decide a ``queued`` attempt (written at :meth:`settle`) and plan its doorbell.

        With ``claim_next`` set, the first attempt due now is written already
        claimed (``running``, with a lease) for the current worker instead.
        """
        step_id = str(uuid.uuid4())
        delay = max(0.0, float(delay or 0.0))
        not_before = self.now + dt.timedelta(seconds=delay) if delay > 0 else None
        claim = self.claim_next and self.inline is None and delay == 0 and self.active
        # Waits beyond the queue's maximum delay get no doorbell now: the sweeper sends it when due.
        ring_now = delay <= MAX_DELAY_SECONDS and not claim
        lease = self.run.lease_seconds(node_id)
        token = str(uuid.uuid4()) if claim else None
        self._add_step(step_id, node_id, instance_key, attempt, "running" if claim else "queued", payload,
                       not_before=not_before, dispatched_at=self.now if ring_now else None, lease=lease,
                       token=token, started_at=self.now if claim else None,
                       lease_expires_at=self.now + dt.timedelta(seconds=lease) if claim else None)
        self.event("step.queued", step_id=step_id, node_id=node_id, attempt=attempt,
                   instance_key=instance_key or None,
                   not_before=not_before.isoformat() if not_before else None)
        if token is not None:
            self.inline = InlineClaim(step_id, node_id, instance_key, attempt, payload, token, self.now)
            self.event("step.started", step_id=step_id, node_id=node_id, attempt=attempt)
        elif ring_now:
            self.doorbells.append(Doorbell(self.run.tenant_id, self.run.run_id, step_id, delay))
        return step_id

    def skip_step(self, node_id: str, instance_key: str) -> str:
        """Record a node instance as ``skipped`` (a branch not taken)."""
        step_id = str(uuid.uuid4())
        self._add_step(step_id, node_id, instance_key, 1, "skipped", None, lease=self.run.lease_seconds(node_id),
                       finished_at=self.now)
        self.event("step.skipped", step_id=step_id, node_id=node_id, instance_key=instance_key or None)
        return step_id

    def _add_step(self, step_id: str, node_id: str, instance_key: str, attempt: int, status: str, payload: Any,
                  *, lease: float, **times: Any) -> None:
        node = self.run.graph.node(node_id)
        row = {"id": step_id, "node_id": node_id, "instance_key": instance_key, "attempt": attempt,
               "node_type": node.type, "template": node.template, "status": status, "input": payload,
               "lease_seconds": lease, "claim_token": times.get("token"),
               "claimed_by": workers.worker_id() if times.pop("token", None) else None}
        row.update({k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in times.items()})
        self._steps.append(row)

    def cancel_queued(self) -> int:
        """Mark every queued step of the run canceled (no further steps start)."""
        rows = self.uow.execute(
            update(step_runs).where(step_runs.c.run_id == self.run.run_id, step_runs.c.status == "queued")
            .values(status="canceled", finished_at=self.now).returning(step_runs.c.id, step_runs.c.node_id)
        ).all()
        for step_id, node_id in rows:
            self.event("step.canceled", step_id=str(step_id), node_id=node_id)
        return len(rows)

    def add_logs(self, step_id: str, node_id: str, logs: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> None:
        if not logs:
            return
        self.uow.execute(insert(step_logs).values([
            {"tenant_id": self.run.tenant_id, "run_id": self.run.run_id, "step_id": step_id, "node_id": node_id,
             "level": line.get("level", "info"), "message": str(line.get("message", ""))[:2000],
             "fields": line.get("fields") or {}, "at": line.get("at") or self.now}
            for line in logs
        ]))

    # -- the run -----------------------------------------------------------------------------

    def set_run(self, **changes: Any) -> None:
        self._run_changes.update(changes)

    def finish(self, status: str, *, error: dict[str, Any] | None = None) -> None:
        self.status = status
        self.finished = status
        self.set_run(status=status, finished_at=self.now, **({"error": error} if error else {}))
        self.event("run.finished", status=status, error=error)

    def settle(self) -> None:
        """Write what was decided; if no step is left queued or running, decide the run's outcome."""
        if self.write() == 0 and self.active:
            latest = self.uow.execute(_LATEST, {"id": self.run.run_id}).mappings().all()
            outcome = run_outcome(r["status"] for r in latest)
            if outcome != "running":
                failed = [r for r in latest if r["status"] == "failed"]
                error = None
                if outcome == "failed" and failed:
                    first = min(failed, key=lambda r: r["finished_at"] or self.now)
                    error = {"code": (first["error"] or {}).get("code", "step_failed"),
                             "message": (first["error"] or {}).get("message", "A step failed."),
                             "node_id": first["node_id"], "step_id": first["id"]}
                self.finish(outcome, error=error)
                self.write()

    def write(self) -> int:
        """New steps, events and run changes in one statement; returns the run's queued/running steps."""
        changes = self._run_changes
        params = {
            "run": self.run.run_id, "tenant": self.run.tenant_id, "seq": self.seq,
            "steps": json.dumps(self._steps, default=str), "events": json.dumps(self._events, default=str),
            "set_status": "status" in changes, "status": changes.get("status"),
            "set_finished": "finished_at" in changes, "finished_at": changes.get("finished_at"),
            "set_output": "output" in changes, "output": _json(changes.get("output")),
            "set_error": "error" in changes, "error": _json(changes.get("error")),
        }
        inserted, inserted_active, active_before = self.uow.execute(_WRITE, params).first()
        if inserted != len(self._steps):
            raise StepRowConflict(f"run {self.run.run_id}: {len(self._steps) - inserted} step row(s) existed")
        self._steps, self._events, self._run_changes = [], [], {}
        # A transactional queue takes the doorbells of the rows just written in this transaction.
        self.doorbells = dispatch.enqueue_in(self.uow, self.doorbells)
        # Rows inserted by the statement are not in its own snapshot: add the active ones (a skipped
        # row is written finished and keeps nothing going).
        return int(active_before) + int(inserted_active)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)
