"""Starting a run by hand: through a trigger (the same gating, admission and delivery record as the others), or
directly (``POST …/flows/{id}/runs``: the tenant's admission, no delivery).

Every mode needs the trigger enabled (recorded as ``disabled`` otherwise);
``mode`` ``production`` also needs the workflow enabled and in production
(``not_production``); ``test`` runs the draft whatever the workflow's state. The hourly quota (429) and the
concurrency limit (the run waits, ``queued``) apply; the webhook token bucket
does not. The delivery records who started it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from chalicelib.db.uow import tenant_uow
from chalicelib.errors import NotFound
from chalicelib.services.triggers import ports
from chalicelib.services.triggers.firing import Firing, fire
from chalicelib.services.triggers.kinds import kind_of_trigger
from chalicelib.services.triggers.kinds import manual as manual_kind
from chalicelib.services.triggers.models import FireBody
from chalicelib.services.triggers.settings import now as clock_now
from chalicelib.services.workflows.runs import start_run
from chalicelib.tables.triggers import triggers


def start_directly(principal: Any, ws: str, flow_id: str, *, mode: str, input: Any,
                   version: int | None) -> dict[str, Any]:
    """Start a run of the workflow for ``principal``, labelled by who started it (``manual`` or ``api``)."""
    return start_run(principal.tenant_id, ws, flow_id, mode=mode, input=input, version=version,
                     trigger=manual_kind.direct_start(principal), actor=principal)


def fire_by_hand(principal: Any, ws: str, flow_id: str, trigger_id: str, body: FireBody) -> dict[str, Any]:
    with tenant_uow(principal.tenant_id) as uow:
        row = uow.execute(select(triggers).where(
            triggers.c.id == trigger_id, triggers.c.workspace_id == ws,
            triggers.c.workflow_id == flow_id)).mappings().first()
    if row is None:
        raise NotFound("No such trigger.")
    kind_of_trigger(row)  # a trigger of a kind the process no longer has starts nothing
    payload = body.input if "input" in body.model_fields_set else row["input"]
    now = clock_now()
    result = fire(Firing(trigger=dict(row), kind=manual_kind.KIND.name, mode=body.mode, input=payload,
                         actor_id=principal.user_id, gated=body.mode == ports.PRODUCTION), now)
    if result.error is not None and not result.accepted:
        raise result.error
    return {"delivery_id": result.delivery_id, "run_id": result.run_id, "status": result.outcome}
