"""Trigger kinds are a registry: a kind the composition root adds is created, listed, fired, ticked and shown
through the API with no other module edited (this test's kinds live only here), settings of its own included:
validated, stored with its secret sealed, shown masked, changed, and documented in the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, SecretStr
from sqlalchemy import select

from chalicelib import bootstrap
from chalicelib.db.uow import system_uow, tenant_uow
from chalicelib.services.triggers import jobs
from chalicelib.services.triggers.firing import Firing, fire
from chalicelib.services.triggers.kinds.configured import ConfiguredKind
from chalicelib.services.triggers.kinds.manual import ManualKind
from chalicelib.services.triggers.models import SectionView, SettingsModel
from chalicelib.tables.identity import audit_events
from chalicelib.tables.triggers import triggers


def enabled_triggers(kind: str) -> list[dict[str, Any]]:
    """Every enabled trigger of ``kind`` (a scheduled kind's tick: one system-scoped scan, each read in its tenant)."""
    with system_uow() as uow:
        due = uow.execute(select(triggers.c.id, triggers.c.tenant_id).where(
            triggers.c.kind == kind, triggers.c.enabled)).all()
    rows = []
    for trigger_id, tenant_id in due:
        with tenant_uow(str(tenant_id)) as uow:
            rows.append(dict(uow.execute(select(triggers).where(triggers.c.id == trigger_id)).mappings().one()))
    return rows


class EveryTickKind(ManualKind):
    """A kind with no settings (the rest as ``manual``) that fires each of its enabled triggers once per tick."""

    name: str = "every_tick"

    def create(self, tenant_id: str, trigger_id: str, settings: Any, *, enabled: bool,
               now: dt.datetime) -> tuple[dict[str, Any], str | None]:
        return {"config": {"ticks": True}}, None

    def tick(self, now: dt.datetime) -> int:
        started = 0
        for row in enabled_triggers(self.name):
            result = fire(Firing(trigger=row, kind=self.name, input=row["input"]), now)
            started += result.run_id is not None
        return started


@pytest.fixture
def with_every_tick(doorbells, acme):
    """The process's kinds plus ``every_tick`` for one test, and a workflow for its triggers; the workflow
    goes (with its triggers) while the kind is still known, so no other test meets a trigger of a kind its
    process does not have."""
    kinds = {**bootstrap.TRIGGER_KINDS, EveryTickKind.name: EveryTickKind()}
    with bootstrap.replaced(trigger_kinds=kinds):
        flow = acme.make_flow()
        yield flow
        assert acme.api.delete(f"{acme.flows()}/{flow['id']}", token=acme.token).status == 204


def test_an_unregistered_kind_is_refused_with_the_registered_names(acme):
    # GIVEN the process's kinds WHEN a trigger of another kind is created THEN 422 at /kind, naming the kinds
    flow = acme.make_flow()
    refused = acme.api.post(acme.triggers(flow["id"]), {"kind": "every_tick"}, token=acme.token)
    assert refused.status == 422, refused.body
    detail = refused.body["error"]["details"][0]
    assert detail["path"] == "/kind" and "'manual', 'webhook' or 'cron'" in detail["issue"]


def test_a_kind_added_in_the_composition_root_is_created_listed_fired_and_ticked(acme, with_every_tick):
    flow = with_every_tick
    # WHEN a trigger of the added kind is created THEN the API accepts it and shows it
    created = acme.make_trigger(flow["id"], kind="every_tick", name="ticker", input={"n": 1})
    assert created["kind"] == "every_tick" and "webhook" not in created and "schedule" not in created
    # AND listing by the kind finds it (the query parameter accepts the added name too)
    listed = acme.api.get(f"{acme.triggers(flow['id'])}?kind=every_tick", token=acme.token)
    assert listed.status == 200, listed.body
    assert [t["id"] for t in listed.body["items"]] == [created["id"]]
    # AND the OpenAPI document lists it among the accepted kinds
    document = acme.api.get("/openapi.json").body
    assert "every_tick" in document["components"]["schemas"]["TriggerBody"]["properties"]["kind"]["enum"]
    # WHEN it is fired by hand THEN a run starts
    fired = acme.api.post(f"{acme.triggers(flow['id'])}/{created['id']}/fire", {}, token=acme.token)
    assert fired.status == 202 and fired.body["status"] == "started", fired.body
    # WHEN the housekeeping tick runs THEN the kind's own share fires it, recorded under the kind's name
    outcome = jobs.tick()
    assert outcome["fired"] >= 1
    ticked = [d for d in acme.deliveries(created) if d["kind"] == "every_tick"]
    assert len(ticked) == 1 and ticked[0]["outcome"] == "started"
    run = acme.run(ticked[0]["run_id"])
    assert run["trigger"] == "every_tick" and run["input"] == {"n": 1}
    # AND a kind without a signing secret has none to rotate
    rotated = acme.api.post(f"{acme.triggers(flow['id'])}/{created['id']}/rotate-secret", {}, token=acme.token)
    assert rotated.status == 409 and rotated.body["error"]["code"] == "not_a_webhook"


# --- a kind with settings of its own: a required field, a secret field, a field with a default ----------------

API_KEY = "tk_live_4e1f9c2a7b"
NEW_KEY = "tk_live_0d3a5b6c8e"


class TicketSettings(SettingsModel):
    queue: str = Field(min_length=1, max_length=100)
    api_key: SecretStr = Field(min_length=8, max_length=200)
    priority: Literal["low", "high"] = "low"


class TicketChanges(SettingsModel):
    queue: str | None = Field(None, min_length=1, max_length=100)
    api_key: SecretStr | None = Field(None, min_length=8, max_length=200)
    priority: Literal["low", "high"] | None = None


class TicketView(SectionView):
    queue: str
    api_key: str = Field(description="Masked.")
    priority: Literal["low", "high"]


class TicketKind(ConfiguredKind):
    """Each tick opens a ticket in its queue: fires every enabled trigger with its queue as the input."""

    name: str = "ticket"
    section: str | None = "ticketing"
    section_title: str = "ticketing settings"
    settings: type[BaseModel] | None = TicketSettings
    changes: type[BaseModel] | None = TicketChanges
    view: type[BaseModel] | None = TicketView
    opened: list[str]  # the api keys the tick used (the vendor call, in a real kind)

    def tick(self, now: dt.datetime) -> int:
        started = 0
        for row in enabled_triggers(self.name):
            settings: Any = self.settings_of(row)
            self.opened.append(settings.api_key.get_secret_value())
            result = fire(Firing(trigger=row, kind=self.name, input={"queue": settings.queue}), now)
            started += result.run_id is not None
        return started


@pytest.fixture
def with_ticket(doorbells, acme):
    kind = TicketKind()
    kind.opened = []
    kinds = {**bootstrap.TRIGGER_KINDS, kind.name: kind}
    with bootstrap.replaced(trigger_kinds=kinds):
        flow = acme.make_flow()
        yield flow, kind
        assert acme.api.delete(f"{acme.flows()}/{flow['id']}", token=acme.token).status == 204


def _refused(reply: Any) -> dict[str, str]:
    assert reply.status == 422, reply.body
    assert reply.body["error"]["code"] == "validation_failed"
    return {d["path"]: d["issue"] for d in reply.body["error"]["details"]}


def test_a_kind_with_settings_of_its_own_is_validated_by_its_model(acme, with_ticket):
    flow, _ = with_ticket
    url = acme.triggers(flow["id"])
    # GIVEN the ticket kind WHEN its settings are missing THEN 422 at its section
    assert _refused(acme.api.post(url, {"kind": "ticket"}, token=acme.token)) == {
        "/ticketing": "required for ticket triggers"}
    # WHEN the required field is missing, the secret too short, a field unknown, a value of the wrong type
    issues = _refused(acme.api.post(url, {"kind": "ticket", "ticketing": {
        "api_key": "short", "colour": "red", "priority": 3}}, token=acme.token))
    # THEN each is named by its pointer, in the one error shape
    assert set(issues) == {"/ticketing/queue", "/ticketing/api_key", "/ticketing/colour", "/ticketing/priority"}
    assert issues["/ticketing/queue"] == "Field required"
    # AND the section is refused on another kind, and another kind's section on this one
    assert "/ticketing" in _refused(acme.api.post(url, {"kind": "manual", "ticketing": {
        "queue": "q", "api_key": API_KEY}}, token=acme.token))
    assert "/webhook" in _refused(acme.api.post(url, {"kind": "ticket", "webhook": {}, "ticketing": {
        "queue": "q", "api_key": API_KEY}}, token=acme.token))
    # AND nothing was created
    listed = acme.api.get(f"{url}?kind=ticket", token=acme.token)
    assert listed.status == 200 and listed.body["items"] == []


def test_a_kind_with_settings_of_its_own_is_created_listed_shown_changed_and_fired(acme, with_ticket):
    flow, kind = with_ticket
    url = acme.triggers(flow["id"])
    # WHEN a ticket trigger is created THEN its section is shown, the secret masked
    created = acme.make_trigger(flow["id"], kind="ticket", name="tickets", input={"n": 1},
                                ticketing={"queue": "support", "api_key": API_KEY})
    assert created["ticketing"] == {"queue": "support", "api_key": "••••" + API_KEY[-4:], "priority": "low"}
    assert "webhook" not in created and "schedule" not in created
    one = f"{url}/{created['id']}"
    # AND the secret is stored sealed in the trigger's secret column (which a key rotation re-wraps):
    # neither the row nor the audit log holds it
    with system_uow() as uow:
        stored = uow.execute(select(triggers).where(triggers.c.id == created["id"])).mappings().one()
        audited = uow.execute(select(audit_events.c.changes).where(
            audit_events.c.target_id == created["id"])).scalars().all()
    assert stored["config"]["ticketing"] == {"queue": "support", "priority": "low"}
    assert stored["secret"] is not None and API_KEY not in json.dumps(dict(stored), default=str)
    assert audited and API_KEY not in json.dumps(audited)
    # WHEN listed and shown THEN the same masked section, never the secret
    listed = acme.api.get(f"{url}?kind=ticket", token=acme.token)
    assert listed.status == 200 and [t["ticketing"] for t in listed.body["items"]] == [created["ticketing"]]
    shown = acme.api.get(one, token=acme.token)
    assert shown.status == 200 and shown.body["ticketing"] == created["ticketing"]
    for reply in (listed, shown):
        assert API_KEY not in json.dumps(reply.body)
    # WHEN a field is changed THEN the others are kept (the secret too)
    changed = acme.api.patch(one, {"ticketing": {"queue": "billing", "priority": "high"}}, token=acme.token)
    assert changed.status == 200, changed.body
    assert changed.body["ticketing"] == {"queue": "billing", "api_key": "••••" + API_KEY[-4:], "priority": "high"}
    # AND a field sent as null is kept too
    kept = acme.api.patch(one, {"ticketing": {"queue": None, "api_key": None}}, token=acme.token)
    assert kept.status == 200 and kept.body["ticketing"] == changed.body["ticketing"], kept.body
    # AND a bad change is refused at its pointer, changing nothing
    assert _refused(acme.api.patch(one, {"ticketing": {"queue": ""}}, token=acme.token)) == {
        "/ticketing/queue": "String should have at least 1 character"}
    # WHEN the secret is replaced THEN only its hint changes
    rekeyed = acme.api.patch(one, {"ticketing": {"api_key": NEW_KEY}}, token=acme.token)
    assert rekeyed.status == 200 and rekeyed.body["ticketing"]["api_key"] == "••••" + NEW_KEY[-4:]
    assert rekeyed.body["ticketing"]["queue"] == "billing" and NEW_KEY not in json.dumps(rekeyed.body)
    # WHEN it is fired by hand THEN a run starts
    fired = acme.api.post(f"{one}/fire", {}, token=acme.token)
    assert fired.status == 202 and fired.body["status"] == "started", fired.body
    # WHEN the tick runs THEN the kind opens its settings (the new secret) and fires with them
    jobs.tick()
    assert kind.opened == [NEW_KEY]
    ticked = [d for d in acme.deliveries(created) if d["kind"] == "ticket"]
    assert len(ticked) == 1 and ticked[0]["outcome"] == "started"
    run = acme.run(ticked[0]["run_id"])
    assert run["trigger"] == "ticket" and run["input"] == {"queue": "billing"}


def test_the_openapi_document_lists_the_settings_of_each_registered_kind(api, with_ticket):
    # GIVEN the ticket kind in the process's container WHEN the document is made
    document = api.get("/openapi.json").body
    schemas = document["components"]["schemas"]

    def section(model: str, name: str) -> str:
        ref, null = schemas[model]["properties"][name]["anyOf"]
        assert null == {"type": "null"}
        return ref["$ref"].rsplit("/", 1)[-1]

    # THEN each body names the kind's model for its role, next to the built-in kinds' sections
    assert section("TriggerBody", "ticketing") == "TicketSettings"
    assert section("TriggerChanges", "ticketing") == "TicketChanges"
    assert section("Trigger", "ticketing") == "TicketView"
    assert section("TriggerBody", "webhook") == "WebhookSettings"
    assert section("Trigger", "schedule") == "ScheduleView"
    # AND the settings' schema is the kind's: the required field, the secret written only
    settings = schemas["TicketSettings"]
    assert settings["required"] == ["queue", "api_key"]
    assert settings["properties"]["api_key"]["writeOnly"] is True
    # AND without the kind the document does not name it
    with bootstrap.replaced(trigger_kinds=bootstrap.TRIGGER_KINDS):
        plain = api.get("/openapi.json").body
    assert "ticketing" not in plain["components"]["schemas"]["TriggerBody"]["properties"]
    assert "TicketSettings" not in plain["components"]["schemas"]


def test_a_trigger_whose_kind_is_gone_is_listed_unavailable_and_starts_nothing(acme, doorbells):
    # GIVEN a trigger of the added kind, created while the process had it, and one of a built-in kind
    flow = acme.make_flow()
    url = acme.triggers(flow["id"])
    with bootstrap.replaced(trigger_kinds={**bootstrap.TRIGGER_KINDS, EveryTickKind.name: EveryTickKind()}):
        orphan = acme.make_trigger(flow["id"], kind="every_tick", name="orphan")
        assert orphan["available"] is True
    kept = acme.make_trigger(flow["id"], kind="manual", name="kept")
    one = f"{url}/{orphan['id']}"
    try:
        # WHEN the process no longer has the kind THEN the list still answers, the trigger marked unavailable
        listed = acme.api.get(url, token=acme.token)
        assert listed.status == 200, listed.body
        by_id = {t["id"]: t for t in listed.body["items"]}
        assert by_id[orphan["id"]]["available"] is False and by_id[orphan["id"]]["kind"] == "every_tick"
        assert by_id[kept["id"]]["available"] is True
        shown = acme.api.get(one, token=acme.token)
        assert shown.status == 200 and shown.body["available"] is False, shown.body
        # AND it is never fired, activated, changed or rotated: 409 with a stable code, and no delivery
        for method, path, body in (("post", f"{one}/fire", {}), ("post", f"{one}/deactivate", None),
                                   ("patch", one, {"name": "renamed"}), ("post", f"{one}/rotate-secret", {})):
            reply = getattr(acme.api, method)(path, body, token=acme.token)
            assert reply.status == 409 and reply.body["error"]["code"] == "trigger_kind_unavailable", (path, reply.body)
        assert acme.deliveries(orphan) == []
        assert acme.api.get(one, token=acme.token).body["name"] == "orphan"
        # AND the tick passes it by
        jobs.tick()
        assert acme.deliveries(orphan) == []
    finally:
        # AND it can be deleted
        assert acme.api.delete(one, token=acme.token).status == 204
        assert acme.api.delete(f"{acme.flows()}/{flow['id']}", token=acme.token).status == 204
