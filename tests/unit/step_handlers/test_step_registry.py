"""Every step module honours the same contract (the runner relies on it)."""

from __future__ import annotations

import inspect
import json

import pytest
from jsonschema import Draft202012Validator

from chalicelib.engine.config_schema import strict_schema
from chalicelib.engine.errors import UnknownStepType
from chalicelib.engine.step_types import StepType
from step_handlers import CATALOG, STEP_TYPES, describe_step_types, get_handler, ports_of, secret_config_keys

EXPECTED = {
    "start", "end", "transform", "condition", "switch", "wait_all",
    "merge_race", "delay", "for_each", "http_request", "action", "code",
}  # fmt: skip


def test_registry_holds_every_step_type():
    assert set(STEP_TYPES) == EXPECTED


@pytest.mark.parametrize("step_type", sorted(EXPECTED))
def test_module_contract(step_type):
    # every member of the engine's StepType protocol, handle() with the protocol's parameters
    handler = get_handler(step_type)
    assert all(hasattr(handler, member) for member in StepType.__annotations__), sorted(StepType.__annotations__)
    protocol_parameters = list(inspect.signature(StepType.handle).parameters)[1:]  # without self
    assert list(inspect.signature(handler.handle).parameters) == protocol_parameters
    Draft202012Validator.check_schema(handler.CONFIG_SCHEMA)
    Draft202012Validator.check_schema(strict_schema(handler.CONFIG_SCHEMA))
    assert isinstance(handler.PORTS, list)
    assert isinstance(handler.NEEDS_CREDENTIALS, bool)
    assert isinstance(handler.RAW_CONFIG_KEYS, frozenset)
    assert isinstance(handler.TITLE, str) and handler.TITLE


def test_unknown_type_is_a_stable_error():
    with pytest.raises(UnknownStepType) as err:
        get_handler("eval")
    assert err.value.code == "unknown_step_type"
    assert err.value.status == 422


def test_ports():
    assert ports_of("condition", {}) == ["true", "false"]
    assert ports_of("for_each", {}) == ["item"]
    assert ports_of("end", {}) == []
    assert ports_of("http_request", {}) == ["out"]


def test_described_types_are_json_for_the_node_template_listing():
    described = describe_step_types()
    assert [d["type"] for d in described if d["variant"] is None] == list(STEP_TYPES)
    json.dumps(described)
    switch = next(d for d in described if d["type"] == "switch")
    assert switch["dynamic_ports"] is True
    assert next(d for d in described if d["type"] == "action")["needs_credentials"] is True


def test_described_types_say_where_secrets_may_be_read():
    # GIVEN the registry WHEN described THEN each type lists the keys the save check lets read $secrets
    described = {d["type"]: d for d in describe_step_types() if d["variant"] is None}
    assert described["action"]["secret_keys"] == ["input"]
    assert described["http_request"]["secret_keys"] == ["form", "headers", "json", "query"]
    assert described["transform"]["secret_keys"] == []
    for step_type, entry in described.items():
        assert set(entry["secret_keys"]) == secret_config_keys(step_type)


def test_variants_and_default_configs_are_valid_configs_of_their_type():
    from chalicelib.engine.graph_checks import config_problems

    described = describe_step_types()
    assert any(d["type"] == "transform" and d["variant"] == "jsonata" for d in described)
    assert any(d["type"] == "code" and d["variant"] is None for d in described)
    for entry in described:
        Draft202012Validator.check_schema(entry["config_schema"])
        if entry["default_config"] is not None:
            Draft202012Validator(entry["config_schema"]).validate(entry["default_config"])
            assert config_problems(CATALOG, entry["type"], entry["default_config"], "") == [], entry["title"]
