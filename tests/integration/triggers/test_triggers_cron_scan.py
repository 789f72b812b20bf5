"""Cron with a controlled clock: one run per slot whatever the ticks do, DST, missed-slot policies."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import update

from chalicelib.db.uow import system_uow
from chalicelib.services.triggers.kinds import cron as cron_kind
from chalicelib.tables.triggers import triggers
from tests.integration.triggers.trigger_support import T0, delivery_rows


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(autouse=True)
def only_this_tests_schedules(local_stack):
    """Cron triggers left by other tests would fire at the far-off times these tests use: pause them."""
    with system_uow() as uow:
        uow.execute(
            update(triggers).where(triggers.c.kind == "cron").values(enabled=False, next_fire_at=None)
        )
        uow.commit()


def _cron(acme, clock, created_at, **schedule):
    clock.set(created_at)
    flow = acme.make_flow()
    return acme.make_trigger(flow["id"], kind="cron", input={"report": "daily"}, schedule=schedule)


def _slots(acme, trigger):
    return [(r["slot"], r["outcome"]) for r in delivery_rows(acme.tenant_id, trigger["id"])]


def test_overlapping_and_repeated_ticks_fire_a_slot_once(acme, clock, doorbells):
    trigger = _cron(acme, clock, T0, cron="*/5 * * * *")
    assert trigger["schedule"]["next_fire_at"] == "2026-11-22T10:05:00Z"
    # WHEN three ticks run at the same moment (overlapping Lambda invocations) and one repeats later
    barrier = threading.Barrier(3)
    fired: list = []

    def tick():
        barrier.wait(timeout=10)
        fired.extend(cron_kind.scan(at("2026-11-22T10:05:10Z")))

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    cron_kind.scan(at("2026-11-22T10:05:40Z"))
    # THEN the 10:05 slot started exactly one run
    mine = [f for f in fired if f.trigger_id == trigger["id"]]
    assert sorted(f.result.outcome for f in mine).count("started") == 1
    assert _slots(acme, trigger) == [(at("2026-11-22T10:05:00Z"), "started")]
    assert acme.run_count(trigger["flow_id"]) == 1
    run = acme.run(acme.deliveries(trigger)[0]["run_id"])
    assert run["trigger"] == "cron" and run["mode"] == "production"
    # the configured input as the run's input (as a manual start gives it); the slot beside it
    assert run["input"] == {"report": "daily"}
    assert run["trigger_info"]["slot"] == "2026-11-22T10:05:00Z" and run["trigger_info"]["id"] == trigger["id"]
    # AND next_fire_at moved on, as the API shows
    shown = acme.api.get(f"{acme.triggers(trigger['flow_id'])}/{trigger['id']}", token=acme.token).body
    assert shown["schedule"]["next_fire_at"] == "2026-11-22T10:10:00Z"
    assert shown["schedule"]["last_slot"] == "2026-11-22T10:05:00Z"


def test_spring_forward_fires_a_slot_in_the_missing_hour_once(acme, clock, doorbells):
    # Europe/Berlin, 2027-03-28: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day
    trigger = _cron(acme, clock, at("2027-03-27T12:00:00Z"), cron="30 2 * * *", timezone="Europe/Berlin")
    assert trigger["schedule"]["next_fire_at"] == "2027-03-28T01:00:00Z"  # 03:00 CEST, right after the gap
    for minute in range(0, 90, 1):  # every tick from 00:30 to 02:00 UTC
        cron_kind.scan(at("2027-03-28T00:30:05Z") + dt.timedelta(minutes=minute))
    assert _slots(acme, trigger) == [(at("2027-03-28T01:00:00Z"), "started")]
    shown = acme.api.get(f"{acme.triggers(trigger['flow_id'])}/{trigger['id']}", token=acme.token).body
    assert shown["schedule"]["next_fire_at"] == "2027-03-29T00:30:00Z"  # 02:30 CEST


def test_fall_back_fires_the_repeated_hour_once(acme, clock, doorbells):
    # 2027-10-31: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice (00:30 and 01:30 UTC)
    trigger = _cron(acme, clock, at("2027-10-30T12:00:00Z"), cron="30 2 * * *", timezone="Europe/Berlin")
    for moment in ("2027-10-31T00:30:10Z", "2027-10-31T01:30:10Z", "2027-10-31T01:31:00Z"):
        cron_kind.scan(at(moment))
    assert _slots(acme, trigger) == [(at("2027-10-31T00:30:00Z"), "started")]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("fire_once", [("2026-11-22T10:10:00Z", "started"), ("2026-11-22T10:40:00Z", "started")]),
        ("skip", [("2026-11-22T10:10:00Z", "started")]),
    ],
)
def test_missed_slots_follow_the_policy(acme, clock, doorbells, policy, expected):
    trigger = _cron(acme, clock, T0, cron="*/10 * * * *", missed_slot_policy=policy)
    cron_kind.scan(at("2026-11-22T10:10:05Z"))
    # the ticks stop for half an hour (10:20, 10:30, 10:40 are missed); the next tick is late
    cron_kind.scan(at("2026-11-22T10:47:00Z"))
    assert _slots(acme, trigger) == [(at(slot), outcome) for slot, outcome in expected]
    # and the schedule carries on normally afterwards
    cron_kind.scan(at("2026-11-22T10:50:05Z"))
    assert _slots(acme, trigger)[-1] == (at("2026-11-22T10:50:00Z"), "started")
    assert acme.run_count(trigger["flow_id"]) == len(expected) + 1


def test_cron_slot_of_a_workflow_not_in_production_is_recorded_once(acme, clock, doorbells):
    clock.set(T0)
    flow = acme.make_flow(status="test")
    trigger = acme.make_trigger(flow["id"], kind="cron", schedule={"cron": "*/5 * * * *"})
    cron_kind.scan(at("2026-11-22T10:05:01Z"))
    cron_kind.scan(at("2026-11-22T10:05:30Z"))
    assert _slots(acme, trigger) == [(at("2026-11-22T10:05:00Z"), "not_production")]
    assert acme.run_count(flow["id"]) == 0
