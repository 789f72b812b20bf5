"""Trying things for real: ``POST /api/actions/{id}/test`` and ``POST …/connections/{id}/test``.

Both make the real call and answer what happened — status, timing, the
masked request and response, each attempt — as data, with ``ok: false`` and
the error when the remote side failed. Input that does not fit the action's
schemas is the caller's mistake and answers 422 with the failing pointers.
"""

from __future__ import annotations

from typing import Any

from chalicelib.connectors.errors import InvalidActionInput, InvalidUpstreamUrl
from chalicelib.connectors.trace import InvocationResult
from chalicelib.db.uow import tenant_uow
from chalicelib.errors import NotFound, SteplineError, ValidationFailed
from chalicelib.services.authentication import Principal
from chalicelib.services.connectors import live_credentials
from chalicelib.services.connectors.definitions import current_source, needs_connection, resolve_action
from chalicelib.services.connectors.errors import ConnectionNotUsable, ConnectionRequired
from chalicelib.services.connectors.live_credentials import LiveConnection, open_connection

# The caller's own mistakes: answered as errors, not as a failed trial.
_CALLER_ERRORS = (InvalidActionInput, InvalidUpstreamUrl, ValidationFailed, NotFound)


def _report(
    result: InvocationResult | None, error: SteplineError | None, conn: LiveConnection | None, action_key: str
) -> dict[str, Any]:
    trace = result.trace if result is not None else getattr(error, "trace", None)
    trace_dict = trace.to_dict() if trace is not None else {"request": None, "response": None, "attempts": []}
    report: dict[str, Any] = {
        "ok": error is None,
        "action": action_key,
        "status": result.status if result is not None else getattr(error, "upstream_status", None),
        "duration_ms": result.duration_ms
        if result is not None
        else sum(a["duration_ms"] + a["waited_ms"] for a in trace_dict["attempts"]),
        "output": result.output if result is not None else None,
        "request": trace_dict["request"],
        "response": trace_dict["response"],
        "attempts": trace_dict["attempts"],
    }
    if error is not None:
        report["error"] = {
            "code": error.code,
            "message": error.message,
            "retryable": error.retryable,
            "upstream_status": getattr(error, "upstream_status", None),
            "vendor_code": getattr(error, "vendor_code", None),
        }
    if conn is not None:
        report["connection"] = {"id": conn.id, "status": conn.status}
    return report


def _run(
    conn: LiveConnection | None, connector: Any, action_key: str, input: dict[str, Any], *, tested: bool
) -> dict[str, Any]:
    try:
        result = live_credentials.call(conn, connector, action_key, input, tested=tested)
    except _CALLER_ERRORS:
        raise
    except SteplineError as exc:
        return _report(None, exc, conn, action_key)
    return _report(result, None, conn, action_key)


def test_connection(principal: Principal, ws: str, connection_id: str) -> dict[str, Any]:
    """Run the app's test action with its sample input; the connection's health follows the outcome."""
    conn = open_connection(principal.tenant_id, connection_id, workspace_id=ws)
    with tenant_uow(principal.tenant_id) as uow:
        connector = current_source(uow, conn.app).connector
    action = connector.action(connector.test_action)
    return _run(conn, connector, action.key, dict(action.sample_input), tested=True)


def test_action(
    principal: Principal, action_id: str, connection_id: str | None, input: dict[str, Any] | None
) -> dict[str, Any]:
    """Call the action with ``input`` (default: its sample input) through a connection of its app."""
    with tenant_uow(principal.tenant_id) as uow:
        resolved = resolve_action(uow, action_id)
    connector = resolved.connector
    conn = None
    if connection_id is not None:
        try:
            conn = open_connection(principal.tenant_id, connection_id)
        except NotFound:
            raise ConnectionNotUsable(
                details=[{"path": "/connection_id", "issue": "no such connection"}]
            ) from None
        if not (principal.sees_all_workspaces or conn.workspace_id in principal.workspace_ids):
            raise ConnectionNotUsable(details=[{"path": "/connection_id", "issue": "no such connection"}])
        if conn.app.id != resolved.app.id:
            raise ConnectionNotUsable(
                details=[{"path": "/connection_id", "issue": "belongs to another app than the action"}]
            )
    elif needs_connection(connector):
        raise ConnectionRequired(
            "This action needs a connection.",
            details=[{"path": "/connection_id", "issue": "is required for this action"}],
        )
    sample = connector.action(resolved.key).sample_input
    return _run(conn, connector, resolved.key, dict(input if input is not None else sample), tested=False)
