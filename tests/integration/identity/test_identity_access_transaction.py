"""The access check of a request: one transaction (which the reads of flows go on in), and no cache that
outlives a revocation.

A verified access token is not verified again for a few seconds and an API token's tenant is
remembered, but the principal's state is read on every request: a session revoked, a token
revoked or a member demoted by another process (another container) counts on the next request.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from chalicelib.db.database_engine import get_db_engine
from chalicelib.services import tenant_limits

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


@contextmanager
def statements():
    """The statements sent on the app's engine inside the block (each as sent, parameters apart)."""
    seen: list[str] = []

    def listener(_conn, _cursor, statement, *_args):
        if "set_config('app.tenant_id'" not in statement:  # the driver sends it with the first statement
            seen.append(" ".join(statement.split()))

    event.listen(get_db_engine(), "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(get_db_engine(), "before_cursor_execute", listener)


def _a_flow(api, tokens):
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    owner = tokens[("acme", "owner")]
    return ws, owner, api.get(f"/api/workspaces/{ws}/flows", token=owner).body["items"][0]["id"]


def _remaining(reply) -> int:
    return int(reply.headers["RateLimit"].split("r=")[1].split(";")[0])


def _fresh_token(api, tokens, role: str) -> str:
    """An API token of its own (so a fresh rate-limit bucket), scoped to the Operations workspace."""
    reply = api.post("/api/api-tokens", {"name": f"access transaction {role}", "role": role,
                                         "workspace_ids": [tokens.ids("acme")["workspaces"]["Operations"]]},
                     token=tokens[("acme", "owner")])
    assert reply.status == 201, reply.body
    return reply.body["token"]


@pytest.fixture
def limits():
    yield tenant_limits
    tenant_limits.reset()


@pytest.mark.parametrize("read", ["list", "detail"])
def test_a_workflow_read_is_one_transaction_of_three_statements(api, tokens, seeded, read):
    # GIVEN a workflow of the caller's workspace
    ws, owner, flow_id = _a_flow(api, tokens)
    path = f"/api/workspaces/{ws}/flows" + (f"/{flow_id}" if read == "detail" else "")
    # WHEN it is read (listed, or its detail)
    with transactions() as seen, statements() as sent:
        reply = api.get(path, token=owner)
    assert reply.status == 200, reply.body
    # THEN the access check (token state and path ids in one statement), the route's query and the rate
    # limit's spend are one committed transaction: the access statement, the query, the spend (its set_config
    # is sent by the driver with the access statement, not through SQLAlchemy's cursor)
    assert seen == ["begin", "commit"], seen
    assert len(sent) == 3, sent
    assert "users" in sent[0] and "EXISTS" in sent[0], sent
    assert sent[1].startswith("SELECT workflows.") and sent[2].startswith("INSERT INTO api_rate_buckets"), sent
    assert reply.headers["RateLimit"].startswith('"api";')


def test_a_route_failing_in_the_request_transaction_still_spends_once(api, tokens, seeded, limits):
    # GIVEN a bucket that does not refill during the test, and a list that passes the access check but fails
    # in the route (a cursor that is no cursor)
    ws, owner, _ = _a_flow(api, tokens)
    viewer = _fresh_token(api, tokens, "viewer")
    limits.configure(api_burst=10, api_per_second=0.0001)
    first = api.get(f"/api/workspaces/{ws}/flows", token=viewer)
    # WHEN it is sent
    with transactions() as seen:
        reply = api.get(f"/api/workspaces/{ws}/flows?cursor=bm90LWEtY3Vyc29y", token=viewer)
    # THEN 400, the request's transaction rolled back, and one token spent in a transaction of its own
    assert reply.status == 400 and reply.error_code == "invalid_cursor", reply.body
    assert seen == ["begin", "rollback", "begin", "commit"], seen
    assert (_remaining(first), _remaining(reply)) == (9, 8)
    # AND the next request spends one more
    assert _remaining(api.get(f"/api/workspaces/{ws}/flows", token=viewer)) == 7


def test_a_refused_spend_in_the_request_transaction_answers_429(api, tokens, seeded, limits):
    # GIVEN an API token whose bucket holds two requests, refilled slowly
    ws, owner, flow_id = _a_flow(api, tokens)
    builder = _fresh_token(api, tokens, "viewer")
    limits.configure(api_burst=2, api_per_second=0.01)
    path = f"/api/workspaces/{ws}/flows/{flow_id}"
    # WHEN it reads a workflow three times
    replies = [api.get(path, token=builder) for _ in range(3)]
    # THEN the third is refused after the route's read, which rolls back: 429 in the error shape
    assert [r.status for r in replies] == [200, 200, 429], replies[-1].body
    assert replies[-1].error_code == "rate_limited" and replies[-1].headers["Retry-After"]
    assert "title" not in replies[-1].body


def test_a_refused_access_check_spends_nothing(api, tokens, seeded):
    # GIVEN an id of no workflow WHEN it is read THEN 404, and the access transaction rolled back
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    with transactions() as seen:
        reply = api.get(f"/api/workspaces/{ws}/flows/00000000-0000-4000-8000-000000000000",
                        token=tokens[("acme", "owner")])
    assert reply.status == 404 and reply.error_code == "not_found"
    assert seen == ["begin", "rollback"], seen


def test_creating_a_workflow_keeps_the_spend_out_of_the_quota_lock(api, tokens, seeded):
    # GIVEN a builder of a workspace
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    builder = tokens[("acme", "builder")]
    # WHEN it creates a workflow
    with transactions() as seen, statements() as sent:
        reply = api.post(f"/api/workspaces/{ws}/flows", {"title": "quota line"}, token=builder)
    # THEN the access check (state and ids in one statement, then the spend) commits first, and the creating
    # transaction holds the tenant's quota lock for the count, the insert returning the row and its audit entry
    assert reply.status == 201, reply.body
    assert seen == ["begin", "commit", "begin", "commit"], (seen, sent)
    assert [s.split()[0] for s in sent] == ["SELECT", "INSERT", "SELECT", "SELECT", "INSERT", "INSERT"], sent
    assert sent[1].startswith("INSERT INTO api_rate_buckets") and "pg_advisory_xact_lock" in sent[2], sent
    assert "RETURNING" in sent[4] and sent[5].startswith("INSERT INTO audit_events"), sent
    assert reply.body["title"] == "quota line" and reply.headers["Location"].endswith(reply.body["id"])


def test_a_workflow_refused_by_the_rate_limit_is_not_created(api, tokens, seeded, limits):
    # GIVEN a builder API token with one request left
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    builder = _fresh_token(api, tokens, "builder")
    limits.configure(api_burst=1, api_per_second=0.001)
    assert api.get(f"/api/workspaces/{ws}/flows", token=builder).status == 200
    # WHEN it creates a workflow THEN 429, and no workflow of that title exists
    reply = api.post(f"/api/workspaces/{ws}/flows", {"title": "refused by the rate limit"}, token=builder)
    assert reply.status == 429 and reply.error_code == "rate_limited", reply.body
    limits.reset()
    titles = {f["title"] for f in api.get(f"/api/workspaces/{ws}/flows?q=refused",
                                           token=tokens[("acme", "owner")]).body["items"]}
    assert "refused by the rate limit" not in titles


def test_starting_a_run_keeps_the_spend_out_of_the_admission_lock(api, tokens, seeded):
    # GIVEN a workflow with a graph
    ws = tokens.ids("acme")["workspaces"]["Operations"]
    builder = tokens[("acme", "builder")]
    graph = {"nodes": [{"id": "start", "name": "start", "type": "start"}, {"id": "end", "name": "end", "type": "end"}],
             "edges": [{"from": "start", "to": "end"}]}
    flow = api.post(f"/api/workspaces/{ws}/flows", {"title": "admission line", "graph": graph},
                    token=builder).body
    # WHEN a test run is started
    with transactions() as seen, statements() as sent:
        reply = api.post(f"/api/workspaces/{ws}/flows/{flow['id']}/runs", {"mode": "test"}, token=builder)
    # THEN the access check and its spend commit before the run's transaction, which holds the tenant's
    # admission row from its lock to its commit: the spend is not one more statement in that line
    assert reply.status == 202, reply.body
    assert seen == ["begin", "commit", "begin", "commit"], (seen, sent)
    spend = [n for n, s in enumerate(sent) if s.startswith("INSERT INTO api_rate_buckets")]
    assert spend == [1] and "EXISTS" in sent[0], sent  # the access transaction: state and ids, then the spend
    assert any(s.startswith("INSERT INTO runs") for s in sent[2:]), sent  # the run, in a transaction of its own
    assert reply.body["status"] == "running"
