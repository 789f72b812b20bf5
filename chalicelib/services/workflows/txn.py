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

A *deferred* ``RunTxn`` (a pure segment: several steps executed and completed
in one transaction, see ``runner.process_step``) writes nothing per step: the
outcomes of its steps, their successors, events and the run's end are written
by :meth:`RunTxn.settle` in one statement at the end of the segment. An
attempt claimed inline and completed in the same segment is inserted in its
final state. A step's history (its attempt row, its events and their order)
is the same as when each step is written on its own.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, insert, text, update

from chalicelib.adapters.queue import MAX_DELAY_SECONDS
from chalicelib.container import current
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
_NEW_STEPS = """
    new_steps AS (
        INSERT INTO step_runs (id, tenant_id, run_id, node_id, instance_key, attempt, node_type, template, status,
                               input, output, error, duration_ms, not_before, dispatched_at, lease_seconds,
                               claim_token, claimed_by, started_at, lease_expires_at, finished_at)
        SELECT s.id, CAST(:tenant AS uuid), CAST(:run AS uuid), s.node_id, s.instance_key, s.attempt, s.node_type,
               s.template, s.status, s.input, s.output, s.error, s.duration_ms, s.not_before, s.dispatched_at,
               s.lease_seconds, s.claim_token, s.claimed_by, s.started_at, s.lease_expires_at, s.finished_at
        FROM jsonb_to_recordset(CAST(:steps AS jsonb)) AS s(
            id uuid, node_id text, instance_key text, attempt int, node_type text, template text, status text,
            input jsonb, output jsonb, error jsonb, duration_ms float8, not_before timestamptz,
            dispatched_at timestamptz, lease_seconds float8, claim_token uuid, claimed_by uuid,
            started_at timestamptz, lease_expires_at timestamptz, finished_at timestamptz)
        ON CONFLICT ON CONSTRAINT uq_step_runs_attempt DO NOTHING
        RETURNING status
    )"""
_EVENTS = """
        SELECT CAST(:tenant AS uuid), CAST(:run AS uuid), e.seq, e.type, e.step_id, e.node_id,
               COALESCE(e.data, '{}'::jsonb)
        FROM jsonb_to_recordset(CAST(:events AS jsonb))
             AS e(seq bigint, type text, step_id uuid, node_id text, data jsonb)"""
_WRITE = """
    WITH""" + _NEW_STEPS + """, new_events AS (
        INSERT INTO run_events (tenant_id, run_id, seq, type, step_id, node_id, data)""" + _EVENTS + """
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
           (SELECT count(*) FROM step_runs WHERE run_id = CAST(:run AS uuid) AND status IN ('queued', 'running')),
           0, false{probes}
    """
# A pure segment's writes, all in one statement (RunTxn with ``deferred``): the outcomes of steps already
# in the table (``recorded``: compare-and-set on the claim token, which this transaction holds), the new
# step rows (inline steps already in their final state), the events, the run's changes, and — when the
# segment, seen alone, ended the run — its end, applied only if no other step of the run is in flight,
# failed or canceled (``alone``: then the run's outcome is the segment's; otherwise the caller decides it
# from every step's latest attempt, as without a segment).
_WRITE_SEGMENT = """
    WITH recorded AS (
        UPDATE step_runs s
        SET status = r.status, output = r.output, error = r.error, finished_at = now(), lease_expires_at = NULL,
            claim_token = NULL, duration_ms = r.duration_ms
        FROM jsonb_to_recordset(CAST(:recorded AS jsonb))
             AS r(id uuid, token uuid, status text, output jsonb, error jsonb, duration_ms float8)
        WHERE s.id = r.id AND s.run_id = CAST(:run AS uuid) AND s.status = 'running' AND s.claim_token = r.token
        RETURNING s.id
    ),""" + _NEW_STEPS + """, alone AS (
        SELECT CAST(:finish AS varchar) IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM step_runs o
            WHERE o.run_id = CAST(:run AS uuid) AND o.status IN ('queued', 'running', 'failed', 'canceled')
              AND o.id <> ALL(CAST(:recorded_ids AS uuid[]))) AS ok
    ), new_events AS (
        INSERT INTO run_events (tenant_id, run_id, seq, type, step_id, node_id, data)""" + _EVENTS + """
        UNION ALL
        SELECT CAST(:tenant AS uuid), CAST(:run AS uuid), CAST(:seq AS bigint) + 1, 'run.finished', NULL, NULL,
               CAST(:finish_data AS jsonb)
        FROM alone WHERE alone.ok
    ), run_row AS (
        UPDATE runs SET event_seq = CAST(:seq AS bigint) + CASE WHEN a.ok THEN 1 ELSE 0 END,
            status = CASE WHEN :set_status THEN CAST(:status AS varchar)
                          WHEN a.ok THEN CAST(:finish AS varchar) ELSE runs.status END,
            finished_at = CASE WHEN :set_finished THEN CAST(:finished_at AS timestamptz)
                               WHEN a.ok THEN now() ELSE runs.finished_at END,
            output = CASE WHEN :set_output THEN CAST(:output AS jsonb) ELSE runs.output END,
            error = CASE WHEN :set_error THEN CAST(:error AS jsonb)
                         WHEN a.ok AND CAST(:finish_error AS jsonb) IS NOT NULL THEN CAST(:finish_error AS jsonb)
                         ELSE runs.error END
        FROM alone a
        WHERE runs.id = CAST(:run AS uuid)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM new_steps),
           (SELECT count(*) FROM new_steps WHERE status IN ('queued', 'running')),
           (SELECT count(*) FROM step_runs WHERE run_id = CAST(:run AS uuid) AND status IN ('queued', 'running'))
             - (SELECT count(*) FROM recorded),
           (SELECT count(*) FROM recorded),
           (SELECT ok FROM alone){probes}
    """


@lru_cache(maxsize=16)
def _statement(segment: bool, probes: tuple[str, ...]) -> TextClause:
    """The write statement; ``probes`` (SQL conditions of run-finished listeners) are evaluated when the run ends."""
    if segment:
        ends = "(:finishing OR (SELECT ok FROM alone))"
    else:
        ends = ":finishing"
    columns = "".join(f",\n           CASE WHEN {ends} THEN ({probe}) END" for probe in probes)
    return text((_WRITE_SEGMENT if segment else _WRITE).replace("{probes}", columns))


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
    # A pure segment: writes wait for settle() (one statement for the whole segment).
    deferred: bool = False
    # The run-finished listeners' probes, evaluated by the write that ended the run (probe -> result).
    probed: dict[str, bool] | None = None
    _steps: list[dict[str, Any]] = field(default_factory=list)
    _events: list[dict[str, Any]] = field(default_factory=list)
    _run_changes: dict[str, Any] = field(default_factory=dict)
    # Outcomes of claimed attempts already in the table, written at the next write (deferred only).
    _recorded: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def begin(cls, uow: UnitOfWork, run: RunContext) -> RunTxn:
        row = uow.execute(_LOCK_RUN, {"id": run.run_id}).first()
        if row is None:
            raise RunMissing(run.run_id)
        return cls(uow=uow, run=run, status=row[0], seq=int(row[1]), now=row[2])

    @property
    def active(self) -> bool:
        return self.status == "running"

    # -- attempts ----------------------------------------------------------------------------

    def record_attempt(self, step_id: str, claim_token: str, *, node_id: str, instance_key: str, attempt: int,
                       status: str, output: Any, error: Any, duration_ms: float) -> None:
        """The outcome of an attempt this transaction holds the claim of (deferred: written by the next write).

        An attempt claimed inline by this same transaction and not written yet is written in its final
        state; one already in the table is updated against its claim token.
        """
        for row in self._steps:
            if row["id"] == step_id:
                if row["status"] != "running" or row["claim_token"] != claim_token:
                    raise RuntimeError(f"step {step_id}: recorded without its claim")
                row.update(status=status, output=output, error=error, duration_ms=duration_ms,
                           finished_at=self.now.isoformat(), lease_expires_at=None, claim_token=None)
                return
        self._recorded.append({"id": step_id, "token": claim_token, "status": status, "output": output,
                               "error": error, "duration_ms": duration_ms, "node_id": node_id,
                               "instance_key": instance_key, "attempt": attempt})

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
        if self.deferred:
            self.write()  # the rows decided so far must be in the table to be canceled
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
        if self.write(predict_end=self.deferred) == 0 and self.active:
            latest = self.uow.execute(_LATEST, {"id": self.run.run_id}).mappings().all()
            outcome = run_outcome(r["status"] for r in latest)
            if outcome != "running":
                failed = [r for r in latest if r["status"] == "failed"]
                error = None
                if outcome == "failed" and failed:
                    first = min(failed, key=lambda r: r["finished_at"] or self.now)
                    error = _run_error(first["error"], first["node_id"], first["id"])
                self.finish(outcome, error=error)
                self.write()

    def write(self, *, predict_end: bool = False) -> int:
        """New steps, events, recorded outcomes and run changes in one statement; returns the run's queued and
        running steps.

        ``predict_end`` (a segment's settle): when the rows of this transaction, seen alone, end the run, the
        statement also ends it — only if no other step of the run is in flight, failed or canceled.
        """
        changes = self._run_changes
        finishing = self.finished is not None and "status" in changes
        end = self._predicted_end() if predict_end and self.active and not finishing else None
        segment = bool(self._recorded) or end is not None
        probes = _probes() if finishing or end is not None else ()
        params = {
            "run": self.run.run_id, "tenant": self.run.tenant_id, "seq": self.seq,
            "steps": json.dumps(self._steps, default=str), "events": json.dumps(self._events, default=str),
            "set_status": "status" in changes, "status": changes.get("status"),
            "set_finished": "finished_at" in changes, "finished_at": changes.get("finished_at"),
            "set_output": "output" in changes, "output": _json(changes.get("output")),
            "set_error": "error" in changes, "error": _json(changes.get("error")),
            "finishing": finishing,
        }
        if segment:
            params.update({
                "recorded": json.dumps([{k: r[k] for k in _RECORDED_KEYS} for r in self._recorded], default=str),
                "recorded_ids": [r["id"] for r in self._recorded],
                "finish": end[0] if end else None, "finish_error": _json(end[1]) if end else None,
                "finish_data": _json({"status": end[0], **({"error": end[1]} if end[1] else {})}) if end else None,
            })
        row = self.uow.execute(_statement(segment, probes), params).first()
        inserted, inserted_active, active_before, recorded, ended = row[0], row[1], row[2], row[3], row[4]
        if inserted != len(self._steps):
            raise StepRowConflict(f"run {self.run.run_id}: {len(self._steps) - inserted} step row(s) existed")
        if recorded != len(self._recorded):  # cannot happen: this transaction holds those claims
            raise RuntimeError(f"run {self.run.run_id}: {len(self._recorded) - recorded} claim(s) lost")
        self._steps, self._events, self._run_changes, self._recorded = [], [], {}, []
        if ended and end is not None:
            self.status = self.finished = end[0]
            self.seq += 1  # its run.finished event
        if probes and (finishing or ended):
            self.probed = {probe: bool(value) for probe, value in zip(probes, row[5:], strict=True)}
        # A transactional queue takes the doorbells of the rows just written in this transaction.
        self.doorbells = dispatch.enqueue_in(self.uow, self.doorbells)
        # Rows inserted by the statement are not in its own snapshot: add the active ones (a skipped
        # row is written finished and keeps nothing going).
        return int(active_before) + int(inserted_active)

    def _predicted_end(self) -> tuple[str, dict[str, Any] | None] | None:
        """The run's end if the attempts this transaction writes were the run's only unfinished business:
        ``(status, error)``, or ``None`` when one of them is still queued or running."""
        latest: dict[tuple[str, str], tuple[int, str, Any, str]] = {}
        for r in (*self._recorded, *self._steps):
            key = (r["node_id"], r["instance_key"])
            if key not in latest or latest[key][0] < r["attempt"]:
                latest[key] = (r["attempt"], r["status"], r.get("error"), r["id"])
        outcome = run_outcome(state for _, state, _, _ in latest.values())
        if outcome == "running":
            return None
        failed = sorted((key, error, step_id) for key, (_, state, error, step_id) in latest.items()
                        if state == "failed")
        if outcome == "failed":
            if len(failed) != 1:  # which failed first is the table's to say (finished_at, then node order)
                return None
            (node_id, _), error, step_id = failed[0]
            return outcome, _run_error(error, node_id, step_id)
        return outcome, None


_RECORDED_KEYS = ("id", "token", "status", "output", "error", "duration_ms")


def _run_error(step_error: dict[str, Any] | None, node_id: str, step_id: str) -> dict[str, Any]:
    """A failed run's error: its first failed step's code and message, and where it failed."""
    return {"code": (step_error or {}).get("code", "step_failed"),
            "message": (step_error or {}).get("message", "A step failed."), "node_id": node_id, "step_id": step_id}


def _probes() -> tuple[str, ...]:
    """The SQL conditions of the run-finished listeners that have one (see ``ports.ProbedListener``)."""
    return tuple(probe for listener in current().run_finished_listeners
                 if (probe := getattr(listener, "probe", None)))


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)
