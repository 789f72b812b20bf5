"""Trigger kinds as a registry: every kind meets the protocol, the request bodies name exactly these kinds."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, Field, ValidationError

from chalicelib import bootstrap
from chalicelib.bootstrap import TRIGGER_KINDS
from chalicelib.errors import ValidationFailed
from chalicelib.services.triggers.kinds import check_sections, kind_names, kind_of, registered
from chalicelib.services.triggers.kinds.base import TriggerKind
from chalicelib.services.triggers.kinds.manual import ManualKind, direct_start
from chalicelib.services.triggers.models import SectionView, SettingsModel, TriggerBody, TriggerChanges

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_the_request_bodies_accept_exactly_the_registered_kinds():
    assert kind_names() == tuple(TRIGGER_KINDS)
    assert TriggerBody.model_json_schema()["properties"]["kind"]["enum"] == list(TRIGGER_KINDS)
    for name in TRIGGER_KINDS:
        assert TriggerBody.model_validate({"kind": name}).kind == name
    with pytest.raises(ValidationError) as refused:
        TriggerBody.model_validate({"kind": "poll"})
    assert refused.value.errors()[0]["msg"] == "Input should be 'manual', 'webhook' or 'cron'"


def test_an_unknown_kind_name_is_a_422_at_kind():
    with pytest.raises(ValidationFailed) as refused:
        kind_of("poll")
    assert refused.value.details[0]["path"] == "/kind"


@pytest.mark.parametrize("name", tuple(TRIGGER_KINDS))
def test_every_kind_meets_the_protocol_under_its_own_name(name):
    kind = kind_of(name)
    assert kind.name == name
    members = [m for m in vars(TriggerKind) if not m.startswith("_")] + list(TriggerKind.__annotations__)
    assert all(hasattr(kind, member) for member in members)
    if kind.section:
        assert kind.section in TriggerBody.model_json_schema()["properties"]


def test_sections_are_owned_by_one_kind_each():
    sections = [k.section for k in registered().values() if k.section]
    assert len(sections) == len(set(sections))


def test_a_section_of_another_kind_is_refused_with_its_path():
    # GIVEN a manual trigger WHEN a schedule is sent THEN 422 pointing at /schedule
    with pytest.raises(ValidationFailed) as refused:
        check_sections("manual", {"schedule": object(), "webhook": None})
    assert refused.value.details == [{"path": "/schedule",
                                      "issue": "only cron triggers have a schedule (this one is manual)"}]
    check_sections("cron", {"schedule": object(), "webhook": None})  # its own section is fine


def test_activating_a_cron_trigger_starts_afresh_and_a_manual_one_only_flips():
    row = {"cron_expression": "*/5 * * * *", "timezone": "UTC"}
    assert kind_of("cron").activation(row, enabled=True, now=NOW) == {
        "enabled": True, "last_slot": None, "next_fire_at": dt.datetime(2026, 3, 1, 12, 5, tzinfo=dt.UTC)}
    assert kind_of("cron").activation(row, enabled=False, now=NOW)["next_fire_at"] is None
    assert kind_of("manual").activation({}, enabled=False, now=NOW) == {"enabled": False}


def test_a_direct_start_is_labelled_by_who_started_it():
    class Caller:
        def __init__(self, kind: str) -> None:
            self.kind = kind

    assert direct_start(Caller("user")) == "manual" == kind_of("manual").name
    assert direct_start(Caller("api")) == "api"


class _Limits(SettingsModel):
    size: int = Field(ge=1)


class _LimitsChanges(SettingsModel):
    size: int | None = Field(None, ge=1)


class _LimitsView(SectionView):
    size: int


class _SizedKind(ManualKind):
    name: str = "sized"
    section: str | None = "limits"
    section_title: str = "limits"
    settings: type[BaseModel] | None = _Limits
    changes: type[BaseModel] | None = _LimitsChanges
    view: type[BaseModel] | None = _LimitsView


@pytest.fixture
def sized():
    with bootstrap.replaced(trigger_kinds={**TRIGGER_KINDS, "sized": _SizedKind()}):
        yield


def test_a_section_is_validated_against_its_kinds_model_where_it_stands(sized):
    # GIVEN a kind with a section WHEN a body holds it THEN it is validated by the kind's model for the body
    body = TriggerBody.model_validate({"kind": "sized", "limits": {"size": 3}})
    assert body.sections == {"limits": _Limits(size=3)}
    assert TriggerChanges.model_validate({"limits": {}}).sections["limits"] == _LimitsChanges()
    assert TriggerBody.model_validate({"kind": "sized", "limits": None}).sections == {}
    # AND its errors are located in the section, beside the body's own
    with pytest.raises(ValidationError) as refused:
        TriggerBody.model_validate({"kind": "sized", "name": 5, "limits": {"size": 0, "extra": 1}, "other": {}})
    assert sorted((e["loc"], e["type"]) for e in refused.value.errors()) == [
        (("limits", "extra"), "extra_forbidden"), (("limits", "size"), "greater_than_equal"),
        (("name",), "string_type"), (("other",), "extra_forbidden")]


def test_the_json_schema_names_each_registered_kinds_section(sized):
    for model, role in ((TriggerBody, "_Limits"), (TriggerChanges, "_LimitsChanges")):
        schema = model.model_json_schema()
        assert schema["properties"]["limits"]["anyOf"] == [{"$ref": f"#/$defs/{role}"}, {"type": "null"}]
        assert list(schema["properties"])[-3:] == ["webhook", "schedule", "limits"]


def test_without_the_kind_its_section_is_an_unknown_field():
    with pytest.raises(ValidationError) as refused:
        TriggerBody.model_validate({"kind": "manual", "limits": {"size": 3}})
    assert refused.value.errors()[0]["loc"] == ("limits",)
    assert "limits" not in TriggerBody.model_json_schema()["properties"]
