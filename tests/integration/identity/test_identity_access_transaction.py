"""The access check of a request: one transaction, and no cache that outlives a revocation.

A verified access token is not verified again for a few seconds and an API token's tenant is
remembered, but the principal's state is read on every request: a session revoked, a token
revoked or a member demoted by another process (another container) counts on the next request.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, text

from chalicelib.db.database_engine import get_db_engine

SYSTEM_SCOPE = text("SELECT set_config('app.scope', 'system', true)")  # row-level security is forced


@contextmanager
def transactions():
    """The transactions begun on the app's engine inside the block, and how each ended."""
    seen: list[str] = []
    listeners = {name: (lambda _conn, name=name: seen.append(name)) for name in ("begin", "commit", "rollback")}
    for name, listener in listeners.items():
        event.listen(get_db_engine(), name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners.items():
            event.remove(get_db_engine(), name, listener)


def test_a_session_revoked_elsewhere_stops_its_token_on_the_next_request(api, seeded, owner_engine):
    # GIVEN a signed-in user whose token was just used (so its verification is kept)
    session = api.login("viewer@beta.test")
    assert api.get("/api/me", token=session["access_token"]).status == 200
    assert api.get("/api/me", token=session["access_token"]).status == 200
    # WHEN another process revokes every session of that user (as a password reset does)
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE users SET sessions_valid_after = now() WHERE email = 'viewer@beta.test'"))
    # THEN the very next request with the token is refused
    refused = api.get("/api/me", token=session["access_token"])
    assert refused.status == 401 and refused.error_code == "invalid_token", refused.body


def test_an_api_token_revoked_elsewhere_stops_on_the_next_request(api, tokens, owner_engine):
    # GIVEN an API token used twice (its tenant is now remembered by this process)
    created = api.post("/api/api-tokens", {"name": "revoked elsewhere", "role": "viewer", "workspace_ids": []},
                       token=tokens[("acme", "admin")])
    assert created.status == 201, created.body
    secret = created.body["token"]
    assert api.get("/api/workspaces", token=secret).status == 200
    assert api.get("/api/workspaces", token=secret).status == 200
    # WHEN another process revokes it
    with owner_engine.begin() as conn:
        conn.execute(SYSTEM_SCOPE)
        conn.execute(text("UPDATE api_tokens SET revoked_at = now() WHERE id = CAST(:id AS uuid)"),
                     {"id": created.body["id"]})
    # THEN the next request is refused
    assert api.get("/api/workspaces", token=secret).status == 401


def test_a_demotion_elsewhere_counts_on_the_next_request(api, tokens, owner_engine):
    # GIVEN a builder whose token was just used to read a workflow list
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    builder = tokens[("acme", "builder")]
    assert api.get(f"/api/workspaces/{ws}/flows", token=builder).status == 200
    demote = "UPDATE memberships SET role = :role WHERE user_id = (SELECT id FROM users WHERE email = :email)"
    with owner_engine.begin() as conn:
        conn.execute(SYSTEM_SCOPE)
        conn.execute(text(demote), {"role": "viewer", "email": "builder@acme.test"})
    try:
        # WHEN it creates a workflow THEN the current role (viewer) answers, not the token's
        refused = api.post(f"/api/workspaces/{ws}/flows", {"title": "after demotion"}, token=builder)
        assert refused.status == 403 and refused.error_code == "forbidden", refused.body
    finally:
        with owner_engine.begin() as conn:
            conn.execute(SYSTEM_SCOPE)
            conn.execute(text(demote), {"role": "builder", "email": "builder@acme.test"})


def test_authentication_ids_and_rate_limit_are_one_transaction_before_the_routes_own(api, tokens, seeded):
    # GIVEN a workflow of the caller's workspace
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    owner = tokens[("acme", "owner")]
    flows = api.get(f"/api/workspaces/{ws}/flows", token=owner)
    flow_id = flows.body["items"][0]["id"]
    # WHEN its detail is read
    with transactions() as seen:
        reply = api.get(f"/api/workspaces/{ws}/flows/{flow_id}", token=owner)
    assert reply.status == 200, reply.body
    # THEN the access check (token state, workspace and flow ids, the rate limit's spend) is one committed
    # transaction, and the route reads in one more
    assert seen == ["begin", "commit", "begin", "rollback"], seen
    assert reply.headers["RateLimit"].startswith('"api";')


def test_a_refused_access_check_spends_nothing(api, tokens, seeded):
    # GIVEN an id of no workflow WHEN it is read THEN 404, and the access transaction rolled back
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    with transactions() as seen:
        reply = api.get(f"/api/workspaces/{ws}/flows/00000000-0000-4000-8000-000000000000",
                        token=tokens[("acme", "owner")])
    assert reply.status == 404 and reply.error_code == "not_found"
    assert seen == ["begin", "rollback"], seen
