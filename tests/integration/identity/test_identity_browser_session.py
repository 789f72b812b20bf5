"""Browser sessions: refresh token in an httpOnly cookie, CSRF on cookie refresh/logout, clear end reasons."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest

from chalicelib.http.session_cookies import csrf_for

COOKIE = {"x-session-transport": "cookie"}


def _set_cookies(reply) -> dict[str, str]:
    raw = reply.headers.get("set-cookie") or reply.headers.get("Set-Cookie") or ""
    return {line.split("=", 1)[0]: line for line in (raw if isinstance(raw, list) else raw.split(", stepline"))}


def _cookie_value(reply, name: str) -> str:
    for line in _set_cookies(reply).values():
        jar: SimpleCookie = SimpleCookie()
        jar.load(line if line.startswith("stepline") else "stepline" + line)
        if name in jar:
            return jar[name].value
    raise AssertionError(f"no {name} cookie in {reply.headers}")


def _attributes(reply, name: str) -> str:
    for line in _set_cookies(reply).values():
        if name in line:
            return line
    raise AssertionError(f"no {name} cookie in {reply.headers}")


def _login(api, email="builder@acme.test", **headers):
    reply = api.post("/auth/login", {"email": email, "password": "stepline-demo-2026"}, headers={**COOKIE, **headers})
    assert reply.status == 200, reply.body
    return reply


def _refresh(api, refresh_token: str, csrf: str | None):
    headers = {"cookie": f"stepline_refresh={refresh_token}", **COOKIE}
    if csrf is not None:
        headers["x-csrf-token"] = csrf
    return api.call("POST", "/auth/refresh", headers=headers)


def test_cookie_login_keeps_the_refresh_token_out_of_the_body_and_out_of_page_scripts(api, seeded):
    # GIVEN a browser asking for the cookie transport WHEN it signs in
    reply = _login(api)
    # THEN the body has the access token but no refresh token
    assert "refresh_token" not in reply.body and reply.body["refresh_token_transport"] == "cookie"
    assert reply.body["access_token"]
    # AND the refresh token sits in an httpOnly, SameSite=Strict cookie scoped to /auth (no Secure over http)
    refresh = _attributes(reply, "stepline_refresh=")
    assert "HttpOnly" in refresh and "SameSite=Strict" in refresh and "Path=/auth" in refresh
    assert "Secure" not in refresh
    # AND the CSRF cookie is readable, derived from the token, and is not the token
    token = _cookie_value(reply, "stepline_refresh")
    csrf = _attributes(reply, "stepline_csrf=")
    assert "HttpOnly" not in csrf and _cookie_value(reply, "stepline_csrf") == csrf_for(token) != token
    assert reply.headers.get("cache-control", reply.headers.get("Cache-Control")) == "no-store"


def test_cookie_is_secure_behind_tls(api, seeded):
    reply = _login(api, **{"x-forwarded-proto": "https"})
    assert "Secure" in _attributes(reply, "stepline_refresh=") and "Secure" in _attributes(reply, "stepline_csrf=")


def test_cookie_refresh_needs_the_matching_csrf_header(api, seeded):
    token = _cookie_value(_login(api), "stepline_refresh")
    # WHEN the cookie comes without the header, or with another session's value
    assert _refresh(api, token, None).error_code == "csrf_failed"
    other = _cookie_value(_login(api, "viewer@acme.test"), "stepline_refresh")
    forged = _refresh(api, token, csrf_for(other))
    assert forged.status == 403 and forged.error_code == "csrf_failed"
    # THEN nothing was spent: the right header still refreshes, and rotates the cookie
    good = _refresh(api, token, csrf_for(token))
    assert good.status == 200, good.body
    assert "refresh_token" not in good.body
    rotated = _cookie_value(good, "stepline_refresh")
    assert rotated != token
    assert api.get("/api/me", token=good.body["access_token"]).status == 200
    assert _refresh(api, rotated, csrf_for(rotated)).status == 200


def _age_rotation(owner_engine, token: str, seconds: int) -> None:
    from sqlalchemy import text

    from chalicelib.identity.opaque_tokens import hash_token

    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.scope', 'system', true)"))
        conn.execute(text("UPDATE sessions SET rotated_at = rotated_at - make_interval(secs => :s) "
                          "WHERE token_hash = :h"), {"s": seconds, "h": hash_token(token)})


def test_a_lost_refresh_answer_is_forgiven_briefly_then_reuse_revokes_the_family(api, seeded, owner_engine):
    # GIVEN a browser whose refresh answer was lost (the page navigated away): it still holds the spent cookie
    token = _cookie_value(_login(api), "stepline_refresh")
    lost = _refresh(api, token, csrf_for(token))
    assert lost.status == 200
    # WHEN it presents the spent cookie within the leeway THEN it gets a session again
    again = _refresh(api, token, csrf_for(token))
    assert again.status == 200, again.body
    current = _cookie_value(again, "stepline_refresh")
    # WHEN the spent cookie comes back after the leeway (a stolen copy) THEN the whole family is revoked
    _age_rotation(owner_engine, token, 31)
    replay = _refresh(api, token, csrf_for(token))
    assert replay.status == 401 and replay.error_code == "refresh_token_reused"
    assert "Max-Age=0" in _attributes(replay, "stepline_refresh=")
    assert _refresh(api, current, csrf_for(current)).status == 401


def test_the_body_transport_gets_no_leeway(api, seeded):
    first = api.login("viewer@acme.test")
    assert api.post("/auth/refresh", {"refresh_token": first["refresh_token"]}).status == 200
    replay = api.post("/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert replay.status == 401 and replay.error_code == "refresh_token_reused"


def test_refresh_without_any_token_is_401(api, seeded):
    reply = api.call("POST", "/auth/refresh", headers=COOKIE)
    assert reply.status == 401 and reply.error_code == "invalid_refresh_token"
    assert api.call("POST", "/auth/refresh", raw=b'{"refresh_token": 5}').status == 422


def test_cookie_logout_needs_csrf_and_clears_the_cookies(api, seeded):
    token = _cookie_value(_login(api), "stepline_refresh")
    cookie = {"cookie": f"stepline_refresh={token}"}
    assert api.call("POST", "/auth/logout", headers=cookie).error_code == "csrf_failed"
    done = api.call("POST", "/auth/logout", headers={**cookie, "x-csrf-token": csrf_for(token)})
    assert done.status == 204
    assert "Max-Age=0" in _attributes(done, "stepline_refresh=") and "Max-Age=0" in _attributes(done, "stepline_csrf=")
    ended = _refresh(api, token, csrf_for(token))
    assert ended.status == 401 and ended.error_code == "session_ended"
    assert ended.body["error"]["message"] == "You signed out of this session."


def test_a_password_change_ends_other_sessions_with_a_clear_reason(api, seeded):
    # GIVEN two browser sessions of one user
    first = _login(api, "admin@beta.test")
    second = _login(api, "admin@beta.test")
    token = _cookie_value(first, "stepline_refresh")
    # WHEN the password is changed from the second
    changed = api.post("/auth/change", {"current_password": "stepline-demo-2026", "new_password": "a-new-password-1"},
                       token=second.body["access_token"], headers=COOKIE)
    assert changed.status == 200 and "refresh_token" not in changed.body
    # THEN the first can no longer refresh, and is told why
    ended = _refresh(api, token, csrf_for(token))
    assert ended.status == 401 and ended.error_code == "session_ended"
    assert "password" in ended.body["error"]["message"]
    # AND the second continues on its new cookie
    fresh = _cookie_value(changed, "stepline_refresh")
    assert _refresh(api, fresh, csrf_for(fresh)).status == 200
    back = api.post("/auth/change", {"current_password": "a-new-password-1", "new_password": "stepline-demo-2026"},
                    token=changed.body["access_token"])
    assert back.status == 200


@pytest.mark.resets_platform
def test_a_platform_reset_ends_browser_sessions_with_a_clear_reason(api, tokens):
    from chalicelib.config import get_settings

    token = _cookie_value(_login(api, "viewer@beta.test"), "stepline_refresh")
    assert api.post("/operator/reset", headers={"x-operator-token": get_settings().operator_token}).status == 200
    tokens.clear()
    # (the reset deletes the demo users' sessions outright, so the token is simply unknown now)
    ended = _refresh(api, token, csrf_for(token))
    assert ended.status == 401 and ended.error_code == "invalid_refresh_token"
    assert "sign in again" in ended.body["error"]["message"]
    assert "Max-Age=0" in _attributes(ended, "stepline_refresh=")
