"""Per-tenant limits: the webhook token bucket, the hourly run quota, and concurrency backpressure."""

from __future__ import annotations

import datetime as dt

from chalicelib import bootstrap
from chalicelib.errors import DependencyUnavailable
from chalicelib.services.triggers import release
from tests.integration.triggers.trigger_support import T0, deliver, delivery_rows


def _webhook(tenant):
    flow = tenant.make_flow()
    trigger = tenant.make_trigger(flow["id"])
    return trigger, trigger["webhook"]["new_secret"]


def test_tenant_a_exhausted_gets_429_while_tenant_b_is_unaffected(
    acme, beta, clock, doorbells, trigger_limits
):
    # GIVEN a bucket of 3 deliveries refilling one per second, per tenant
    trigger_limits.configure(backpressure={"webhook_rate_limit": {"capacity": 3, "refill_per_second": 1}})
    a, a_secret = _webhook(acme)
    b, b_secret = _webhook(beta)
    # WHEN tenant A sends four deliveries at once
    replies = [deliver(acme.api, a, {"n": i}, a_secret) for i in range(4)]
    # THEN the fourth is refused with Retry-After and RateLimit headers, and recorded
    assert [r.status for r in replies] == [202, 202, 202, 429]
    refused = replies[-1]
    assert refused.error_code == "rate_limited" and refused.headers["Retry-After"] == "1"
    assert refused.headers["RateLimit-Policy"] == '"webhooks";q=3;w=3'
    assert refused.headers["RateLimit"].startswith('"webhooks";r=0;')
    assert replies[0].headers["RateLimit"].startswith('"webhooks";r=2;')
    assert acme.deliveries(a)[0]["outcome"] == "rate_limited" and acme.run_count(a["flow_id"]) == 3
    # AND tenant B, at the same moment, is not limited
    assert all(deliver(beta.api, b, {"n": i}, b_secret).status == 202 for i in range(3))
    # AND A may send again once a token has refilled
    clock.set(T0 + dt.timedelta(seconds=1))
    assert deliver(acme.api, a, {"n": 9}, a_secret, at=clock.now).status == 202


def test_hourly_run_quota_answers_429_until_the_hour_has_passed(acme, clock, doorbells, trigger_limits):
    trigger_limits.configure(backpressure={"max_runs_per_hour": 2})
    trigger, secret = _webhook(acme)
    first = [deliver(acme.api, trigger, {"n": i}, secret) for i in range(2)]
    assert [r.status for r in first] == [202, 202], first[0].body
    over = deliver(acme.api, trigger, {"n": 3}, secret)
    assert over.status == 429 and over.error_code == "run_quota_exceeded"
    assert over.headers["Retry-After"] == "3600"
    manual = acme.make_trigger(trigger["flow_id"], kind="manual")
    fire = acme.api.post(f"{acme.triggers(trigger['flow_id'])}/{manual['id']}/fire", {}, token=acme.token)
    assert fire.status == 429  # the quota counts every way of starting runs
    clock.set(T0 + dt.timedelta(minutes=61))
    assert deliver(acme.api, trigger, {"n": 4}, secret, at=clock.now).status == 202




def test_runs_over_the_concurrency_limit_wait_and_start_in_order(
    acme, clock, doorbells, trigger_limits, ledger
):
    # GIVEN a tenant at its limit of 2 running runs
    trigger_limits.configure(backpressure={"max_concurrent_runs": 2})
    ledger.count = 2
    trigger, secret = _webhook(acme)
    # WHEN two deliveries arrive, they are accepted and wait (no run yet, nothing dropped)
    first, second = (deliver(acme.api, trigger, {"n": i}, secret) for i in (1, 2))
    assert (first.status, first.body["status"], first.body["run_id"]) == (202, "queued", None)
    assert second.body["status"] == "queued" and acme.run_count(trigger["flow_id"]) == 0
    # WHEN one slot frees and a third arrives, the oldest waiting run starts, the newcomer queues behind
    ledger.count = 1
    third = deliver(acme.api, trigger, {"n": 3}, secret)
    assert third.body["status"] == "queued"
    rows = {r["id"]: r for r in delivery_rows(acme.tenant_id, trigger["id"])}
    assert rows[first.body["delivery_id"]]["outcome"] == "started"
    assert rows[second.body["delivery_id"]]["outcome"] == "queued"
    # WHEN the engine finishes everything, the tick releases the rest
    ledger.count = 0
    assert release.release(acme.tenant_id) == 2
    rows = delivery_rows(acme.tenant_id, trigger["id"])
    assert [r["outcome"] for r in rows] == ["started"] * 3 and all(r["run_id"] for r in rows)
    assert acme.run_count(trigger["flow_id"]) == 3


class FailingStarter:
    def __init__(self) -> None:
        self.calls = 0

    def start(self, *args, **kwargs):
        self.calls += 1
        raise DependencyUnavailable("The engine is down.")


def test_a_failed_start_is_refused_with_503_and_the_retry_is_not_a_duplicate(acme, clock, doorbells):
    trigger, secret = _webhook(acme)
    with bootstrap.replaced(run_starter=FailingStarter()):
        down = deliver(acme.api, trigger, {"n": 1}, secret, delivery_id="msg_retry_me")
    assert down.status == 503 and acme.deliveries(trigger)[0]["outcome"] == "error"
    retried = deliver(acme.api, trigger, {"n": 1}, secret, delivery_id="msg_retry_me")
    assert retried.status == 202 and retried.body["status"] == "started"


def test_a_finished_run_releases_waiting_runs_at_once(acme, clock, doorbells, trigger_limits, ledger):
    from chalicelib.services.workflows import ports as engine_ports

    # GIVEN a tenant at its limit, with one delivery waiting for a slot
    trigger_limits.configure(backpressure={"max_concurrent_runs": 1})
    ledger.count = 1
    trigger, secret = _webhook(acme)
    waiting = deliver(acme.api, trigger, {"n": 1}, secret)
    assert waiting.body["status"] == "queued" and acme.run_count(trigger["flow_id"]) == 0
    # WHEN the engine reports that a run of the tenant finished (no tick in between)
    ledger.count = 0
    engine_ports.notify_run_finished(acme.tenant_id, "00000000-0000-4000-8000-000000000000", "success")
    # THEN the waiting run has started
    rows = {r["id"]: r for r in delivery_rows(acme.tenant_id, trigger["id"])}
    assert rows[waiting.body["delivery_id"]]["outcome"] == "started"
    assert acme.run_count(trigger["flow_id"]) == 1


def test_restarting_one_delivery_finds_its_first_run(acme, clock, doorbells):
    """A crash between starting a run and settling the delivery must not start a second run on retry."""
    import uuid

    from chalicelib.services.triggers.engine_adapters import EngineRunStarter

    flow = acme.make_flow()
    starter = EngineRunStarter()
    delivery_id = str(uuid.uuid4())
    # GIVEN the run of a delivery was started once (then, say, the process died)
    first = starter.start(acme.tenant_id, acme.ws, flow["id"], mode="production", input={"n": 1},
                          trigger_id=str(uuid.uuid4()), delivery_id=delivery_id, kind="webhook")
    # WHEN the recovery job starts the same delivery again
    again = starter.start(acme.tenant_id, acme.ws, flow["id"], mode="production", input={"n": 1},
                          trigger_id=str(uuid.uuid4()), delivery_id=delivery_id, kind="webhook")
    # THEN it gets the same run, and only one run exists
    assert again == first
    assert acme.run_count(flow["id"]) == 1


def test_runs_started_through_the_api_obey_the_hourly_quota(acme, clock, doorbells, trigger_limits):
    # GIVEN an hourly quota of 2 runs
    trigger_limits.configure(backpressure={"max_runs_per_hour": 2})
    flow = acme.make_flow()
    runs = f"{acme.flows()}/{flow['id']}/runs"
    # WHEN the API starts three runs
    replies = [acme.api.post(runs, {"input": {"n": i}}, token=acme.token) for i in range(3)]
    # THEN the third is refused as a trigger's delivery would be, with Retry-After and RateLimit headers
    assert [r.status for r in replies] == [202, 202, 429], replies[-1].body
    over = replies[-1]
    assert over.error_code == "run_quota_exceeded" and over.headers["Retry-After"] == "3600"
    assert over.headers["RateLimit-Policy"] == '"runs";q=2;w=3600'
    assert over.headers["RateLimit"] == '"runs";r=0;t=3600'
    # AND the quota is one count for every way of starting runs: a trigger is refused too, and a rerun
    manual = acme.make_trigger(flow["id"], kind="manual")
    fire = acme.api.post(f"{acme.triggers(flow['id'])}/{manual['id']}/fire", {}, token=acme.token)
    assert fire.status == 429 and fire.headers["RateLimit-Policy"] == '"runs";q=2;w=3600'
    rerun = acme.api.post(f"/api/workspaces/{acme.ws}/runs/{replies[0].body['id']}/rerun", {}, token=acme.token)
    assert rerun.status == 429 and rerun.error_code == "run_quota_exceeded"
    assert acme.run_count(flow["id"]) == 2
    # AND once the hour has passed the API starts runs again
    clock.set(T0 + dt.timedelta(minutes=61))
    assert acme.api.post(runs, {}, token=acme.token).status == 202


def test_runs_started_through_the_api_obey_the_concurrency_limit(acme, clock, doorbells, trigger_limits, ledger):
    # GIVEN a tenant at its limit of 2 running runs
    trigger_limits.configure(backpressure={"max_concurrent_runs": 2})
    ledger.count = 2
    flow = acme.make_flow()
    runs = f"{acme.flows()}/{flow['id']}/runs"
    # WHEN the API starts a run THEN it is refused (an API call has no delivery to queue), to be retried
    refused = acme.api.post(runs, {}, token=acme.token)
    assert refused.status == 429 and refused.error_code == "concurrency_limit_reached", refused.body
    assert refused.headers["Retry-After"] == "5" and refused.headers["RateLimit-Policy"].startswith('"runs";')
    assert acme.run_count(flow["id"]) == 0
    # WHEN a trigger's run waits for a slot, the next free slot is its: the API start is still refused
    trigger, secret = _webhook(acme)
    assert deliver(acme.api, trigger, {"n": 1}, secret).body["status"] == "queued"
    ledger.count = 1
    assert acme.api.post(runs, {}, token=acme.token).status == 429
    # WHEN nothing waits and a slot is free THEN the API starts the run
    assert release.release(acme.tenant_id) == 1
    ledger.count = 1
    started = acme.api.post(runs, {}, token=acme.token)
    assert started.status == 202 and acme.run_count(flow["id"]) == 1
