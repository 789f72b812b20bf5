"""Every trigger feeds a run the same way: cron, manual fire, webhook and the runs API give the same input.

A workflow with an input schema receives its payload as the run's input,
whatever started it; what the trigger knows (id, delivery, slot) travels beside
the input as ``trigger_info`` (``$trigger`` in expressions), never wrapped
around it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from chalicelib.db.uow import system_uow
from chalicelib.services.triggers.kinds import cron as cron_kind
from chalicelib.tables.triggers import triggers
from tests.integration.triggers.trigger_support import T0, deliver

ORDER = {"order_id": "A-1001", "amount": 42}
SCHEMA = {"type": "object", "required": ["order_id"], "additionalProperties": False,
          "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}}}


@pytest.fixture(autouse=True)
def only_this_tests_schedules(local_stack):
    with system_uow() as uow:
        uow.execute(update(triggers).where(triggers.c.kind == "cron").values(enabled=False, next_fire_at=None))
        uow.commit()


@pytest.fixture
def flow(acme):
    made = acme.make_flow(publish=False)
    patched = acme.api.patch(f"{acme.flows()}/{made['id']}", {"input_schema": SCHEMA}, token=acme.token)
    assert patched.status == 200, patched.body
    assert acme.api.post(f"{acme.flows()}/{made['id']}/publish", {}, token=acme.token).status == 201
    return made


def test_cron_manual_webhook_and_api_runs_receive_the_same_input(acme, flow, clock, doorbells):
    clock.set(T0)
    # cron: the configured input, at its slot
    cron = acme.make_trigger(flow["id"], kind="cron", input=ORDER, schedule={"cron": "*/5 * * * *"})
    fired = [f for f in cron_kind.scan(dt.datetime(2026, 11, 22, 10, 5, 10, tzinfo=dt.UTC))
             if f.trigger_id == cron["id"]]
    assert [f.result.outcome for f in fired] == ["started"], fired
    cron_run = acme.run(fired[0].result.run_id)
    # manual: fired by hand with the same input
    manual = acme.make_trigger(flow["id"], kind="manual", input=ORDER)
    fire = acme.api.post(f"{acme.triggers(flow['id'])}/{manual['id']}/fire", {}, token=acme.token)
    assert fire.status == 202, fire.body
    manual_run = acme.run(fire.body["run_id"])
    # webhook: the body as the payload
    hook = acme.make_trigger(flow["id"], webhook={"payload": "body"})
    reply = deliver(acme.api, hook, ORDER, hook["webhook"]["new_secret"])
    assert reply.status == 202, reply.body
    webhook_run = acme.run(reply.body["run_id"])
    # the runs API
    started = acme.api.post(f"{acme.flows()}/{flow['id']}/runs", {"mode": "production", "input": ORDER},
                            token=acme.token)
    assert started.status == 202, started.body
    api_run = acme.run(started.body["id"])

    runs = {"cron": cron_run, "manual": manual_run, "webhook": webhook_run, "api": api_run}
    assert {kind: run["input"] for kind, run in runs.items()} == dict.fromkeys(runs, ORDER)
    assert {kind: run["trigger"] for kind, run in runs.items()} == {
        "cron": "cron", "manual": "manual", "webhook": "webhook", "api": "manual"}
    # what the trigger knows is beside the input, with the same keys for every kind
    assert cron_run["trigger_info"]["slot"] == "2026-11-22T10:05:00Z"
    assert webhook_run["trigger_info"]["external_id"]
    for kind in ("cron", "manual", "webhook"):
        info = runs[kind]["trigger_info"]
        assert set(info) == {"id", "kind", "delivery_id", "external_id", "slot", "received_at"}, kind
        assert info["kind"] == kind
    assert api_run["trigger_info"] is None
