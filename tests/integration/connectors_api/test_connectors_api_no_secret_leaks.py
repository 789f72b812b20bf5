"""No secret reaches a log record, the console or an API answer: connections, OAuth2, action tests.

Everything runs with logging at DEBUG (the platform's own loggers included),
every API answer is recorded, and at the end each known secret — raw,
URL-encoded and base64 — is looked for in all of it, as is any KMS data key.
"""

from __future__ import annotations

import base64
import logging
import urllib.parse
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from chalicelib import bootstrap
from tests.fakes.vendors.httpbin import FakeHttpBin
from tests.fakes.vendors.hubspot import FakeHubSpot
from tests.fakes.vendors.oauth_server import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeOAuthServer
from tests.fakes.vendors.slack import DEFAULT_TOKEN, FakeSlack
from tests.integration.connectors_api.connector_docs import (
    app_fields,
    oauth_document,
    orders_document,
    unique,
)
from tests.support.api import Api, Reply

WRONG_TOKEN = "xoxb-wrong-9999-8888-leak-probe"
API_KEY = "orders-leak-probe-key-0123456789"


class RecordingApi(Api):
    """The same client, keeping every answer."""

    def __init__(self, api: Api) -> None:
        super().__init__(api.client)
        self.replies: list[Reply] = []

    def call(self, *args, **kwargs) -> Reply:
        reply = super().call(*args, **kwargs)
        self.replies.append(reply)
        return reply


def _variants(secret: str) -> set[str]:
    raw = secret.encode()
    return {
        secret,
        urllib.parse.quote(secret, safe=""),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.b64encode(raw + b":").decode()[:-4],
    }


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="stepline")
    return caplog


def test_no_secret_in_logs_or_answers(api, tokens, debug_logs, capfd):
    rec = RecordingApi(api)
    builder = tokens[("acme", "builder")]
    admin = tokens[("acme", "admin")]
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    secrets = {DEFAULT_TOKEN, WRONG_TOKEN, API_KEY, DEFAULT_CLIENT_SECRET}
    with (
        FakeSlack() as slack,
        FakeHttpBin() as httpbin,
        FakeHubSpot(tokens=set()) as hub,
        FakeOAuthServer(expires_in=600, on_token_issued=hub.add_token) as idp,
    ):
        # --- connections: create, read, list, fail, rotate, test, change settings -------------------------
        conns = f"/api/workspaces/{ws}/connections"
        conn = rec.post(
            conns,
            {
                "name": unique("slack"),
                "app_id": "builtin:slack",
                "settings": {"base_url": slack.base_url},
                "secrets": {"token": WRONG_TOKEN},
            },
            token=builder,
        ).body
        base = f"{conns}/{conn['id']}"
        rec.get(base, token=builder)
        rec.get(conns, token=builder)
        assert rec.post(f"{base}/test", token=builder).body["ok"] is False
        rec.post(f"{base}/rotate", {"secrets": {"token": DEFAULT_TOKEN}}, token=builder)
        assert rec.post(f"{base}/test", token=builder).body["ok"] is True
        rec.patch(base, {"settings": {"base_url": slack.base_url + "/"}}, token=builder)
        rec.patch(
            base,
            {"settings": {"base_url": slack.base_url}, "secrets": {"token": DEFAULT_TOKEN}},
            token=builder,
        )
        rec.post(
            conns,
            {"name": unique("bad"), "app_id": "builtin:slack", "secrets": {"token": "xoxb-"}},
            token=builder,
        )

        # --- action tests: success, remote failure, echoed key, bad input --------------------------------
        rec.post("/api/actions/builtin:slack:post_message/test", {"connection_id": conn["id"]}, token=builder)
        rec.post(
            "/api/actions/builtin:slack:post_message/test",
            {"connection_id": conn["id"], "input": {"body": {"channel": "C404", "text": "x"}}},
            token=builder,
        )
        slug = unique("orders")
        app = rec.post(
            "/api/apps", {**app_fields(slug), "definition": orders_document(slug)}, token=builder
        ).body
        orders = rec.post(
            conns,
            {
                "name": unique("orders"),
                "app_id": app["id"],
                "settings": {"base_url": httpbin.base_url},
                "secrets": {"api_key": API_KEY},
            },
            token=builder,
        ).body
        actions = rec.get(
            f"/api/apps/{app['id']}/versions/{app['draft_version_id']}/actions", token=builder
        ).body
        for action in actions["items"]:
            assert (
                rec.post(
                    f"/api/actions/{action['id']}/test", {"connection_id": orders["id"]}, token=builder
                ).body["ok"]
                is True
            )
        rec.post(
            f"/api/actions/{actions['items'][1]['id']}/test",
            {"connection_id": orders["id"], "input": {"body": {"sku": API_KEY}}},
            token=builder,
        )

        # --- OAuth2: start, callback, refresh before expiry, refresh on 401, refused refresh -------------
        crm_slug = unique("crm")
        crm = rec.post(
            "/api/apps",
            {
                "name": "CRM",
                "slug": crm_slug,
                "vendor": "Example",
                "category": "crm",
                "definition": oauth_document(
                    crm_slug, authorize_url=idp.authorize_url, token_url=idp.token_url
                ),
            },
            token=builder,
        ).body
        rec.post(f"/api/apps/{crm['id']}/publish", token=builder)
        oauth_conn = rec.post(
            conns,
            {
                "name": unique("crm"),
                "app_id": crm["id"],
                "settings": {"base_url": hub.base_url},
                "secrets": {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET},
            },
            token=builder,
        ).body
        obase = f"{conns}/{oauth_conn['id']}"
        started = rec.post(f"{obase}/oauth/start", token=builder).body
        consent = httpx.get(started["authorize_url"], follow_redirects=False, trust_env=False)
        callback = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(consent.headers["location"]).query))
        secrets.add(callback["code"])
        assert rec.get("/oauth/callback?" + urllib.parse.urlencode(callback)).status == 200
        with bootstrap.replaced(clock=lambda: datetime.now(UTC) + timedelta(seconds=590)):
            assert rec.post(f"{obase}/test", token=builder).body["ok"] is True
            hub.expire_token(idp.access_tokens[-1])
            assert rec.post(f"{obase}/test", token=builder).body["ok"] is True
        idp.fail_refresh = "invalid_grant"
        with bootstrap.replaced(clock=lambda: datetime.now(UTC) + timedelta(seconds=1190)):
            assert rec.post(f"{obase}/test", token=builder).body["ok"] is False
        rec.get(obase, token=builder)
        rec.get("/api/audit?target_type=connection", token=admin)
        secrets |= set(idp.access_tokens) | {
            r.form().get("refresh_token") for r in idp.requests if r.form().get("refresh_token")
        }
        secrets |= {r.form().get("code_verifier") for r in idp.requests if r.form().get("code_verifier")}

    # THEN none of them, in any encoding, appears anywhere
    assert len(secrets) >= 9 and len(rec.replies) >= 25 and len(debug_logs.records) >= 30
    haystacks = [str(r.body) + str(r.headers) for r in rec.replies]
    haystacks += [r.getMessage() + str(r.__dict__) for r in debug_logs.records]
    out, err = capfd.readouterr()
    haystacks += [out, err]
    leaks = sorted(
        {
            variant[:12] + "…"
            for secret in secrets
            for variant in _variants(secret)
            if len(variant) >= 8
            for hay in haystacks
            if variant in hay
        }
    )
    assert leaks == []
    # nor any data key: KMS answers carry them as "Plaintext", and AWS SDK debug logs would print them
    assert not [hay for hay in haystacks if '"Plaintext"' in hay or "'Plaintext'" in hay]
