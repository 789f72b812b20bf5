"""The connector format: its JSON Schema and the checks on top of it."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chalicelib.connectors.definition import CONNECTOR_RETRY, ApiKeyAuth, OAuth2Auth
from chalicelib.connectors.errors import InvalidConnector
from chalicelib.connectors.format import connector_schema, validate_connector
from chalicelib.engine.retry import RetryPolicy
from chalicelib.errors import ValidationFailed


def minimal_doc() -> dict[str, Any]:
    return {
        "name": "Demo",
        "slug": "demo",
        "vendor": "Demo Inc.",
        "category": "developer-tools",
        "base_url": "https://{{ settings.region }}.api.example.com/v1",
        "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key", "field": "api_key"},
        "auth_fields": {
            "type": "object",
            "required": ["api_key"],
            "properties": {"api_key": {"type": "string", "writeOnly": True}},
        },
        "settings_schema": {"type": "object", "properties": {"region": {"type": "string", "default": "eu"}}},
        "retry": {"max_attempts": 4},
        "timeout_seconds": 12,
        "actions": [
            {"key": "ping", "name": "Ping", "method": "GET", "path": "/ping", "body_encoding": "none"},
            {
                "key": "get_item",
                "name": "Get item",
                "method": "GET",
                "path": "/items/{{ path.id }}",
                "path_schema": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "string"}},
                },
                "sample_input": {"path": {"id": "a1"}},
                "retry": {"max_attempts": 1},
            },
            {
                "key": "create_item",
                "name": "Create item",
                "method": "POST",
                "path": "/items",
                "body_schema": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}},
                },
                "error_rule": {"when": {"path": "ok", "equals": False}, "message": "{{ error }}"},
            },
        ],
        "test_action": "ping",
    }


def problems_of(doc: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidConnector) as caught:
        validate_connector(doc)
    assert isinstance(caught.value, ValidationFailed) and caught.value.status == 422
    return caught.value.details


def paths_of(doc: Any) -> set[str]:
    return {d["path"] for d in problems_of(doc)}


def test_the_format_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(connector_schema())
    assert connector_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_a_valid_document_builds_a_frozen_definition_with_inherited_defaults():
    # WHEN
    definition = validate_connector(minimal_doc())
    # THEN
    assert definition.slug == "demo" and definition.test_action == "ping"
    assert isinstance(definition.auth, ApiKeyAuth) and definition.auth.location == "header"
    ping, get_item, create_item = definition.actions
    assert ping.retry == dataclasses.replace(CONNECTOR_RETRY, max_attempts=4) and ping.timeout_seconds == 12
    assert get_item.retry.max_attempts == 1
    assert create_item.error_rule is not None and create_item.error_rule.when.equals is False
    assert definition.secret_fields == frozenset({"api_key"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        definition.slug = "other"  # type: ignore[misc]


def test_an_invalid_method_is_reported_at_its_json_pointer():
    doc = minimal_doc()
    doc["actions"][2]["method"] = "FETCH"
    assert paths_of(doc) == {"/actions/2/method"}


def test_every_structural_problem_is_reported_at_once():
    doc = minimal_doc()
    doc["slug"] = "Not A Slug"
    del doc["vendor"]
    doc["actions"][1]["timeout_seconds"] = 0
    doc["actions"][0]["surprise"] = True
    assert paths_of(doc) == {"/slug", "/vendor", "/actions/1/timeout_seconds", "/actions/0/surprise"}


def test_auth_fields_of_each_auth_type_are_checked():
    doc = minimal_doc()
    doc["auth"] = {"type": "oauth2", "authorize_url": "https://x.example/auth"}
    assert "/auth/token_url" in paths_of(doc)
    doc["auth"] = {"type": "api_key", "in": "cookie", "name": "k", "field": "api_key"}
    assert paths_of(doc) == {"/auth/in"}


def test_an_embedded_schema_that_is_not_a_json_schema_is_refused():
    doc = minimal_doc()
    doc["actions"][2]["body_schema"] = {"type": "objekt"}
    assert paths_of(doc) == {"/actions/2/body_schema/type"}


def test_remote_references_in_embedded_schemas_are_refused():
    doc = minimal_doc()
    doc["actions"][2]["body_schema"] = {"$ref": "https://example.com/schema.json"}
    details = problems_of(doc)
    assert details == [
        {"path": "/actions/2/body_schema/$ref", "issue": "only local references ('#/...') are allowed"}
    ]


def test_templates_must_parse_and_reference_known_roots_and_settings():
    doc = minimal_doc()
    doc["actions"][0]["headers"] = {"X-Trace": "{{ input.id | nosuchfilter }}"}
    doc["actions"][2]["body"] = {"name": "{{ credentials.api_key }}"}
    doc["base_url"] = "https://{{ settings.zone }}.example.com"
    assert paths_of(doc) == {"/actions/0/headers", "/actions/2/body", "/base_url"}


def test_path_parameters_must_be_declared_and_required():
    doc = minimal_doc()
    doc["actions"][1]["path_schema"] = {"type": "object", "properties": {"id": {"type": "string"}}}
    del doc["actions"][1]["sample_input"]
    assert paths_of(doc) == {"/actions/1/path_schema"}


def test_the_test_action_must_exist_and_keys_must_be_unique():
    doc = minimal_doc()
    doc["test_action"] = "missing"
    doc["actions"][2]["key"] = "ping"
    assert paths_of(doc) == {"/test_action", "/actions/2/key"}


def test_auth_must_name_existing_fields_and_secrets_must_be_write_only():
    doc = minimal_doc()
    doc["auth"]["field"] = "token"
    assert paths_of(doc) == {"/auth/field"}
    doc = minimal_doc()
    doc["auth_fields"]["properties"]["api_key"] = {"type": "string"}
    assert paths_of(doc) == {"/auth_fields/properties/api_key/writeOnly"}


def test_sample_input_must_satisfy_the_action_schemas():
    doc = minimal_doc()
    doc["actions"][1]["sample_input"] = {"path": {"id": 7}}
    assert paths_of(doc) == {"/actions/1/sample_input/path/id"}


def test_a_retry_policy_whose_backoffs_contradict_is_refused_at_its_pointer():
    doc = minimal_doc()
    doc["actions"][2]["retry"] = {"base_delay": 20, "max_delay": 1}
    assert paths_of(doc) == {"/actions/2/retry"}


def test_older_retry_names_read_as_the_engine_vocabulary():
    # GIVEN a document written with the older names of the delays
    doc = minimal_doc()
    doc["actions"][2]["retry"] = {"max_attempts": 4, "initial_backoff_seconds": 0.25, "max_backoff_seconds": 3}
    # THEN they are the engine's base_delay and max_delay, and the step defaults carry them
    retry = validate_connector(copy.deepcopy(doc)).actions[2].retry
    assert retry == RetryPolicy(max_attempts=4, base_delay=0.25, max_delay=3, multiplier=2.0)
    # AND giving both names of one setting is refused
    doc["actions"][2]["retry"] = {"base_delay": 1, "initial_backoff_seconds": 1}
    assert paths_of(doc) == {"/actions/2/retry"}


def test_a_body_declared_on_a_bodiless_action_is_refused():
    doc = minimal_doc()
    doc["actions"][0]["body_schema"] = {"type": "object"}
    assert paths_of(doc) == {"/actions/0/body_encoding"}


@pytest.mark.parametrize("doc", [None, [], "x", 3])
def test_a_document_that_is_not_an_object_is_refused(doc):
    assert paths_of(doc) == {""}


def test_oauth2_defaults_and_input_schema_of_an_action():
    doc = minimal_doc()
    doc["auth"] = {
        "type": "oauth2",
        "authorize_url": "https://a.example/auth",
        "token_url": "https://a.example/token",
    }
    doc["auth_fields"] = {
        "type": "object",
        "properties": {"access_token": {"type": "string", "writeOnly": True}},
    }
    definition = validate_connector(copy.deepcopy(doc))
    assert isinstance(definition.auth, OAuth2Auth)
    assert definition.auth.pkce is True and definition.auth.client_auth == "client_secret_basic"
    schema = definition.action("create_item").input_schema
    assert schema["required"] == ["body"] and schema["additionalProperties"] is False
    assert "body" not in definition.action("ping").input_schema["properties"]


def test_a_retry_block_is_the_platform_retry_policy_with_a_call_budget():
    # GIVEN an action whose retry block sets every field of the format
    doc = minimal_doc()
    doc["actions"][2]["retry"] = {"max_attempts": 5, "base_delay": 0.25, "max_delay": 4, "multiplier": 3,
                                  "max_total_seconds": 60}
    # WHEN it is validated
    action = validate_connector(doc).action("create_item")
    # THEN it is the platform's RetryPolicy, in its own words, and the budget of a whole call
    assert action.retry == RetryPolicy(max_attempts=5, base_delay=0.25, max_delay=4, multiplier=3)
    assert action.max_total_seconds == 60
