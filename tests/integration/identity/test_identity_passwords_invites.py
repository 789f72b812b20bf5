"""Forgot/reset/change, invites, workspace scoping, last owner, audit, reset of the platform."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import text, update

from chalicelib.db.uow import system_uow
from chalicelib.tables.identity import password_resets


def _mail_token(api, to: str, kind: str) -> str:
    from chalicelib.config import get_settings

    reply = api.get(f"/operator/mail?to={to}", headers={"x-operator-token": get_settings().operator_token})
    assert reply.status == 200, reply.body
    mails = [m for m in reply.body["items"] if m["kind"] == kind]
    assert mails, f"no {kind} mail for {to}"
    return re.search(r"token: (\S+)", mails[0]["body"]).group(1)


def test_forgot_does_not_reveal_accounts_and_reset_is_single_use(api, seeded, tokens):
    # GIVEN a live session of the user
    session = api.login("builder@beta.test")
    # WHEN a reset is asked for a known and an unknown address THEN both answers are identical
    known = api.post("/auth/forgot", {"email": "builder@beta.test"})
    unknown = api.post("/auth/forgot", {"email": "ghost@beta.test"})
    assert (known.status, known.body) == (unknown.status, unknown.body) == (202, known.body)
    token = _mail_token(api, "builder@beta.test", "password_reset")
    # a weak password is refused with the failing path
    weak = api.post("/auth/reset", {"token": token, "new_password": "short"})
    assert weak.status == 422 and weak.body["error"]["details"][0]["path"] == "/password"
    assert api.post("/auth/reset", {"token": token, "new_password": "a-new-long-password"}).status == 204
    # single use
    again = api.post("/auth/reset", {"token": token, "new_password": "another-long-password"})
    assert again.status == 422 and again.error_code == "invalid_or_expired_token"
    # the reset revoked the user's sessions: access and refresh tokens are refused
    assert api.get("/api/me", token=session["access_token"]).status == 401
    assert api.post("/auth/refresh", {"refresh_token": session["refresh_token"]}).status == 401
    assert api.login("builder@beta.test", "a-new-long-password")["role"] == "builder"
    tokens.pop(("beta", "builder"), None)
    # restore the demo password for other tests
    api.post("/auth/forgot", {"email": "builder@beta.test"})
    assert api.post("/auth/reset", {"token": _mail_token(api, "builder@beta.test", "password_reset"),
                                    "new_password": seeded.DEMO_PASSWORD}).status == 204


def test_reset_tokens_expire(api, seeded):
    api.post("/auth/forgot", {"email": "viewer@acme.test"})
    token = _mail_token(api, "viewer@acme.test", "password_reset")
    with system_uow() as uow:
        uow.execute(update(password_resets).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        uow.commit()
    expired = api.post("/auth/reset", {"token": token, "new_password": "a-new-long-password"})
    assert expired.status == 422 and expired.error_code == "invalid_or_expired_token"


def test_change_requires_the_current_password(api, seeded, tokens):
    session = api.login("admin@acme.test")
    wrong = api.post("/auth/change", {"current_password": "not-it-at-all", "new_password": "brand-new-password"},
                     token=session["access_token"])
    assert wrong.status == 422 and wrong.error_code == "invalid_current_password"
    changed = api.post("/auth/change", {"current_password": seeded.DEMO_PASSWORD,
                                        "new_password": "brand-new-password"}, token=session["access_token"])
    assert changed.status == 200
    assert api.get("/api/me", token=session["access_token"]).status == 401  # the old session ended
    assert api.get("/api/me", token=changed.body["access_token"]).status == 200
    # restore for other tests
    assert api.post("/auth/change", {"current_password": "brand-new-password", "new_password": seeded.DEMO_PASSWORD},
                    token=changed.body["access_token"]).status == 200
    tokens.pop(("acme", "admin"), None)  # its session ended with the change


def test_invite_accept_creates_membership_with_role_once(api, tokens, seeded):
    ws = tokens.ids("acme")["workspaces"]["Marketing"]
    created = api.post("/api/invites", {"email": "New.Person@Example.test", "role": "builder", "workspace_ids": [ws]},
                       token=tokens[("acme", "admin")])
    assert created.status == 201 and created.body["status"] == "pending"
    token = _mail_token(api, "new.person@example.test", "invite")
    accepted = api.post("/auth/invites/accept", {"token": token, "password": "welcome-aboard-2026", "name": "New"})
    assert accepted.status == 200 and accepted.body["role"] == "builder"
    me = api.get("/api/me", token=accepted.body["access_token"]).body
    assert me["role"] == "builder" and [w["name"] for w in me["workspaces"]] == ["Marketing"]
    again = api.post("/auth/invites/accept", {"token": token, "password": "welcome-aboard-2026"})
    assert again.status == 422 and again.error_code == "invalid_or_expired_token"
    # an admin may not invite an owner
    assert api.post("/api/invites", {"email": "boss@example.test", "role": "owner"},
                    token=tokens[("acme", "admin")]).status == 403


def test_workspace_scoping_for_members(api, tokens):
    ids = tokens.ids("acme")["workspaces"]
    assert api.get(f"/api/workspaces/{ids['Operations']}", token=tokens[("acme", "viewer")]).status == 200
    hidden = api.get(f"/api/workspaces/{ids['Marketing']}", token=tokens[("acme", "viewer")])
    assert hidden.status == 404
    listed = api.get("/api/workspaces", token=tokens[("acme", "viewer")]).body["items"]
    assert [w["name"] for w in listed] == ["Operations"]
    assert {w["name"] for w in api.get("/api/workspaces", token=tokens[("acme", "admin")]).body["items"]} >= {
        "Operations", "Marketing"}


def test_last_owner_cannot_be_removed_or_demoted(api, tokens):
    owner_id = api.get("/api/me", token=tokens[("beta", "owner")]).body["user"]["id"]
    demote = api.patch(f"/api/users/{owner_id}", {"role": "admin"}, token=tokens[("beta", "admin")])
    assert demote.status == 403  # admins do not manage owners
    self_demote = api.patch(f"/api/users/{owner_id}", {"role": "admin"}, token=tokens[("beta", "owner")])
    assert self_demote.status in (403, 409)
    remove = api.delete(f"/api/users/{owner_id}", token=tokens[("beta", "owner")])
    assert remove.status in (403, 409)
    assert api.get("/api/me", token=tokens[("beta", "owner")]).body["role"] == "owner"


def test_mutations_are_audited_with_filters(api, tokens):
    created = api.post("/api/workspaces", {"name": "Audited"}, token=tokens[("acme", "admin")])
    assert created.status == 201
    renamed = api.patch(f"/api/workspaces/{created.body['id']}", {"name": "Audited 2"}, token=tokens[("acme", "admin")])
    assert renamed.status == 200
    events = api.get(f"/api/audit?target_id={created.body['id']}", token=tokens[("acme", "admin")]).body["items"]
    assert [e["action"] for e in events] == ["workspace.renamed", "workspace.created"]
    assert events[0]["changes"] == {"name": {"before": "Audited", "after": "Audited 2"}}
    assert api.get("/api/audit", token=tokens[("acme", "builder")]).status == 403
    assert api.delete(f"/api/workspaces/{created.body['id']}", token=tokens[("acme", "admin")]).status == 204


def test_app_role_without_tenant_sees_no_rows(local_stack):
    from chalicelib.db.database_engine import get_db_engine

    with get_db_engine().connect() as conn:
        role = conn.execute(text(
            "SELECT current_user, (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user)"))
        name, bypass = role.first()
        assert name == "stepline_app" and bypass is False
        for table in ("workspaces", "memberships", "api_tokens", "audit_events", "sessions"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
        # and with a tenant set, only that tenant's rows
        tenant = conn.execute(text("SELECT id::text FROM tenants WHERE slug = 'acme'")).scalar()
        conn.execute(text("SELECT set_config('app.tenant_id', :t, false)"), {"t": tenant})
        tenants_seen = conn.execute(text("SELECT DISTINCT tenant_id::text FROM workspaces")).scalars().all()
        conn.execute(text("SELECT set_config('app.tenant_id', '', false)"))
        conn.rollback()
    assert tenants_seen == [tenant]
