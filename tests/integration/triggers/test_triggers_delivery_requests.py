"""A delivery keeps the request as received (headers and body), masked and bounded, for every outcome.

Read back through ``GET …/triggers/{id}/deliveries/{delivery_id}``; the list stays light.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import pytest

from chalicelib.masking import MASK
from tests.integration.triggers.trigger_support import T0, deliver, webhook_path

SECRET = "whsec_" + base64.b64encode(b"delivery-request-signing-key-0123").decode()
GITHUB_SECRET = "gh-signing-secret-for-deliveries-42"
SIGNATURE_HEADERS = ("webhook-signature", "x-hub-signature-256", "x-hub-signature", "stripe-signature",
                     "x-shopify-hmac-sha256", "x-slack-signature")


def _trigger(acme, *, secret: str = SECRET, scheme: str = "standard_webhooks", **flow_state):
    flow = acme.make_flow(**flow_state)
    return acme.make_trigger(flow["id"], webhook={"signature_scheme": scheme, "secret": secret})


def _one(acme, trigger: dict) -> str:
    return f"{acme.triggers(trigger['flow_id'])}/{trigger['id']}"


def _detail(acme, trigger: dict, delivery_id: str, *, token: str | None = None):
    return acme.api.get(f"{_one(acme, trigger)}/deliveries/{delivery_id}", token=token or acme.token)


def _latest(acme, trigger: dict) -> dict:
    latest = acme.deliveries(trigger)[0]
    reply = _detail(acme, trigger, latest["id"])
    assert reply.status == 200, reply.body
    return reply.body


def _post(acme, trigger: dict, raw: bytes, headers: dict[str, str], *, test: bool = False):
    return acme.api.call("POST", webhook_path(trigger, test=test), raw=raw, headers=headers)


BODY = {"event": "order.paid", "id": "evt_1", "amount": 42}


def _started(acme, trigger):
    return deliver(acme.api, trigger, BODY, SECRET, delivery_id="msg_started")


def _started_on_test_url(acme, trigger):
    return deliver(acme.api, trigger, BODY, SECRET, delivery_id="msg_test", test=True)


def _duplicate(acme, trigger):
    assert deliver(acme.api, trigger, BODY, SECRET, delivery_id="msg_dup").status == 202
    return deliver(acme.api, trigger, BODY, SECRET, delivery_id="msg_dup")


def _bad_signature(acme, trigger):
    return deliver(acme.api, trigger, BODY, SECRET[:-4] + "AAA=")


def _stale(acme, trigger):
    return deliver(acme.api, trigger, BODY, SECRET, at=T0 - dt.timedelta(hours=1))


def _disabled(acme, trigger):
    assert acme.api.post(_one(acme, trigger) + "/deactivate", {}, token=acme.token).status == 200
    return deliver(acme.api, trigger, BODY, SECRET)


def _rate_limited(acme, trigger, limits):
    limits.configure(backpressure={"webhook_rate_limit": {"capacity": 1, "refill_per_second": 0.001}})
    assert deliver(acme.api, trigger, {**BODY, "id": "evt_first"}, SECRET).status == 202
    return deliver(acme.api, trigger, BODY, SECRET)


def _too_large(acme, trigger, limits):
    limits.configure(backpressure={"max_webhook_body_bytes": 1024})
    return deliver(acme.api, trigger, {**BODY, "padding": "x" * 2000}, SECRET)


def _invalid(acme, trigger):
    return deliver(acme.api, trigger, b'{"event": "order.paid", "id": ', SECRET)


OUTCOMES = {
    "started": (_started, 202, "production"),
    "started_test_url": (_started_on_test_url, 202, "test"),
    "duplicate": (_duplicate, 200, "production"),
    "bad_signature": (_bad_signature, 401, "production"),
    "stale_timestamp": (_stale, 401, "production"),
    "disabled": (_disabled, 409, "production"),
    "rate_limited": (_rate_limited, 429, "production"),
    "too_large": (_too_large, 413, "production"),
    "invalid": (_invalid, 400, "production"),
}


@pytest.mark.parametrize("case", list(OUTCOMES))
def test_every_outcome_keeps_the_request_with_its_signature_masked(acme, clock, doorbells, trigger_limits, case):
    # GIVEN a webhook trigger of a workflow in production
    trigger = _trigger(acme)
    send, status, mode = OUTCOMES[case]
    # WHEN a delivery with this outcome arrives
    args = (acme, trigger, trigger_limits) if case in ("rate_limited", "too_large") else (acme, trigger)
    reply = send(*args)
    assert reply.status == status, reply.body
    # THEN its detail shows the request: method, headers (signature masked) and the body
    shown = _latest(acme, trigger)
    assert shown["outcome"] == case.removesuffix("_test_url") and shown["mode"] == mode
    request = shown["request"]
    assert request["method"] == "POST"
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["webhook-signature"] == MASK
    assert request["headers"]["webhook-id"].startswith("msg_")
    assert request["size"] == shown["body_bytes"] > 0
    if case == "invalid":  # kept as text: it does not parse
        assert request["body_encoding"] == "text" and request["body"] == '{"event": "order.paid", "id": '
    else:
        assert request["body_encoding"] == "json" and request["truncated"] is False
        assert json.loads(request["body"])["event"] == "order.paid"
    # AND the signing secret appears nowhere in what the API answers
    assert _no_secret(reply.body, shown, acme.deliveries(trigger), secret=SECRET)


def _no_secret(*answers, secret: str) -> bool:
    text = json.dumps(answers, ensure_ascii=False)
    key = secret.removeprefix("whsec_")
    forms = {secret, key, base64.b64encode(secret.encode()).decode(), secret[-8:], key[:8]}
    return not any(form in text for form in forms)


def test_the_list_stays_light(acme, clock, doorbells):
    trigger = _trigger(acme)
    assert _started(acme, trigger).status == 202
    # THEN a page of deliveries carries no request; the detail does
    item = acme.deliveries(trigger)[0]
    assert "request" not in item and "request_body" not in item
    assert _detail(acme, trigger, item["id"]).body["request"]["body"]


def test_every_credential_and_signature_header_is_masked(acme, clock, doorbells):
    trigger = _trigger(acme)
    credentials = {
        "authorization": "Bearer sk_live_authorization_value_0001",
        "proxy-authorization": "Basic cHJveHktdXNlcjpwcm94eS1wYXNzd29yZA==",
        "cookie": "session=cookie_value_0002; theme=dark",
        "set-cookie": "id=set_cookie_value_0003",
        "x-api-key": "api_key_value_0004",
        "api-key": "api_key_value_0005",
        "x-auth-token": "auth_token_value_0006",
        "x-webhook-secret": "webhook_secret_value_0007",
        **{name: f"signature_value_{i:04d}" for i, name in enumerate(SIGNATURE_HEADERS[1:], start=8)},
    }
    # WHEN a signed delivery carries them all (and an ordinary header)
    reply = deliver(acme.api, trigger, BODY, SECRET, extra={**credentials, "x-request-source": "billing"})
    assert reply.status == 202, reply.body
    shown = _latest(acme, trigger)
    headers = shown["request"]["headers"]
    # THEN each is shown masked, "Bearer"/"Basic" kept for readability, and no value appears anywhere
    for name in credentials:
        assert headers[name] in (MASK, f"Bearer {MASK}", f"Basic {MASK}"), (name, headers[name])
    assert headers["authorization"] == f"Bearer {MASK}" and headers["webhook-signature"] == MASK
    assert headers["x-request-source"] == "billing"
    text = json.dumps(shown)
    for value in credentials.values():
        assert value.split(" ")[-1] not in text
    assert "cookie_value_0002" not in text and "theme=dark" not in text


def test_secret_looking_json_keys_are_masked_and_the_rest_kept(acme, clock, doorbells):
    trigger = _trigger(acme)
    body = {
        "event": "user.created",
        "user": {"email": "a@example.com", "password": "hunter2-password",
                 "credentials": {"api_key": "body_api_key_123456789", "client_secret": "body_client_secret_1"}},
        "token": "body_token_abcdefghijkl",
        "Authorization": "Bearer body_bearer_value_99",
        "items": [{"secret": "list_secret_value_77", "sku": "A-1"}],
        "note": f"the sender echoed {SECRET} by mistake",
    }
    assert deliver(acme.api, trigger, body, SECRET).status == 202
    request = _latest(acme, trigger)["request"]
    # THEN the body is JSON again, each secret-looking value masked, everything else as sent
    assert request["body_encoding"] == "json"
    kept = json.loads(request["body"])
    assert kept["event"] == "user.created" and kept["user"]["email"] == "a@example.com"
    assert kept["user"]["password"] == MASK and kept["token"] == MASK and kept["Authorization"] == MASK
    assert kept["user"]["credentials"] == MASK or kept["user"]["credentials"]["api_key"] == MASK
    assert kept["items"] == [{"secret": MASK, "sku": "A-1"}]
    assert kept["note"] == f"the sender echoed {MASK} by mistake"
    for secret in ("hunter2", "body_api_key", "body_client_secret", "body_token", "body_bearer", "list_secret"):
        assert secret not in request["body"]


def test_form_and_text_bodies_mask_secret_fields(acme, clock, doorbells):
    trigger = _trigger(acme)
    form = b"user=ann&password=form_password_1&api_key=form_api_key_22&note=hello"
    assert deliver(acme.api, trigger, form, SECRET,
                   extra={"content-type": "application/x-www-form-urlencoded"}).status == 202
    request = _latest(acme, trigger)["request"]
    assert request["body_encoding"] == "text"
    assert request["body"] == f"user=ann&password={MASK}&api_key={MASK}&note=hello"
    text = b"token=plain_token_value_3 and a line about nothing"
    assert deliver(acme.api, trigger, text, SECRET, extra={"content-type": "text/plain"}).status == 202
    assert _latest(acme, trigger)["request"]["body"] == f"token={MASK} and a line about nothing"


def test_the_signing_secret_never_appears_in_any_answer(acme, clock, doorbells):
    # GIVEN a trigger whose sender puts the signing secret everywhere it should not
    trigger = _trigger(acme, secret=GITHUB_SECRET, scheme="github")
    leaky = {"echo": GITHUB_SECRET, "b64": base64.b64encode(GITHUB_SECRET.encode()).decode(),
             GITHUB_SECRET: "as a key", "upper": GITHUB_SECRET.upper()}
    extra = {"x-echo": f"prefix {GITHUB_SECRET} suffix", "x-github-event": "push"}
    replies = [
        deliver(acme.api, trigger, leaky, GITHUB_SECRET, extra=extra),  # started
        deliver(acme.api, trigger, leaky, GITHUB_SECRET + "x", extra=extra),  # bad signature
        deliver(acme.api, trigger, json.dumps(leaky).encode(), GITHUB_SECRET,
                extra={**extra, "content-type": "text/plain"}),  # started, text
        deliver(acme.api, trigger, b"{" + GITHUB_SECRET.encode(), GITHUB_SECRET, extra=extra),  # invalid
    ]
    assert [r.status for r in replies] == [202, 401, 202, 400]
    # WHEN every answer about the trigger and its deliveries is read, by a builder and a viewer
    one = _one(acme, trigger)
    answers = [r.body for r in replies]
    for token in (acme.token, acme.viewer):
        listed = acme.api.get(one + "/deliveries", token=token)
        answers += [listed.body, acme.api.get(one, token=token).body]
        for item in listed.body["items"]:
            detail = _detail(acme, trigger, item["id"], token=token)
            assert detail.status == 200 and detail.body["request"]["headers"]["x-hub-signature-256"] == MASK
            answers.append(detail.body)
    # THEN no form of the secret is anywhere in them
    text = json.dumps(answers, ensure_ascii=False)
    for form in (GITHUB_SECRET, GITHUB_SECRET.upper(), base64.b64encode(GITHUB_SECRET.encode()).decode(),
                 GITHUB_SECRET[:12], GITHUB_SECRET[-12:]):
        assert form not in text
    assert "prefix " + MASK + " suffix" in text


def test_a_large_body_is_cut_at_64_kib_after_masking(acme, clock, doorbells):
    trigger = _trigger(acme)
    body = {"password": "large_body_password", "rows": ["é" * 50 for _ in range(3000)], "tail": "end"}
    raw = json.dumps(body, ensure_ascii=False).encode()
    assert len(raw) > 64 * 1024
    assert deliver(acme.api, trigger, raw, SECRET).status == 202
    shown = _latest(acme, trigger)
    request = shown["request"]
    # THEN it is cut at the bound (no broken character), marked truncated, with the size as received
    assert request["truncated"] is True and request["body_encoding"] == "text"
    assert request["size"] == len(raw) == shown["body_bytes"]
    assert 64 * 1024 - 4 < len(request["body"].encode()) <= 64 * 1024
    assert request["body"].startswith('{"password":"' + MASK + '"') and "large_body_password" not in request["body"]
    assert '"tail"' not in request["body"]


def test_a_binary_body_keeps_only_its_size(acme, clock, doorbells):
    trigger = _trigger(acme)
    # WHEN a signed body that is not UTF-8 text arrives (it is refused: the webhook cannot parse it)
    raw = bytes(range(256)) * 4
    reply = deliver(acme.api, trigger, raw, SECRET, extra={"content-type": "text/plain"})
    assert reply.status == 400 and reply.error_code == "malformed_webhook_body", reply.body
    # THEN only its size is kept
    request = _latest(acme, trigger)["request"]
    assert request == {**request, "body": None, "body_encoding": "binary", "truncated": False, "size": len(raw)}
    assert request["headers"]["content-type"] == "text/plain"


def test_other_ids_answer_404_and_a_viewer_can_read(acme, beta, tokens, clock, doorbells):
    trigger = _trigger(acme)
    assert _started(acme, trigger).status == 202
    delivery_id = acme.deliveries(trigger)[0]["id"]
    # THEN a viewer of the workspace reads it
    assert _detail(acme, trigger, delivery_id, token=acme.viewer).status == 200
    # AND another tenant, another workspace, another trigger or an unknown id answer 404
    assert _detail(acme, trigger, delivery_id, token=beta.token).status == 404
    other_ws = next(ws for name, ws in tokens.ids("acme")["workspaces"].items() if ws != acme.ws)
    wrong_ws = acme.api.get(_one(acme, trigger).replace(acme.ws, other_ws) + f"/deliveries/{delivery_id}",
                            token=acme.token)
    assert wrong_ws.status == 404
    sibling = _trigger(acme)
    assert _detail(acme, sibling, delivery_id).status == 404
    for unknown in (str(uuid.uuid4()), "not-a-uuid"):
        assert _detail(acme, trigger, unknown).status == 404
    # AND the answer is the one error shape
    assert _detail(acme, sibling, delivery_id).body["error"]["code"]


def test_manual_starts_keep_no_request(acme, clock, doorbells):
    flow = acme.make_flow()
    trigger = acme.make_trigger(flow["id"], kind="manual")
    fired = acme.api.post(_one(acme, trigger) + "/fire", {"input": {"password": "x"}}, token=acme.token)
    assert fired.status == 202, fired.body
    assert _latest(acme, trigger)["request"] is None


def test_retention_deletes_deliveries_with_their_requests(acme, clock, doorbells):
    from sqlalchemy import update

    from chalicelib.db.uow import tenant_uow
    from chalicelib.services.triggers import jobs
    from chalicelib.tables.triggers import trigger_deliveries

    trigger = _trigger(acme)
    assert _bad_signature(acme, trigger).status == 401
    delivery_id = acme.deliveries(trigger)[0]["id"]
    with tenant_uow(acme.tenant_id) as uow:
        uow.execute(update(trigger_deliveries).where(trigger_deliveries.c.id == delivery_id)
                    .values(created_at=T0 - dt.timedelta(days=30)))
        uow.commit()
    assert jobs.clean_up(T0) >= 1
    assert _detail(acme, trigger, delivery_id).status == 404


def test_the_request_travels_in_the_one_insert_that_records_the_delivery(acme, clock, doorbells):
    from sqlalchemy import event

    from chalicelib.db.database_engine import get_db_engine

    trigger = _trigger(acme)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, _params, _context, _many):
        statements.append(" ".join(statement.split()))

    # WHEN an accepted delivery is recorded (the hot path)
    event.listen(get_db_engine(), "before_cursor_execute", seen)
    try:
        assert _started(acme, trigger).status == 202
    finally:
        event.remove(get_db_engine(), "before_cursor_execute", seen)
    # THEN one statement writes the delivery, request included, and no other statement touches it
    touching = [s for s in statements if any(f"{verb} trigger_deliveries" in s
                                             for verb in ("INSERT INTO", "UPDATE", "DELETE FROM"))]
    assert len(touching) == 1 and "INSERT INTO trigger_deliveries" in touching[0], touching
    assert "request_headers" in touching[0] and "request_body" in touching[0]
