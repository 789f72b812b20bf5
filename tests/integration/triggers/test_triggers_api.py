"""The trigger API: create, read, change, (de)activate, rotate, delete; validation; secrets never shown."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from chalicelib.db.uow import tenant_uow
from chalicelib.tables.identity import audit_events
from chalicelib.tables.triggers import triggers
from tests.integration.triggers.trigger_support import T0


def test_webhook_trigger_shows_generated_secret_once_and_masked_after(acme):
    # GIVEN a workflow
    flow = acme.make_flow()
    # WHEN a Standard Webhooks trigger is created without a secret
    created = acme.make_trigger(flow["id"], name="orders")
    hook = created["webhook"]
    # THEN the generated secret is returned this once, and afterwards only masked
    assert hook["new_secret"].startswith("whsec_")
    assert hook["secret"] == "••••" + hook["new_secret"][-4:]
    assert hook["url"].endswith(f"/webhooks/{acme.ws}/{hook['path']}") and hook["test_url"].endswith("/test")
    again = acme.api.get(f"{acme.triggers(flow['id'])}/{created['id']}", token=acme.viewer)
    assert again.status == 200 and "new_secret" not in again.body["webhook"]
    assert hook["new_secret"] not in str(again.body)
    # AND the stored secret is an envelope, not the plaintext
    with tenant_uow(acme.tenant_id) as uow:
        row = uow.execute(select(triggers.c.secret).where(triggers.c.id == created["id"])).scalar()
    assert set(row) >= {"dek", "nonce", "ct"} and hook["new_secret"] not in str(row)
    # AND the audit log never shows it
    with tenant_uow(acme.tenant_id) as uow:
        changes = [
            r[0]
            for r in uow.execute(
                select(audit_events.c.changes).where(audit_events.c.target_id == created["id"])
            )
        ]
    assert changes and hook["new_secret"] not in str(changes)


def test_vendor_schemes_need_the_vendor_secret_and_get_default_correlation(acme):
    flow = acme.make_flow()
    refused = acme.api.post(
        acme.triggers(flow["id"]),
        {"kind": "webhook", "webhook": {"signature_scheme": "stripe"}},
        token=acme.token,
    )
    assert refused.status == 422 and refused.body["error"]["details"][0]["path"] == "/webhook/secret"
    stripe = acme.make_trigger(
        flow["id"], webhook={"signature_scheme": "stripe", "secret": "whsec_stripe_example_1"}
    )
    assert stripe["webhook"]["correlation_key"] == "body.id" and "new_secret" not in stripe["webhook"]
    bad = acme.api.post(
        acme.triggers(flow["id"]), {"kind": "webhook", "webhook": {"secret": "not-a-whsec"}}, token=acme.token
    )
    assert bad.status == 422 and bad.body["error"]["details"][0]["path"] == "/webhook/secret"


def test_webhook_path_is_unique_per_workspace(acme):
    flow = acme.make_flow()
    acme.make_trigger(flow["id"], webhook={"path": "orders-in"})
    clash = acme.api.post(
        acme.triggers(flow["id"]), {"kind": "webhook", "webhook": {"path": "orders-in"}}, token=acme.token
    )
    assert clash.status == 409 and clash.error_code == "webhook_path_taken"
    acme.make_trigger(flow["id"], webhook={"path": "orders-in-2"})
    bad = acme.api.post(
        acme.triggers(flow["id"]), {"kind": "webhook", "webhook": {"path": "../x"}}, token=acme.token
    )
    assert bad.status == 422


def test_cron_trigger_validates_schedule_and_shows_next_fire_at(acme, clock):
    flow = acme.make_flow()
    invalid = acme.api.post(
        acme.triggers(flow["id"]),
        {"kind": "cron", "schedule": {"cron": "61 * * * *", "timezone": "Mars/Olympus"}},
        token=acme.token,
    )
    assert invalid.status == 422
    assert {d["path"] for d in invalid.body["error"]["details"]} == {"/schedule/cron", "/schedule/timezone"}
    missing = acme.api.post(acme.triggers(flow["id"]), {"kind": "cron"}, token=acme.token)
    assert missing.status == 422 and missing.body["error"]["details"][0]["path"] == "/schedule"
    wrong = acme.api.post(
        acme.triggers(flow["id"]), {"kind": "manual", "schedule": {"cron": "* * * * *"}}, token=acme.token
    )
    assert wrong.status == 422
    created = acme.make_trigger(
        flow["id"], kind="cron", schedule={"cron": "0 9 * * *", "timezone": "Europe/Berlin"}
    )
    # 10:00 UTC is 11:00 in Berlin: the next 09:00 Berlin is tomorrow 08:00 UTC
    assert created["schedule"]["next_fire_at"] == "2026-11-23T08:00:00Z"
    shown = acme.api.get(f"{acme.triggers(flow['id'])}/{created['id']}", token=acme.token).body
    assert shown["schedule"]["upcoming"][:2] == ["2026-11-23T08:00:00Z", "2026-11-24T08:00:00Z"]


def test_cron_preview_answers_the_fire_times_the_scheduler_uses(acme, clock):
    preview = acme.api.get("/api/cron-preview?cron=0%209%20*%20*%20*&timezone=Europe/Berlin&count=3",
                           token=acme.viewer)
    assert preview.status == 200
    assert preview.body == {"cron": "0 9 * * *", "timezone": "Europe/Berlin",
                            "upcoming": ["2026-11-23T08:00:00Z", "2026-11-24T08:00:00Z", "2026-11-25T08:00:00Z"]}
    assert len(acme.api.get("/api/cron-preview?cron=@hourly", token=acme.viewer).body["upcoming"]) == 5
    invalid = acme.api.get("/api/cron-preview?cron=61%20*%20*%20*%20*&timezone=Mars/Olympus", token=acme.viewer)
    assert invalid.status == 422
    assert {d["path"] for d in invalid.body["error"]["details"]} == {"/cron", "/timezone"}
    assert acme.api.get("/api/cron-preview", token=acme.viewer).status == 400
    assert acme.api.get("/api/cron-preview?cron=@daily&count=500", token=acme.viewer).status == 400
    assert acme.api.get("/api/cron-preview?cron=@daily").status == 401


def test_patch_activate_deactivate_and_lists(acme, clock):
    flow = acme.make_flow()
    cron = acme.make_trigger(flow["id"], kind="cron", schedule={"cron": "*/15 * * * *"})
    one = f"{acme.triggers(flow['id'])}/{cron['id']}"
    off = acme.api.post(one + "/deactivate", {}, token=acme.token)
    assert off.status == 200 and off.body["enabled"] is False and off.body["schedule"]["next_fire_at"] is None
    clock.set(T0 + dt.timedelta(minutes=7))
    on = acme.api.post(one + "/activate", {}, token=acme.token)
    assert on.body["enabled"] is True and on.body["schedule"]["next_fire_at"] == "2026-11-22T10:15:00Z"
    changed = acme.api.patch(
        one, {"name": "quarterly", "schedule": {"cron": "0 * * * *"}, "input": {"a": 1}}, token=acme.token
    )
    assert changed.status == 200, changed.body
    assert changed.body["name"] == "quarterly" and changed.body["input"] == {"a": 1}
    assert changed.body["schedule"]["next_fire_at"] == "2026-11-22T11:00:00Z"
    kind_change = acme.api.patch(one, {"webhook": {"path": "x"}}, token=acme.token)
    assert kind_change.status == 422
    listed = acme.api.get(acme.triggers(flow["id"]) + "?kind=cron", token=acme.viewer)
    assert [t["id"] for t in listed.body["items"]] == [cron["id"]]
    everywhere = acme.api.get(f"/api/workspaces/{acme.ws}/triggers?flow_id={flow['id']}", token=acme.viewer)
    assert [t["id"] for t in everywhere.body["items"]] == [cron["id"]]


def test_viewer_cannot_change_and_other_flow_ids_are_not_found(acme):
    flow, other = acme.make_flow(), acme.make_flow()
    created = acme.make_trigger(flow["id"], kind="manual")
    denied = acme.api.post(acme.triggers(flow["id"]), {"kind": "manual"}, token=acme.viewer)
    assert denied.status == 403
    # the trigger exists, but not under another flow of the same workspace
    wrong_flow = acme.api.get(f"{acme.triggers(other['id'])}/{created['id']}", token=acme.token)
    assert wrong_flow.status == 404
    gone = acme.api.delete(f"{acme.triggers(flow['id'])}/{created['id']}", token=acme.token)
    assert gone.status == 204
    assert acme.api.get(f"{acme.triggers(flow['id'])}/{created['id']}", token=acme.token).status == 404


def test_rotate_secret_returns_new_secret_once_and_keeps_the_old_for_the_overlap(acme, clock):
    flow = acme.make_flow()
    created = acme.make_trigger(flow["id"])
    one = f"{acme.triggers(flow['id'])}/{created['id']}"
    rotated = acme.api.post(one + "/rotate-secret", {"overlap_seconds": 600}, token=acme.token)
    assert rotated.status == 200, rotated.body
    new = rotated.body["webhook"]["new_secret"]
    assert new != created["webhook"]["new_secret"] and new.startswith("whsec_")
    assert rotated.body["webhook"]["previous_secret_expires_at"] == "2026-11-22T10:10:00Z"
    assert "new_secret" not in acme.api.get(one, token=acme.token).body["webhook"]
    manual = acme.make_trigger(flow["id"], kind="manual")
    refused = acme.api.post(f"{acme.triggers(flow['id'])}/{manual['id']}/rotate-secret", {}, token=acme.token)
    assert refused.status == 409 and refused.error_code == "not_a_webhook"
