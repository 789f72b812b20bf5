"""Trigger kinds are a registry: a kind the composition root adds is created, listed, fired, ticked and shown
through the API with no other module edited (this test's kind lives only here)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from chalicelib import bootstrap
from chalicelib.db.uow import system_uow, tenant_uow
from chalicelib.services.triggers import jobs
from chalicelib.services.triggers.firing import Firing, fire
from chalicelib.services.triggers.kinds.manual import ManualKind
from chalicelib.tables.triggers import triggers


class EveryTickKind(ManualKind):
    """A kind with no settings (the rest as ``manual``) that fires each of its enabled triggers once per tick."""

    name: str = "every_tick"

    def create(self, tenant_id: str, trigger_id: str, settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        return {"config": {"ticks": True}}, None

    def tick(self, now: dt.datetime) -> int:
        with system_uow() as uow:
            due = uow.execute(select(triggers.c.id, triggers.c.tenant_id).where(
                triggers.c.kind == self.name, triggers.c.enabled)).all()
        started = 0
        for trigger_id, tenant_id in due:
            with tenant_uow(str(tenant_id)) as uow:
                row = uow.execute(select(triggers).where(triggers.c.id == trigger_id)).mappings().one()
            result = fire(Firing(trigger=dict(row), kind=self.name, input=row["input"]), now)
            started += result.run_id is not None
        return started


@pytest.fixture
def with_every_tick(doorbells, acme):
    """The process's kinds plus ``every_tick`` for one test, and a workflow for its triggers; the workflow
    goes (with its triggers) while the kind is still known, so no other test meets a trigger of a kind its
    process does not have."""
    kinds = {**bootstrap.TRIGGER_KINDS, EveryTickKind.name: EveryTickKind()}
    with bootstrap.replaced(trigger_kinds=kinds):
        flow = acme.make_flow()
        yield flow
        assert acme.api.delete(f"{acme.flows()}/{flow['id']}", token=acme.token).status == 204


def test_an_unregistered_kind_is_refused_with_the_registered_names(acme):
    # GIVEN the process's kinds WHEN a trigger of another kind is created THEN 422 at /kind, naming the kinds
    flow = acme.make_flow()
    refused = acme.api.post(acme.triggers(flow["id"]), {"kind": "every_tick"}, token=acme.token)
    assert refused.status == 422, refused.body
    detail = refused.body["error"]["details"][0]
    assert detail["path"] == "/kind" and "'manual', 'webhook' or 'cron'" in detail["issue"]


def test_a_kind_added_in_the_composition_root_is_created_listed_fired_and_ticked(acme, with_every_tick):
    flow = with_every_tick
    # WHEN a trigger of the added kind is created THEN the API accepts it and shows it
    created = acme.make_trigger(flow["id"], kind="every_tick", name="ticker", input={"n": 1})
    assert created["kind"] == "every_tick" and "webhook" not in created and "schedule" not in created
    # AND listing by the kind finds it (the query parameter accepts the added name too)
    listed = acme.api.get(f"{acme.triggers(flow['id'])}?kind=every_tick", token=acme.token)
    assert listed.status == 200, listed.body
    assert [t["id"] for t in listed.body["items"]] == [created["id"]]
    # AND the OpenAPI document lists it among the accepted kinds
    document = acme.api.get("/openapi.json").body
    assert "every_tick" in document["components"]["schemas"]["TriggerBody"]["properties"]["kind"]["enum"]
    # WHEN it is fired by hand THEN a run starts
    fired = acme.api.post(f"{acme.triggers(flow['id'])}/{created['id']}/fire", {}, token=acme.token)
    assert fired.status == 202 and fired.body["status"] == "started", fired.body
    # WHEN the housekeeping tick runs THEN the kind's own share fires it, recorded under the kind's name
    outcome = jobs.tick()
    assert outcome["fired"] >= 1
    ticked = [d for d in acme.deliveries(created) if d["kind"] == "every_tick"]
    assert len(ticked) == 1 and ticked[0]["outcome"] == "started"
    run = acme.run(ticked[0]["run_id"])
    assert run["trigger"] == "every_tick" and run["input"] == {"n": 1}
    # AND a kind without a signing secret has none to rotate
    rotated = acme.api.post(f"{acme.triggers(flow['id'])}/{created['id']}/rotate-secret", {}, token=acme.token)
    assert rotated.status == 409 and rotated.body["error"]["code"] == "not_a_webhook"
