"""The step runner: claim, execute outside any transaction, complete under the run lock, ring.

``handle_step_message`` is what the SQS-triggered function calls for each
``{"kind": "step", "tenant_id", "run_id", "step_id"}`` doorbell:

1. **claim** — one statement: ``queued`` → ``running`` by compare-and-set
   (due rows only), with a lease of the step's timeout plus grace, a fresh
   claim token, and the ``step.started`` event under the run's row lock.
   Zero rows is a duplicate (or early) doorbell: acknowledge and stop.
2. **execute** — no transaction open: resolve credentials (the fourth
   argument, never the payload), render the config over the input seen flat
   (plus ``$env``; ``$secrets`` only in the keys where a credential goes),
   call the handler with the step's deadline.
   A pure step (no side effect) is claimed, executed and completed in one
   transaction with the pure steps that follow it (see ``process_step``).
3. **complete** — one transaction with the run row locked: record the
   outcome only if the claim token still matches (a reclaimed step's late
   result is discarded), queue successors or the retry, decide the run.
4. **ring** — after commit, send the doorbells of the rows just queued.

A step failure is a recorded outcome; only infrastructure faults (the
database unreachable) escape as exceptions, so the message is redelivered.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from chalicelib import container, expressions
from chalicelib.db import faults as db_faults
from chalicelib.db.uow import tenant_uow
from chalicelib.engine.context import StepContext
from chalicelib.engine.errors import NonRetryableStepError, StepTimeout
from chalicelib.engine.node_config import prepare_config, secret_keys
from chalicelib.engine.payloads import as_object
from chalicelib.engine.retry import is_retryable
from chalicelib.errors import SteplineError
from chalicelib.masking import SecretMasker
from chalicelib.observability import logger
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.services.workflows import completion, dispatch, ports, rungraph, workers
from chalicelib.services.workflows import metrics as engine_metrics
from chalicelib.services.workflows.completion import Outcome
from chalicelib.services.workflows.dispatch import Doorbell
from chalicelib.services.workflows.rungraph import RunContext
from chalicelib.services.workflows.settings import engine_settings
from chalicelib.services.workflows.txn import InlineClaim, RunMissing, RunTxn

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# The run row is locked first (as every transaction on a run does), then the step is compare-and-set.
_CLAIM = text(
    """
    WITH run AS (
        SELECT r.id FROM runs r
        WHERE r.id = (SELECT s.run_id FROM step_runs s WHERE s.id = CAST(:id AS uuid))
        FOR UPDATE
    ), claimed AS (
        UPDATE step_runs s
        SET status = 'running', started_at = now(), claim_token = CAST(:token AS uuid),
            claimed_by = CAST(:worker AS uuid), lease_expires_at = now() + make_interval(secs => s.lease_seconds)
        FROM run
        WHERE s.id = CAST(:id AS uuid) AND s.run_id = run.id AND s.status = 'queued'
          AND (s.not_before IS NULL OR s.not_before <= now())
        RETURNING s.id, s.run_id, s.tenant_id, s.node_id, s.instance_key, s.attempt, s.input, s.started_at
    ), bumped AS (
        UPDATE runs r SET event_seq = r.event_seq + 1 FROM claimed c WHERE r.id = c.run_id
        RETURNING r.event_seq AS seq, r.status AS run_status
    ), logged AS (
        INSERT INTO run_events (tenant_id, run_id, seq, type, step_id, node_id, data)
        SELECT c.tenant_id, c.run_id, b.seq, 'step.started', c.id, c.node_id,
               jsonb_build_object('attempt', c.attempt)
        FROM claimed c, bumped b
    )
    SELECT c.run_id::text, c.node_id, c.instance_key, c.attempt, c.input, c.started_at, b.run_status, b.seq
    FROM claimed c, bumped b
    """
)
# A pure segment holds its run's row lock while it executes: it stops growing after this long.
SEGMENT_SECONDS = 1.0
_PEEK = text(
    "SELECT status, EXTRACT(EPOCH FROM (not_before - now())), run_id::text FROM step_runs "
    "WHERE id = CAST(:id AS uuid)"
)


class RunDeadlineExceeded(NonRetryableStepError):
    """The run's deadline passed before this step could start."""

    code, default_message = "run_deadline_exceeded", "The run did not finish before its deadline."
    ends_run = True


@dataclass(frozen=True)
class Claimed:
    step_id: str
    tenant_id: str
    run_id: str
    node_id: str
    instance_key: str
    attempt: int
    input: Any
    started_at: Any
    claim_token: str
    run_status: str
    event_seq: int = 0  # the run's event sequence after this claim's ``step.started`` (a fresh claim)


def handle_step_message(message: dict[str, Any]) -> None:
    """The ``step`` message kind: run the step the doorbell names (if it is still to run)."""
    tenant_id, step_id = message.get("tenant_id"), message.get("step_id")
    if not (isinstance(tenant_id, str) and _UUID.match(tenant_id) and isinstance(step_id, str)
            and _UUID.match(step_id)):
        logger.error("dropping malformed step message", extra={"keys": sorted(message)})
        return
    process_step(tenant_id, step_id)


def process_step(tenant_id: str, step_id: str, *, rng: Any = None, inline_steps: int | None = None) -> str:
    """Claim, execute, complete, ring. Returns ``done``, ``duplicate``, ``not_due`` or ``stale``.

    While ``inline_steps`` (default: the engine setting) and the time budget
    last, the completion claims the next successor that is due now for this
    same worker, so a chain does not pay a queue round trip per step; other
    successors get doorbells and run in parallel elsewhere.

    A *pure segment* — the claimed step and the successors claimed inline
    after it, as long as their types have no side effect (the step catalog's ``is_pure``)
    — is claimed, executed and completed in one transaction: each step is still
    its own attempt with its own events, but the segment costs one commit. A
    crash before that commit leaves the first step queued, and its doorbell
    replays the whole segment, which changes nothing outside. The first step
    that is not pure is committed as claimed, then executed outside any
    transaction as before.
    """
    settings = engine_settings()
    budget = settings.inline_steps if inline_steps is None else inline_steps
    stop_at = time.monotonic() + settings.inline_seconds
    token = str(uuid.uuid4())
    with tenant_uow(tenant_id) as uow:
        row = uow.execute(_CLAIM, {"id": step_id, "token": token, "worker": workers.worker_id()}).first()
        if row is not None:
            first = _claimed(tenant_id, step_id, token, row)
            try:
                run = rungraph.load(tenant_id, first.run_id, uow)
            except LookupError:
                return "stale"
            claimed: Claimed | None
            segment, outcomes, claimed, budget = _pure_segment(uow, run, first, budget, stop_at, rng)
            uow.commit()
    if row is None:
        return _not_claimed(tenant_id, step_id)
    if outcomes:
        _after_commit(run, segment, outcomes)
    current = claimed
    while current is not None:
        outcome = execute(current, run)
        keep_going = budget > 0 and time.monotonic() < stop_at
        txn = _complete_through_outage(run, outcome, rng=rng, claim_next=keep_going)
        if txn is None:
            logger.warning("step result discarded: its claim was lost", extra={"step_id": current.step_id})
            return "stale"
        _after_commit(run, txn, [outcome])
        budget -= 1
        current = _from_inline(run, txn.inline) if txn.inline is not None else None
    return "done"


def _is_pure(run: RunContext, node_id: str) -> bool:
    node = run.graph.node(node_id)
    return run.graph.catalog.is_pure(node.type, node.config)


def _pure_segment(uow: UnitOfWork, run: RunContext, claimed: Claimed, budget: int, stop_at: float,
                  rng: Any) -> tuple[RunTxn, list[Outcome], Claimed | None, int]:
    """Execute and complete pure steps in ``uow`` (which claimed ``claimed``), from ``claimed`` on.

    Every step is recorded in one deferred ``RunTxn`` (its own attempt, its own events), written by one
    statement at the end. Returns that transaction, the outcomes in order, the step left to run outside
    the transaction (claimed, not pure) or ``None``, and the inline budget left.
    """
    txn = completion.segment(uow, run, status=claimed.run_status, seq=claimed.event_seq,
                             now=claimed.started_at)
    outcomes: list[Outcome] = []
    segment_ends = min(stop_at, time.monotonic() + SEGMENT_SECONDS)
    current: Claimed | None = claimed
    while current is not None and _is_pure(run, current.node_id) and (
            not outcomes or time.monotonic() < segment_ends):
        outcome = execute(current, run)
        retry, _ = run.policies(outcome.node_id)
        completion.record_in(txn, outcome, claim_next=budget > 0 and time.monotonic() < stop_at)
        completion.record(txn, outcome, retry, rng=rng)
        outcomes.append(outcome)
        budget -= 1
        current = _from_inline(run, txn.inline) if txn.inline is not None else None
    if outcomes:
        txn.settle()
    return txn, outcomes, current, budget


def _after_commit(run: RunContext, txn: RunTxn, outcomes: list[Outcome]) -> None:
    """After a run transaction committed: its doorbells, its steps' metrics, the run's."""
    dispatch.send(txn.doorbells)
    engine_metrics.steps_finished(
        (node.type, node.template, "success" if outcome.succeeded else "failed", outcome.duration_ms)
        for outcome in outcomes for node in (run.graph.node(outcome.node_id),))
    after_commit(txn)


def _from_inline(run: RunContext, inline: InlineClaim) -> Claimed:
    return Claimed(step_id=inline.step_id, tenant_id=run.tenant_id, run_id=run.run_id, node_id=inline.node_id,
                   instance_key=inline.instance_key, attempt=inline.attempt, input=inline.input,
                   started_at=inline.started_at, claim_token=inline.claim_token, run_status="running")


def after_commit(txn: RunTxn) -> None:
    """What follows a committed run transaction besides doorbells: the run's duration metric."""
    if txn.finished and txn.run.started_at is not None:
        engine_metrics.run_finished(txn.finished, (txn.now - txn.run.started_at).total_seconds() * 1000)
    if txn.finished:
        ports.notify_run_finished(txn.run.tenant_id, txn.run.run_id, txn.finished, probed=txn.probed)


def claim(tenant_id: str, step_id: str) -> Claimed | None:
    """Claim a step in a transaction of its own (committed)."""
    token = str(uuid.uuid4())
    with tenant_uow(tenant_id) as uow:
        row = uow.execute(_CLAIM, {"id": step_id, "token": token, "worker": workers.worker_id()}).first()
        uow.commit()
    return None if row is None else _claimed(tenant_id, step_id, token, row)


def _claimed(tenant_id: str, step_id: str, token: str, row: Any) -> Claimed:
    return Claimed(step_id=step_id, tenant_id=tenant_id, run_id=row[0], node_id=row[1], instance_key=row[2],
                   attempt=int(row[3]), input=row[4], started_at=row[5], claim_token=token, run_status=row[6],
                   event_seq=int(row[7]))


def _not_claimed(tenant_id: str, step_id: str) -> str:
    with tenant_uow(tenant_id) as uow:
        row = uow.execute(_PEEK, {"id": step_id}).first()
    if row is not None and row[0] == "queued" and row[1] is not None and float(row[1]) > 0:
        # An early doorbell (the queue's delay is whole seconds): ring again when due.
        remaining = float(row[1])
        if remaining <= dispatch.MAX_DELAY_SECONDS:
            dispatch.send([Doorbell(tenant_id, row[2], step_id, remaining)])
        return "not_due"
    return "duplicate"


def execute(claimed: Claimed, run: RunContext) -> Outcome:
    """Run the handler; every failure becomes a recorded outcome (never raised)."""
    node = run.graph.node(claimed.node_id)
    redactor = SecretMasker(show_hint=False)
    ctx: StepContext | None = None
    started = time.perf_counter()
    try:
        if run.deadline is not None and run.deadline.timestamp() <= time.time():
            raise RunDeadlineExceeded()
        handler = run.graph.catalog.get(node.type)
        _, timeouts = run.policies(node.id)
        deadline = claimed.started_at.timestamp() + timeouts.step_seconds
        if run.deadline is not None:
            deadline = min(deadline, run.deadline.timestamp())
        credentials, required = _credentials(run, node, handler, redactor)
        data = _expression_data(claimed, run, node)
        secrets = _secrets(run, redactor) if _reads_secrets(run, node, handler) else None
        config = prepare_config(handler, node.config, data, secrets=secrets, on_secret=redactor.add_values)
        parts = container.current()
        ctx = StepContext(
            run_id=run.run_id, node_id=node.id, tenant_id=run.tenant_id, workspace_id=run.workspace_id,
            attempt=claimed.attempt, mode=run.mode, instance_key=claimed.instance_key, node_name=node.name,
            template=node.template, credentials_required=required, deadline=deadline, http=parts.http_client(),
            invoke_action=_action_port(run, deadline), code_runner=parts.code_runner(),
        )
        output = handler.handle({"payload": claimed.input}, config, ctx, credentials)
        if time.time() > deadline:
            raise StepTimeout(f"The step took longer than its {timeouts.step_seconds:g} s timeout.")
        result = ctx.outcome()
        return Outcome(
            step_id=claimed.step_id, node_id=node.id, instance_key=claimed.instance_key, attempt=claimed.attempt,
            claim_token=claimed.claim_token, input=claimed.input,
            duration_ms=(time.perf_counter() - started) * 1000, output=redactor.values(output),
            chosen_ports=result.chosen_ports, successor_delay=result.successor_delay,
            fan_out_items=result.fan_out_items,
            run_output=redactor.values(result.run_output) if result.run_output is not None else None,
            logs=tuple(redactor.values(list(result.logs))),
        )
    except Exception as exc:  # a step failure is an outcome, whatever raised it
        return Outcome(
            step_id=claimed.step_id, node_id=node.id, instance_key=claimed.instance_key, attempt=claimed.attempt,
            claim_token=claimed.claim_token, input=claimed.input,
            duration_ms=(time.perf_counter() - started) * 1000, error=exc,
            error_body=redactor.values(error_body(exc)),
            logs=tuple(redactor.values(ctx.logs)) if ctx is not None else (),
        )


def _complete_through_outage(run: RunContext, outcome: Outcome, **kwargs: Any) -> RunTxn | None:
    """Record the outcome, retrying while the database is unavailable (up to ``complete_retry_seconds``).

    The step has run: recording its result when the database is back beats running it again after
    its lease. Retrying is safe: the completion checks the claim token, so if the step was reclaimed
    meanwhile, this late result is discarded.
    """
    retrying = Retrying(retry=retry_if_exception(db_faults.is_unavailable),
                        wait=wait_exponential(multiplier=0.25, max=4.0),
                        stop=stop_after_delay(engine_settings().complete_retry_seconds), reraise=True)
    return retrying(complete, run, outcome, **kwargs)


def complete(run: RunContext, outcome: Outcome, *, rng: Any = None, claim_next: bool = False) -> RunTxn | None:
    """The completion transaction; ``None`` when the claim was lost (nothing recorded)."""
    retry = run.retry_policy(outcome.node_id) if outcome.error is not None else run.policies(outcome.node_id)[0]
    try:
        with tenant_uow(run.tenant_id) as uow:
            txn = completion.begin(uow, run, outcome, claim_next=claim_next)
            if txn is None:
                return None
            completion.record(txn, outcome, retry, rng=rng)
            txn.settle()
            uow.commit()
    except RunMissing:
        return None
    return txn


def error_body(exc: BaseException) -> dict[str, Any]:
    """How a failed attempt is stored: stable code, message, whether another attempt may help."""
    if isinstance(exc, SteplineError):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message, "retryable": is_retryable(exc)}
        if exc.details:
            body["details"] = exc.details
        info = getattr(exc, "info", None)
        if info:
            body["info"] = info
        return body
    return {"code": "unexpected_error", "message": f"{type(exc).__name__}: {exc}"[:500], "retryable": True}


def _credentials(run: RunContext, node: Any, handler: Any, redactor: SecretMasker) -> tuple[dict | None, bool]:
    """Node connection → the template's default → an error when required (the resolver's order)."""
    if not handler.NEEDS_CREDENTIALS or (node.connection_id is None and node.template is None):
        return None, False
    resolved = container.current().credential_resolver().resolve(ports.CredentialRequest(
        tenant_id=run.tenant_id, workspace_id=run.workspace_id, node_type=node.type,
        connection_id=node.connection_id, template=node.template,
    ))
    credentials = dict(resolved.credentials) if resolved.credentials is not None else None
    if credentials is None and resolved.required:
        raise NonRetryableStepError("This step needs a connection and none was resolved.",
                                    code="credentials_missing")
    redactor.add_values(credentials)
    return credentials, resolved.required


def _expression_data(claimed: Claimed, run: RunContext, node: Any) -> dict[str, Any]:
    """The input seen flat, plus ``$env``, ``$trigger`` and ``$run`` (``$secrets`` goes only where a credential goes).

    JSONata expressions get the ``$``-keys as variables and never ``$secrets``
    (see ``chalicelib.jsonata_expressions``).
    """
    data = as_object(claimed.input)
    data["$env"] = run.env
    # the same shape whatever started the run: its kind, what the trigger knows (id, delivery, slot), the input
    data["$trigger"] = {"kind": run.trigger, **(run.trigger_info or {}), "input": run.input}
    data["$run"] = {
        "id": run.run_id, "workflow_id": run.workflow_id, "workspace_id": run.workspace_id, "mode": run.mode,
        "version": run.version_number, "started_at": run.started_at.isoformat() if run.started_at else None,
        "node": node.name, "attempt": claimed.attempt,
    }
    return data


def _reads_secrets(run: RunContext, node: Any, handler: Any) -> bool:
    """Resolve ``$secrets`` only when a key that may read them does."""
    if not run.secret_refs:
        return False
    config = node.config or {}
    return any(expressions.uses_secrets(config[key]) for key in secret_keys(handler) if key in config)


def _secrets(run: RunContext, redactor: SecretMasker) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, ref in run.secret_refs.items():
        resolved = container.current().credential_resolver().resolve(ports.CredentialRequest(
            tenant_id=run.tenant_id, workspace_id=run.workspace_id, node_type="secret",
            connection_id=ref.get("connection_id"),
        ))
        source = resolved.credentials or {}
        field = ref.get("field")
        if field not in source:
            raise NonRetryableStepError(f"The secret reference {name!r} could not be resolved.",
                                        code="secret_unresolved")
        values[name] = source[field]
        redactor.add_values({name: source[field]})
    return values


def _action_port(run: RunContext, deadline: float) -> Any:
    def invoke(template: str, input_: dict[str, Any], credentials: dict | None, key: str) -> dict[str, Any]:
        return container.current().action_invoker().invoke(ports.ActionCall(
            tenant_id=run.tenant_id, workspace_id=run.workspace_id, template=template, input=input_,
            credentials=credentials, idempotency_key=key, deadline=deadline,
        ))

    return invoke
