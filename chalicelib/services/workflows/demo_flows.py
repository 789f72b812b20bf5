"""Sample workflows for the demo tenants (registered with ``services.demo``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from chalicelib.ids import new_id
from chalicelib.services.unit_of_work import UnitOfWork
from chalicelib.tables.workflows import workflow_versions, workflows

SAMPLE_GRAPH: dict[str, Any] = {
    "nodes": [
        {"id": "start", "name": "start", "type": "start"},
        {"id": "check", "name": "is_large", "type": "condition",
         "config": {"all": [{"left": "{{ total }}", "op": "gt", "right": 100}]}},
        {"id": "large", "name": "large_order", "type": "transform",
         "config": {"output": {"priority": "high"}, "mode": "merge"}},
        {"id": "small", "name": "small_order", "type": "transform",
         "config": {"output": {"priority": "normal"}, "mode": "merge"}},
        {"id": "join", "name": "join", "type": "wait_all"},
        {"id": "end", "name": "end", "type": "end"},
    ],
    "edges": [
        {"from": "start", "to": "check"}, {"from": "check", "to": "large", "port": "true"},
        {"from": "check", "to": "small", "port": "false"}, {"from": "large", "to": "join"},
        {"from": "small", "to": "join"}, {"from": "join", "to": "end"},
    ],
}
SAMPLE_INPUT_SCHEMA = {"type": "object", "required": ["total"], "properties": {"total": {"type": "number"}}}


def seed(uow: UnitOfWork, seeded: dict[str, Any]) -> None:
    """One published sample workflow in each demo tenant's first workspace."""
    for data in seeded.values():
        uow.set_tenant(data["tenant_id"])
        flow_id, ws = new_id(), data["workspaces"][0]
        uow.execute(insert(workflows).values(
            id=flow_id, tenant_id=data["tenant_id"], workspace_id=ws, title="Order intake (sample)",
            description="Flags large orders; try a test run with {\"total\": 250}.", status="test",
            graph=SAMPLE_GRAPH, start_payload={"payload": {"total": 250}}, input_schema=SAMPLE_INPUT_SCHEMA,
            latest_version=1,
        ))
        uow.execute(insert(workflow_versions).values(
            id=new_id(), tenant_id=data["tenant_id"], workspace_id=ws, workflow_id=flow_id, number=1,
            graph=SAMPLE_GRAPH, input_schema=SAMPLE_INPUT_SCHEMA, note="sample",
        ))
