"""The full OAuth2 dance against loopback fakes: authorize → callback → stored sealed → refresh → failure."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from chalicelib import bootstrap
from tests.fakes.vendors.hubspot import FakeHubSpot
from tests.fakes.vendors.oauth_server import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeOAuthServer
from tests.integration.connectors_api.connector_docs import oauth_document, unique


@pytest.fixture(scope="module")
def hub():
    with FakeHubSpot(tokens=set()) as fake:
        yield fake


@pytest.fixture(scope="module")
def idp(hub):
    with FakeOAuthServer(expires_in=600, on_token_issued=hub.add_token) as fake:
        yield fake


@pytest.fixture
def clock():
    """Moves the connector platform's clock (token expiry decisions) without sleeping."""
    offset = {"delta": timedelta()}
    with bootstrap.replaced(clock=lambda: datetime.now(UTC) + offset["delta"]):
        yield offset


@pytest.fixture(scope="module")
def oauth_app(api, tokens, idp):
    builder = tokens[("acme", "builder")]
    slug = unique("crm")
    doc = oauth_document(slug, authorize_url=idp.authorize_url, token_url=idp.token_url)
    app = api.post(
        "/api/apps",
        {"name": "CRM (OAuth)", "slug": slug, "vendor": "Example", "category": "crm", "definition": doc},
        token=builder,
    )
    assert app.status == 201, app.body
    assert api.post(f"/api/apps/{app.body['id']}/publish", token=builder).status == 200
    return app.body


def _row_text(owner_engine, connection_id: str) -> str:
    with owner_engine.connect() as conn:
        conn.execute(text("SELECT set_config('app.scope', 'system', false)"))
        return conn.execute(
            text("SELECT CAST(c AS text) FROM connections c WHERE id = :id"), {"id": connection_id}
        ).scalar()


def _authorize(api, builder, base: str) -> dict[str, str]:
    """Start, then follow the authorize URL as the browser would; returns the callback's query."""
    started = api.post(f"{base}/oauth/start", token=builder)
    assert started.status == 200, started.body
    url = urllib.parse.urlsplit(started.body["authorize_url"])
    params = dict(urllib.parse.parse_qsl(url.query))
    assert params["code_challenge_method"] == "S256" and params["redirect_uri"].endswith("/oauth/callback")
    assert DEFAULT_CLIENT_SECRET not in started.body["authorize_url"]
    consent = httpx.get(started.body["authorize_url"], follow_redirects=False, trust_env=False)
    assert consent.status_code == 302
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(consent.headers["location"]).query))


def _grants(idp) -> list[str]:
    return [r.form().get("grant_type") for r in idp.requests if r.path == "/token"]


def test_the_full_oauth2_dance(api, builder, ws, oauth_app, idp, hub, clock, owner_engine):
    idp.fail_refresh = None
    # GIVEN a connection holding the OAuth client's credentials, not yet authorized
    created = api.post(
        f"/api/workspaces/{ws}/connections",
        {
            "name": unique("crm"),
            "app_id": oauth_app["id"],
            "settings": {"base_url": hub.base_url},
            "secrets": {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET},
        },
        token=builder,
    )
    assert created.status == 201, created.body
    assert (created.body["status"], created.body["status_detail"]) == ("invalid", "authorization_required")
    base = f"/api/workspaces/{ws}/connections/{created.body['id']}"
    early = api.post(f"{base}/test", token=builder).body
    assert early["ok"] is False and early["error"]["code"] == "authorization_required"

    # WHEN the user consents and the provider redirects back
    callback = _authorize(api, builder, base)
    done = api.get("/oauth/callback?" + urllib.parse.urlencode(callback))
    assert (
        done.status == 200
        and done.body["status"] == "ok"
        and done.body["connection_id"] == created.body["id"]
    )
    assert _grants(idp)[-1] == "authorization_code"
    first_access = idp.access_tokens[-1]

    # THEN the tokens are stored sealed, shown masked
    shown = api.get(base, token=builder).body
    assert shown["status"] == "ok" and shown["token_expires_at"]
    assert shown["credentials"]["access_token"] == "••••" + first_access[-4:]
    stored = _row_text(owner_engine, created.body["id"])
    refresh_token = next(t for t in idp.refresh_tokens)
    for secret in (first_access, refresh_token, DEFAULT_CLIENT_SECRET):
        assert secret not in stored and secret not in str(shown)

    # a call well before expiry uses the token as is
    assert api.post(f"{base}/test", token=builder).body["ok"] is True
    assert (
        _grants(idp)[-1] == "authorization_code"
        and hub.last.headers["authorization"] == f"Bearer {first_access}"
    )

    # WHEN the token is about to expire THEN it is refreshed before the call, and the new one is stored
    clock["delta"] = timedelta(seconds=590)
    near = api.post(f"{base}/test", token=builder).body
    assert near["ok"] is True and _grants(idp)[-1] == "refresh_token"
    second_access = idp.access_tokens[-1]
    assert second_access != first_access and hub.last.headers["authorization"] == f"Bearer {second_access}"
    assert api.get(base, token=builder).body["credentials"]["access_token"].endswith(second_access[-4:])

    # WHEN the provider revokes the token early THEN one refresh on the 401, and the call is repeated
    hub.expire_token(second_access)
    again = api.post(f"{base}/test", token=builder).body
    assert again["ok"] is True and [a["status"] for a in again["attempts"]] == [401, 200]
    assert again["attempts"][1]["after_reauthorization"] is True and _grants(idp)[-1] == "refresh_token"

    # WHEN the provider refuses the refresh token THEN the connection is marked refresh_failed
    idp.fail_refresh = "invalid_grant"
    clock["delta"] = timedelta(seconds=1190)
    failed = api.post(f"{base}/test", token=builder).body
    assert failed["ok"] is False and failed["error"]["code"] == "oauth2_refresh_failed"
    shown = api.get(base, token=builder).body
    assert (shown["status"], shown["status_detail"]) == ("refresh_failed", "oauth2_refresh_failed")
    idp.fail_refresh = None


def test_the_callback_trusts_only_a_valid_signed_state(api, builder, ws, oauth_app, hub):
    created = api.post(
        f"/api/workspaces/{ws}/connections",
        {
            "name": unique("crm"),
            "app_id": oauth_app["id"],
            "settings": {"base_url": hub.base_url},
            "secrets": {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET},
        },
        token=builder,
    ).body
    base = f"/api/workspaces/{ws}/connections/{created['id']}"
    callback = _authorize(api, builder, base)
    forged = dict(
        callback, state=callback["state"][:-2] + ("AA" if not callback["state"].endswith("AA") else "BB")
    )
    refused = api.get("/oauth/callback?" + urllib.parse.urlencode(forged))
    assert refused.status == 400 and refused.error_code == "oauth2_invalid"
    assert api.get("/oauth/callback?code=abc").status == 400
    denied = api.get(
        "/oauth/callback?" + urllib.parse.urlencode({"state": callback["state"], "error": "access_denied"})
    )
    assert denied.status == 400 and denied.error_code == "oauth2_invalid"
    assert api.get(base, token=builder).body["status_detail"] == "authorization_denied:access_denied"
    # a connection without OAuth2 cannot start one
    plain = api.post(
        f"/api/workspaces/{ws}/connections",
        {"name": unique("slack"), "app_id": "builtin:slack", "secrets": {"token": "xoxb-some-token-000"}},
        token=builder,
    ).body
    assert (
        api.post(f"/api/workspaces/{ws}/connections/{plain['id']}/oauth/start", token=builder).error_code
        == "not_oauth2"
    )


def test_concurrent_calls_near_expiry_refresh_once(api, builder, ws, oauth_app, idp, hub, clock, tokens):
    """Two steps racing on an expiring token: the row lock makes one refresh; the other uses its result."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.services.connectors import engine_bridge

    idp.fail_refresh = None
    created = api.post(
        f"/api/workspaces/{ws}/connections",
        {
            "name": unique("crm"),
            "app_id": oauth_app["id"],
            "settings": {"base_url": hub.base_url},
            "secrets": {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET},
        },
        token=builder,
    ).body
    callback = _authorize(api, builder, f"/api/workspaces/{ws}/connections/{created['id']}")
    assert api.get("/oauth/callback?" + urllib.parse.urlencode(callback)).status == 200
    tenant = tokens.ids("acme")["tenant_id"]
    action = api.get(f"/api/apps/{oauth_app['id']}", token=builder).body["latest_version_id"]
    details = api.get(f"/api/apps/{oauth_app['id']}/versions/{action}/actions", token=builder).body["items"]
    ref = next(a["id"] for a in details if a["key"] == "get_account_details")
    refreshes_before = _grants(idp).count("refresh_token")
    clock["delta"] = timedelta(seconds=590)
    start = threading.Barrier(2, timeout=10)

    def slow_issue(token: str) -> None:  # widen the window in which a second refresh could slip in
        hub.add_token(token)
        time.sleep(0.3)

    def run(_: int) -> dict:
        start.wait()
        creds = engine_bridge.resolve_credentials(tenant, ws, created["id"], ref)
        return engine_bridge.invoke_action(tenant, ws, ref, {}, creds, None)

    idp.on_token_issued = slow_issue
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(run, range(2)))
    finally:
        idp.on_token_issued = hub.add_token
    # THEN both calls succeed and the provider saw exactly one refresh (a second would reuse a rotated token)
    assert all(r["portalId"] == 62515 for r in results)
    assert _grants(idp).count("refresh_token") == refreshes_before + 1


def test_a_browser_returning_from_the_provider_lands_on_the_console(api, builder, ws, oauth_app, idp, hub):
    # GIVEN a connection waiting for the user's consent
    created = api.post(
        f"/api/workspaces/{ws}/connections",
        {
            "name": unique("crm"),
            "app_id": oauth_app["id"],
            "settings": {"base_url": hub.base_url},
            "secrets": {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET},
        },
        token=builder,
    ).body
    base = f"/api/workspaces/{ws}/connections/{created['id']}"
    callback = _authorize(api, builder, base)
    html = {"accept": "text/html,application/xhtml+xml"}
    # WHEN the browser follows the provider's redirect THEN it is sent to the console's connections page
    done = api.get("/oauth/callback?" + urllib.parse.urlencode(callback), headers=html)
    assert done.status == 303
    location = urllib.parse.urlsplit(done.headers["Location"])
    assert location.path == "/connections" and not location.netloc
    assert dict(urllib.parse.parse_qsl(location.query)) == {
        "oauth": "connected", "connection_id": created["id"], "workspace_id": ws}
    assert api.get(base, token=builder).body["status"] == "ok"
    # AND a refused authorization lands there too, with the API's code and message (no secret, no code)
    replay = api.get("/oauth/callback?" + urllib.parse.urlencode(callback), headers=html)
    assert replay.status == 303
    failed = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(replay.headers["Location"]).query))
    assert failed["oauth"] == "failed" and failed["code"] and failed["message"]
    assert callback["code"] not in replay.headers["Location"]
    assert DEFAULT_CLIENT_SECRET not in replay.headers["Location"]


@pytest.fixture
def console_redirect(monkeypatch):
    """An operator-allowed redirect URI (e.g. a console page that forwards code and state)."""
    from chalicelib.config import get_settings

    uri = "http://127.0.0.1:3000/connections/oauth"
    monkeypatch.setattr(get_settings(), "oauth_redirect_uris", f"https://elsewhere.example/cb, {uri}")
    return uri


def test_a_redirect_uri_is_used_only_from_the_allowed_list(api, builder, ws, oauth_app, idp, hub, console_redirect):
    idp.fail_refresh = None
    created = api.post(
        f"/api/workspaces/{ws}/connections",
        {"name": unique("crm"), "app_id": oauth_app["id"], "settings": {"base_url": hub.base_url},
         "secrets": {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}},
        token=builder,
    )
    base = f"/api/workspaces/{ws}/connections/{created.body['id']}"
    # GIVEN a redirect URI nobody allowed THEN it is refused, not silently replaced
    refused = api.post(f"{base}/oauth/start", {"redirect_uri": "https://attacker.example/steal"}, token=builder)
    assert refused.status == 422 and refused.error_code == "redirect_uri_not_allowed", refused.body
    # WHEN an allowed one is asked for THEN the provider gets it, and the code is exchanged with the same one
    started = api.post(f"{base}/oauth/start", {"redirect_uri": console_redirect}, token=builder)
    assert started.status == 200 and started.body["redirect_uri"] == console_redirect, started.body
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(started.body["authorize_url"]).query))
    assert params["redirect_uri"] == console_redirect
    consent = httpx.get(started.body["authorize_url"], follow_redirects=False, trust_env=False)
    callback = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(consent.headers["location"]).query))
    done = api.get("/oauth/callback?" + urllib.parse.urlencode(callback))
    assert done.status == 200 and done.body["status"] == "ok", done.body
    exchange = [r.form() for r in idp.requests if r.path == "/token"][-1]
    assert exchange["grant_type"] == "authorization_code" and exchange["redirect_uri"] == console_redirect


def test_links_follow_the_port_of_the_local_stack(monkeypatch):
    from chalicelib.config import load_settings

    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8400")
    assert load_settings().public_base_url == "http://127.0.0.1:8400"
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://stepline.example.com")
    assert load_settings().public_base_url == "https://stepline.example.com"
