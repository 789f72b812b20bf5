"""Login, me, refresh rotation and reuse detection, logout."""


def test_login_me_and_error_shapes(api, tokens):
    me = api.get("/api/me", token=tokens[("acme", "builder")])
    assert me.status == 200, me.body
    assert me.body["role"] == "builder" and me.body["tenant"]["slug"] == "acme"
    assert [w["name"] for w in me.body["workspaces"]] == ["Operations"]  # only their workspace
    no_token = api.get("/api/me")
    assert no_token.status == 401 and no_token.error_code == "unauthenticated"
    bad = api.post("/auth/login", {"email": "owner@acme.test", "password": "wrong-password"})
    assert bad.status == 401 and bad.error_code == "invalid_credentials"
    unknown = api.post("/auth/login", {"email": "nobody@acme.test", "password": "wrong-password"})
    assert unknown.status == 401 and unknown.body["error"]["message"] == bad.body["error"]["message"]
    malformed = api.call("POST", "/auth/login", raw=b"{nope")
    assert malformed.status == 400 and malformed.error_code == "malformed_json"
    invalid = api.post("/auth/login", {"email": "x"})
    assert invalid.status == 422 and invalid.body["error"]["details"][0]["path"] in ("/email", "/password")


def test_refresh_rotates_and_reuse_revokes_the_family(api, seeded):
    first = api.login("admin@beta.test")
    second = api.post("/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert second.status == 200 and second.body["refresh_token"] != first["refresh_token"]
    assert api.get("/api/me", token=second.body["access_token"]).status == 200
    # GIVEN the first refresh token was already spent WHEN it is replayed
    replay = api.post("/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert replay.status == 401 and replay.error_code == "refresh_token_reused"
    # THEN the whole family is revoked: the newest refresh token and its access token no longer work
    assert api.post("/auth/refresh", {"refresh_token": second.body["refresh_token"]}).status == 401
    assert api.get("/api/me", token=second.body["access_token"]).status == 401


def test_logout_revokes_access_and_refresh(api, seeded):
    session = api.login("viewer@beta.test")
    assert api.post("/auth/logout", token=session["access_token"]).status == 204
    assert api.get("/api/me", token=session["access_token"]).status == 401
    assert api.post("/auth/refresh", {"refresh_token": session["refresh_token"]}).status == 401


def test_login_is_throttled_per_account(api, seeded):
    for _ in range(5):
        assert api.post("/auth/login", {"email": "throttle@nowhere.test", "password": "bad-password"}).status == 401
    locked = api.post("/auth/login", {"email": "throttle@nowhere.test", "password": "bad-password"})
    assert locked.status == 429 and int(locked.headers["Retry-After"]) > 0


def test_api_token_acts_with_its_role_and_is_shown_once(api, tokens):
    created = api.post("/api/api-tokens", {"name": "ci", "role": "viewer", "workspace_ids": []},
                       token=tokens[("acme", "admin")])
    assert created.status == 201, created.body
    secret = created.body["token"]
    listed = api.get("/api/api-tokens", token=tokens[("acme", "admin")])
    assert secret not in str(listed.body) and listed.body["items"][0]["masked"].endswith(secret[-4:])
    assert api.get("/api/workspaces", token=secret).status == 200
    assert api.post("/api/workspaces", {"name": "nope"}, token=secret).status == 403
    assert api.delete(f"/api/api-tokens/{created.body['id']}", token=tokens[("acme", "admin")]).status == 204
    assert api.get("/api/workspaces", token=secret).status == 401
