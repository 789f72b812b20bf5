"""The signature suite over HTTP: every scheme, the tolerance edges, rotation, replays, size and parsing.

Deliveries are signed with ``chalicelib.triggers.signing`` (each vendor's
documented construction) or with published vectors written out literally.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from chalicelib.triggers.signatures import generate_secret
from tests.integration.triggers.trigger_support import T0, deliver, delivery_rows, webhook_path

SCHEMES = {
    "standard_webhooks": None,  # generated whsec_ secret
    "github": None,  # generated
    "stripe": "whsec_stripe_test_secret_value_1234",
    "shopify": "shpss_shopify_app_secret_value_987",
    "slack": "8f742231b10e8888abcd99yyyzzz85a5",
}


def _trigger(acme, scheme: str, **webhook):
    flow = acme.make_flow()
    secret = SCHEMES[scheme]
    settings = {"signature_scheme": scheme, **({"secret": secret} if secret else {}), **webhook}
    trigger = acme.make_trigger(flow["id"], webhook=settings)
    return trigger, secret or trigger["webhook"]["new_secret"]


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_each_vendor_preset_starts_a_run_and_a_wrong_secret_does_not(acme, clock, doorbells, scheme):
    # GIVEN a webhook trigger using the vendor's scheme on a workflow in production
    trigger, secret = _trigger(acme, scheme)
    # WHEN a delivery signed as the vendor documents arrives
    good = deliver(acme.api, trigger, {"id": f"evt_{scheme}", "event_id": f"Ev{scheme}", "n": 1}, secret)
    # THEN it answers 202 with the run, which exists and is queued for its first step
    assert good.status == 202, good.body
    assert good.body["status"] == "started" and good.body["run_id"]
    assert acme.run(good.body["run_id"])["status"] == "running"
    assert any(body.get("run_id") == good.body["run_id"] for body, _ in doorbells.sent)
    # AND a delivery signed with another secret is refused and recorded, with no run
    other = generate_secret() if scheme == "standard_webhooks" else secret + "x"
    forged = deliver(acme.api, trigger, {"id": "evt_forged", "event_id": "EvForged"}, other)
    assert forged.status == 401 and forged.error_code == "bad_signature"
    assert [d["outcome"] for d in acme.deliveries(trigger)] == ["bad_signature", "started"]
    assert acme.run_count(trigger["flow_id"]) == 1
    # AND the trigger's diagnostics count both
    shown = acme.api.get(f"{acme.triggers(trigger['flow_id'])}/{trigger['id']}", token=acme.viewer).body
    assert shown["deliveries_24h"] == {"started": 1, "bad_signature": 1} and shown["last_delivery_at"]


@pytest.mark.parametrize("scheme", ["standard_webhooks", "stripe", "slack"])
@pytest.mark.parametrize(("offset", "accepted"), [(-300, True), (300, True), (-301, False), (301, False)])
def test_timestamp_tolerance_is_300_seconds_both_ways_inclusive(
    acme, clock, doorbells, scheme, offset, accepted
):
    trigger, secret = _trigger(acme, scheme)
    reply = deliver(
        acme.api,
        trigger,
        {"id": f"evt_{offset}", "event_id": f"Ev{offset}"},
        secret,
        at=T0 + dt.timedelta(seconds=offset),
    )
    if accepted:
        assert reply.status == 202, reply.body
    else:
        assert reply.status == 401 and reply.error_code == "stale_timestamp"
        assert acme.deliveries(trigger)[0]["outcome"] == "stale_timestamp"
        assert acme.run_count(trigger["flow_id"]) == 0


def test_rotated_secret_keeps_working_for_the_overlap_only(acme, clock, doorbells):
    trigger, old = _trigger(acme, "standard_webhooks")
    one = f"{acme.triggers(trigger['flow_id'])}/{trigger['id']}"
    new = acme.api.post(one + "/rotate-secret", {"overlap_seconds": 600}, token=acme.token).body["webhook"][
        "new_secret"
    ]
    # during the overlap both secrets verify
    clock.set(T0 + dt.timedelta(minutes=5))
    assert deliver(acme.api, trigger, {"n": 1}, old, at=clock.now).status == 202
    assert deliver(acme.api, trigger, {"n": 2}, new, at=clock.now).status == 202
    # after it only the new one does
    clock.set(T0 + dt.timedelta(minutes=11))
    late = deliver(acme.api, trigger, {"n": 3}, old, at=clock.now)
    assert late.status == 401 and late.error_code == "bad_signature"
    assert deliver(acme.api, trigger, {"n": 4}, new, at=clock.now).status == 202


def test_published_vectors_verify_over_http(acme, clock, doorbells):
    # The Standard Webhooks reference libraries' example, as published
    flow = acme.make_flow()
    standard = acme.make_trigger(flow["id"], webhook={"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
    clock.set(dt.datetime.fromtimestamp(1614265330, dt.UTC))
    reply = acme.api.call(
        "POST",
        webhook_path(standard),
        raw=b'{"test": 2432232314}',
        headers={
            "content-type": "application/json",
            "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "webhook-timestamp": "1614265330",
            "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        },
    )
    assert reply.status == 202, reply.body
    # GitHub's "validating webhook deliveries" example (a text body)
    github = acme.make_trigger(
        flow["id"], webhook={"signature_scheme": "github", "secret": "It's a Secret to Everybody"}
    )
    reply = acme.api.call(
        "POST",
        webhook_path(github),
        raw=b"Hello, World!",
        headers={
            "content-type": "text/plain",
            "x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        },
    )
    assert reply.status == 202, reply.body
    assert acme.run(reply.body["run_id"])["input"]["body"] == "Hello, World!"


def test_replayed_delivery_id_is_a_duplicate_with_the_original_run(acme, clock, doorbells):
    trigger, secret = _trigger(acme, "standard_webhooks")
    first = deliver(acme.api, trigger, {"order": 7}, secret, delivery_id="msg_replayed")
    again = deliver(
        acme.api, trigger, {"order": 7}, secret, delivery_id="msg_replayed", at=T0 + dt.timedelta(seconds=30)
    )
    assert first.status == 202 and again.status == 200
    assert again.body["status"] == "duplicate" and again.body["run_id"] == first.body["run_id"]
    assert again.body["duplicate_of"] == first.body["delivery_id"]
    assert acme.run_count(trigger["flow_id"]) == 1
    assert [d["outcome"] for d in acme.deliveries(trigger)] == ["duplicate", "started"]


def test_correlation_key_dedupes_retries_that_carry_new_delivery_ids(acme, clock, doorbells):
    # Stripe sends no delivery-id header; the trigger dedupes on body.id by default
    trigger, secret = _trigger(acme, "stripe")
    first = deliver(acme.api, trigger, {"id": "evt_1", "attempt": 1}, secret)
    retry = deliver(acme.api, trigger, {"id": "evt_1", "attempt": 2}, secret, at=T0 + dt.timedelta(minutes=2))
    other = deliver(acme.api, trigger, {"id": "evt_2"}, secret)
    assert (first.status, retry.status, other.status) == (202, 200, 202)
    assert retry.body["run_id"] == first.body["run_id"]
    assert acme.run_count(trigger["flow_id"]) == 2
    # GitHub signs no timestamp: a replay is caught by its X-GitHub-Delivery id
    hub, hub_secret = _trigger(acme, "github")
    assert deliver(acme.api, hub, {"a": 1}, hub_secret, delivery_id="guid-1").status == 202
    assert deliver(acme.api, hub, {"a": 1}, hub_secret, delivery_id="guid-1").status == 200


def test_missing_headers_oversized_and_malformed_bodies_are_recorded(acme, clock, doorbells, trigger_limits):
    trigger, secret = _trigger(acme, "standard_webhooks")
    unsigned = acme.api.call(
        "POST", webhook_path(trigger), raw=b"{}", headers={"content-type": "application/json"}
    )
    assert unsigned.status == 401 and unsigned.error_code == "invalid_signature_headers"
    trigger_limits.configure(backpressure={"max_webhook_body_bytes": 1024})
    large = deliver(acme.api, trigger, {"blob": "x" * 2000}, secret)
    assert large.status == 413
    malformed = deliver(acme.api, trigger, b'{"not json', secret)
    assert malformed.status == 400 and malformed.error_code == "malformed_webhook_body"
    rows = delivery_rows(acme.tenant_id, trigger["id"])
    assert [(r["outcome"], r["status_code"]) for r in rows] == [
        ("invalid", 401),
        ("too_large", 413),
        ("invalid", 400),
    ]
    assert rows[1]["body_bytes"] > 1024 and acme.run_count(trigger["flow_id"]) == 0


def test_unknown_paths_answer_404_without_revealing_anything(acme, beta, clock):
    trigger, secret = _trigger(acme, "standard_webhooks")
    wrong_ws = f"/webhooks/{beta.ws}/{trigger['webhook']['path']}"
    assert acme.api.call("POST", wrong_ws, raw=b"{}").status == 404
    assert acme.api.call("POST", f"/webhooks/{acme.ws}/nope", raw=b"{}").error_code == "webhook_not_found"
    assert acme.api.call("POST", "/webhooks/not-a-uuid/x", raw=b"{}").status == 404


def test_form_encoded_slack_delivery_reaches_the_run_input_without_signatures(acme, clock, doorbells):
    trigger, secret = _trigger(acme, "slack")
    raw = b"command=%2Fdeploy&text=prod&team_id=T1"
    from chalicelib.triggers.signing import sign_slack

    headers = sign_slack(raw, secret, timestamp=int(T0.timestamp()))
    reply = acme.api.call(
        "POST",
        webhook_path(trigger),
        raw=raw,
        headers={"content-type": "application/x-www-form-urlencoded", **headers},
    )
    assert reply.status == 202, reply.body
    run_input = acme.run(reply.body["run_id"])["input"]
    assert run_input["body"] == {"command": "/deploy", "text": "prod", "team_id": "T1"}
    assert "x-slack-signature" not in run_input["headers"] and secret not in json.dumps(run_input)
