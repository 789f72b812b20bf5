"""A signed webhook whose body breaks the JSON policy is answered 400 and recorded (the sender sees why)."""

from __future__ import annotations

import pytest

from tests.integration.triggers.trigger_support import deliver, delivery_rows


@pytest.mark.parametrize(("raw", "content_type"), [
    (b"[" * 10_000 + b"]" * 10_000, "application/json"),
    (b'{"order": "a\\u0000b"}', "application/json"),
    (b'{"amount": NaN}', "application/json"),
    (b'{"amount": 1e400}', "application/json"),
    (b"plain text with a \x00 inside", "text/plain"),
    (b"a=%00", "application/x-www-form-urlencoded"),
])
def test_a_signed_delivery_with_a_bad_body_is_refused_and_recorded(api, acme, clock, doorbells, raw, content_type):
    # GIVEN a webhook trigger of a production flow
    flow = acme.make_flow()
    trigger = acme.make_trigger(flow["id"])
    secret = trigger["webhook"]["new_secret"]
    # WHEN the sender posts a correctly signed body that breaks the policy
    reply = deliver(api, trigger, raw, secret, extra={"content-type": content_type})
    # THEN a 400 in the error shape, no run, and the delivery is recorded with its outcome
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "malformed_webhook_body"
    assert acme.run_count(flow["id"]) == 0
    rows = delivery_rows(acme.tenant_id, trigger["id"])
    assert [(r["outcome"], r["status_code"]) for r in rows] == [("invalid", 400)]
