"""Helpers shared by the trigger tests: flows in production, triggers, signed deliveries, counts."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from chalicelib.db.uow import system_uow, tenant_uow
from chalicelib.tables.triggers import (
    pending_runs,
    run_admission_counts,
    trigger_deliveries,
    trigger_rate_buckets,
)
from chalicelib.triggers.signing import sign
from tests.support.api import Api, Reply

T0 = dt.datetime(2026, 11, 22, 10, 0, 0, tzinfo=dt.UTC)
GENEROUS = {
    "max_concurrent_runs": 10_000,
    "max_runs_per_hour": 10_000_000,
    "webhook_rate_limit": {"capacity": 1_000_000, "refill_per_second": 1_000_000},
}


def simple_graph() -> dict[str, Any]:
    """start → shape (transform) → end."""
    return {
        "nodes": [
            {"id": "start", "name": "start", "type": "start", "config": {}},
            {
                "id": "shape",
                "name": "shape",
                "type": "transform",
                "config": {"output": {"seen": True}, "mode": "merge"},
            },
            {"id": "end", "name": "end", "type": "end", "config": {}},
        ],
        "edges": [{"from": "start", "to": "shape"}, {"from": "shape", "to": "end"}],
    }


@dataclass
class Tenant:
    """One demo tenant's builder, as the tests use it."""

    api: Api
    tenant_id: str
    ws: str
    token: str
    viewer: str

    def flows(self) -> str:
        return f"/api/workspaces/{self.ws}/flows"

    def make_flow(self, *, status: str = "production", enabled: bool = True, publish: bool = True) -> dict:
        reply = self.api.post(
            self.flows(), {"title": f"flow {uuid.uuid4().hex[:6]}", "graph": simple_graph()}, token=self.token
        )
        assert reply.status == 201, reply.body
        flow = reply.body
        if publish:
            published = self.api.post(f"{self.flows()}/{flow['id']}/publish", {}, token=self.token)
            assert published.status == 201, published.body
        patched = self.api.patch(
            f"{self.flows()}/{flow['id']}", {"status": status, "enabled": enabled}, token=self.token
        )
        assert patched.status == 200, patched.body
        return patched.body

    def triggers(self, flow_id: str) -> str:
        return f"{self.flows()}/{flow_id}/triggers"

    def make_trigger(self, flow_id: str, **body: Any) -> dict:
        reply = self.api.post(self.triggers(flow_id), {"kind": "webhook", **body}, token=self.token)
        assert reply.status == 201, reply.body
        return reply.body

    def deliveries(self, trigger: dict, **query: str) -> list[dict]:
        path = f"{self.triggers(trigger['flow_id'])}/{trigger['id']}/deliveries"
        if query:
            path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        reply = self.api.get(path, token=self.token)
        assert reply.status == 200, reply.body
        return reply.body["items"]

    def run_count(self, flow_id: str) -> int:
        from chalicelib.tables.workflows import runs

        with tenant_uow(self.tenant_id) as uow:
            return int(
                uow.execute(
                    select(func.count()).select_from(runs).where(runs.c.workflow_id == flow_id)
                ).scalar()
            )

    def run(self, run_id: str) -> dict:
        reply = self.api.get(f"/api/workspaces/{self.ws}/runs/{run_id}", token=self.token)
        assert reply.status == 200, reply.body
        return reply.body


def tenant(api: Api, tokens: Any, slug: str = "acme") -> Tenant:
    ids = tokens.ids(slug)
    return Tenant(
        api,
        ids["tenant_id"],
        ids["workspaces"]["Operations"],
        tokens[(slug, "builder")],
        tokens[(slug, "viewer")],
    )


def webhook_path(trigger: dict, *, test: bool = False) -> str:
    hook = trigger["webhook"]
    return f"/webhooks/{trigger['workspace_id']}/{hook['path']}" + ("/test" if test else "")


def deliver(
    api: Api,
    trigger: dict,
    body: Any,
    secret: str,
    *,
    at: dt.datetime = T0,
    delivery_id: str | None = None,
    scheme: str | None = None,
    test: bool = False,
    extra: dict[str, str] | None = None,
) -> Reply:
    """POST a body signed for the trigger's scheme (as the vendor documents it)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = sign(
        scheme or trigger["webhook"]["signature_scheme"],
        raw,
        secret,
        timestamp=int(at.timestamp()),
        delivery_id=delivery_id or f"msg_{uuid.uuid4().hex}",
    )
    return api.call(
        "POST",
        webhook_path(trigger, test=test),
        raw=raw,
        headers={"content-type": "application/json", **headers, **(extra or {})},
    )


def clear_admission_state() -> None:
    """Forget buckets, quota counters and waiting runs of every tenant (between tests)."""
    with system_uow() as uow:
        for table in (pending_runs, trigger_rate_buckets, run_admission_counts):
            uow.execute(delete(table))
        uow.commit()


def delivery_rows(tenant_id: str, trigger_id: str) -> list[dict]:
    with tenant_uow(tenant_id) as uow:
        return [
            dict(r)
            for r in uow.execute(
                select(trigger_deliveries)
                .where(trigger_deliveries.c.trigger_id == trigger_id)
                .order_by(trigger_deliveries.c.created_at)
            ).mappings()
        ]


class Ledger:
    """How many runs the engine says are running (the test decides)."""

    def __init__(self, running: int) -> None:
        self.count = running

    def running(self, uow: Any, tenant_id: Any) -> int:
        return self.count
