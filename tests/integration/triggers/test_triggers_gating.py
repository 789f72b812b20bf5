"""Gating: a disabled trigger or a workflow not enabled and in production gets no run, only a record.

The test URL and test-mode manual starts run the draft whatever the
workflow's state; a deactivated trigger starts nothing by any route or mode.
"""

from __future__ import annotations

import pytest

from tests.integration.triggers.trigger_support import deliver


def _webhook(acme, **flow_state):
    flow = acme.make_flow(**flow_state)
    trigger = acme.make_trigger(flow["id"])
    return flow, trigger, trigger["webhook"]["new_secret"]


@pytest.mark.parametrize(
    ("flow_state", "reason"),
    [
        ({"status": "test"}, "The workflow is test."),
        ({"status": "draft", "publish": False}, "The workflow is draft."),
        ({"status": "production", "enabled": False}, "The workflow is production and not enabled."),
    ],
)
def test_workflow_not_in_production_gets_no_run(acme, clock, doorbells, flow_state, reason):
    flow, trigger, secret = _webhook(acme, **flow_state)
    reply = deliver(acme.api, trigger, {"n": 1}, secret)
    assert reply.status == 409 and reply.error_code == "workflow_not_in_production"
    [delivery] = acme.deliveries(trigger)
    assert (delivery["outcome"], delivery["reason"], delivery["run_id"]) == ("not_production", reason, None)
    assert acme.run_count(flow["id"]) == 0 and doorbells.sent == []


def test_deactivated_trigger_records_disabled_and_activation_restores_it(acme, clock, doorbells):
    flow, trigger, secret = _webhook(acme)
    one = f"{acme.triggers(flow['id'])}/{trigger['id']}"
    acme.api.post(one + "/deactivate", {}, token=acme.token)
    refused = deliver(acme.api, trigger, {"n": 1}, secret)
    assert refused.status == 409 and refused.error_code == "trigger_disabled"
    assert acme.deliveries(trigger)[0]["outcome"] == "disabled" and acme.run_count(flow["id"]) == 0
    acme.api.post(one + "/activate", {}, token=acme.token)
    assert deliver(acme.api, trigger, {"n": 1}, secret).status == 202
    assert acme.run_count(flow["id"]) == 1


def test_test_url_starts_a_test_run_of_the_draft_whatever_the_workflow_state(acme, clock, doorbells):
    flow, trigger, secret = _webhook(acme, status="draft", publish=False, enabled=False)
    reply = deliver(acme.api, trigger, {"n": 1}, secret, test=True)
    assert reply.status == 202, reply.body
    run = acme.run(reply.body["run_id"])
    assert run["mode"] == "test" and run["trigger"] == "webhook"
    assert acme.deliveries(trigger, mode="test")[0]["outcome"] == "started"
    # the same delivery id on the production URL is a separate delivery (and is gated there)
    assert deliver(acme.api, trigger, {"n": 1}, secret).status == 409


@pytest.mark.parametrize("flow_state", [{}, {"status": "draft", "publish": False, "enabled": False}])
def test_a_deactivated_trigger_starts_nothing_on_either_url(acme, clock, doorbells, flow_state):
    # GIVEN a deactivated webhook trigger (of a production workflow, or of a draft)
    flow, trigger, secret = _webhook(acme, **flow_state)
    one = f"{acme.triggers(flow['id'])}/{trigger['id']}"
    assert acme.api.post(one + "/deactivate", {}, token=acme.token).status == 200
    # WHEN the same signed delivery is sent to its production URL and to its test URL
    production = deliver(acme.api, trigger, {"n": 1}, secret, delivery_id="msg_p")
    test = deliver(acme.api, trigger, {"n": 1}, secret, delivery_id="msg_t", test=True)
    # THEN the test URL answers exactly as the production URL does, and nothing starts
    assert (test.status, test.error_code) == (production.status, production.error_code) == (409, "trigger_disabled")
    assert acme.run_count(flow["id"]) == 0 and doorbells.sent == []
    # AND both are in the delivery history as disabled
    history = {(d["mode"], d["outcome"], d["run_id"]) for d in acme.deliveries(trigger)}
    assert history == {("production", "disabled", None), ("test", "disabled", None)}
    # AND an unsigned call is refused on the test URL as on the production URL (the signature comes first)
    forged = deliver(acme.api, trigger, {"n": 1}, "whsec_" + "A" * 32, test=True)
    assert forged.status == deliver(acme.api, trigger, {"n": 1}, "whsec_" + "A" * 32).status == 401
    # AND a manual test start through the trigger is refused too
    fired = acme.api.post(one + "/fire", {"mode": "test"}, token=acme.token)
    assert fired.status == 409 and fired.error_code == "trigger_disabled"
    assert acme.run_count(flow["id"]) == 0
    # WHEN it is activated again, the test URL starts a test run
    assert acme.api.post(one + "/activate", {}, token=acme.token).status == 200
    again = deliver(acme.api, trigger, {"n": 2}, secret, delivery_id="msg_t2", test=True)
    assert again.status == 202 and acme.run(again.body["run_id"])["mode"] == "test"


def test_manual_fire_obeys_gating_and_records_who_started_it(acme, clock, doorbells):
    flow = acme.make_flow(status="test")
    trigger = acme.make_trigger(flow["id"], kind="manual", input={"from": "trigger"})
    fire = f"{acme.triggers(flow['id'])}/{trigger['id']}/fire"
    refused = acme.api.post(fire, {}, token=acme.token)
    assert refused.status == 409 and refused.error_code == "workflow_not_in_production"
    tested = acme.api.post(fire, {"mode": "test", "input": {"given": True}}, token=acme.token)
    assert tested.status == 202 and tested.body["status"] == "started"
    assert acme.run(tested.body["run_id"])["input"] == {"given": True}
    acme.api.patch(
        f"{acme.flows()}/{flow['id']}", {"status": "production", "enabled": True}, token=acme.token
    )
    acme.api.post(f"{acme.flows()}/{flow['id']}/publish", {}, token=acme.token)
    started = acme.api.post(fire, {}, token=acme.token)
    assert started.status == 202 and acme.run(started.body["run_id"])["input"] == {"from": "trigger"}
    history = acme.deliveries(trigger)
    assert [(d["kind"], d["mode"], d["outcome"]) for d in history] == [
        ("manual", "production", "started"),
        ("manual", "test", "started"),
        ("manual", "production", "not_production"),
    ]
    assert all(d["actor_id"] for d in history)
    assert acme.api.post(fire, {}, token=acme.viewer).status == 403


def test_deleted_workflow_takes_its_triggers_with_it(acme, clock, doorbells):
    from chalicelib.services.triggers.kinds import cron as cron_kind

    flow, trigger, secret = _webhook(acme)
    cron = acme.make_trigger(flow["id"], kind="cron", schedule={"cron": "*/5 * * * *"})
    assert acme.api.delete(f"{acme.flows()}/{flow['id']}", token=acme.token).status == 204
    gone = deliver(acme.api, trigger, {"n": 1}, secret)
    assert gone.status == 404 and gone.error_code == "webhook_not_found"
    cron_kind.scan(clock.now.replace(minute=5, second=1))
    listed = acme.api.get(f"/api/workspaces/{acme.ws}/triggers", token=acme.token).body
    remaining = {t["id"] for t in listed["items"]}
    assert trigger["id"] not in remaining and cron["id"] not in remaining  # deleted with their workflow
