"""Building the wire request from templates and input."""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import pytest

from chalicelib.connectors.auth import adapter_for
from chalicelib.connectors.catalog import get_builtin
from chalicelib.connectors.errors import InvalidActionInput, InvalidUpstreamUrl
from chalicelib.connectors.format import validate_connector
from chalicelib.connectors.request_builder import (
    build_request,
    check_call,
    effective_settings,
    flatten_params,
)


def connector(**action_overrides: Any):
    action = {
        "key": "act",
        "name": "Act",
        "method": "POST",
        "path": "/things/{{ path.id }}/sub",
        "path_schema": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        **action_overrides,
    }
    return validate_connector(
        {
            "name": "T",
            "slug": "tt",
            "vendor": "T",
            "category": "test",
            "base_url": "https://api.example.com/{{ settings.version }}",
            "auth": {"type": "api_key", "in": "query", "name": "api_key", "field": "key"},
            "auth_fields": {"type": "object", "properties": {"key": {"type": "string", "writeOnly": True}}},
            "settings_schema": {
                "type": "object",
                "properties": {
                    "version": {"type": "string", "default": "v2"},
                    "base_url": {"type": "string"},
                },
            },
            "default_headers": {"X-Client": "stepline"},
            "actions": [action],
            "test_action": "act",
        }
    )


def build(definition, input: dict, settings: dict | None = None, credentials: dict | None = None, key=None):
    action = definition.actions[0]
    return build_request(
        definition,
        action,
        adapter_for(definition.auth),
        input=input,
        settings=effective_settings(definition, settings),
        credentials=credentials or {"key": "k-123456"},
        idempotency_key=key,
    )


def test_path_parameters_are_url_encoded_and_settings_defaults_apply():
    built = build(connector(), {"path": {"id": "a b/../c?d"}})
    assert built.request.url == "https://api.example.com/v2/things/a%20b%2F..%2Fc%3Fd/sub?api_key=k-123456"


def test_a_base_url_setting_replaces_the_template():
    built = build(connector(), {"path": {"id": "1"}}, settings={"base_url": "http://127.0.0.1:9/mock/"})
    assert built.request.url.startswith("http://127.0.0.1:9/mock/things/1/sub?")


@pytest.mark.parametrize(
    "base", ["ftp://x.example", "https://user:pw@x.example", "https://x.example/?q=1", "https://"]
)
def test_a_base_url_that_is_not_a_clean_http_url_is_refused(base):
    with pytest.raises(InvalidUpstreamUrl):
        build(connector(), {"path": {"id": "1"}}, settings={"base_url": base})


def test_raw_path_parameters_keep_slashes_but_never_escape_the_base():
    http = get_builtin("http")
    action = http.action("http_get")
    adapter = adapter_for(http.auth)
    settings = {"base_url": "https://api.example.com/v1"}
    ok = build_request(
        http, action, adapter, input={"path": {"path": "/users/42 x"}}, settings=settings, credentials={}
    )
    assert ok.request.url == "https://api.example.com/v1/users/42%20x"
    for evil in ("../admin", "a/./b", "a/.."):
        with pytest.raises(InvalidUpstreamUrl):
            build_request(
                http, action, adapter, input={"path": {"path": evil}}, settings=settings, credentials={}
            )
    # A percent sign is data, not an escape: "%2e%2e" travels as "%252e%252e" and cannot become "..".
    encoded = build_request(
        http, action, adapter, input={"path": {"path": "x/%2e%2e/y"}}, settings=settings, credentials={}
    )
    assert encoded.request.url == "https://api.example.com/v1/x/%252e%252e/y"


def test_json_bodies_keep_types_and_templates_drop_unset_optional_values():
    definition = connector(
        body={"name": "{{ body.name }}", "count": "{{ body.count }}", "note": "{{ body.note }}"}
    )
    built = build(definition, {"path": {"id": "1"}, "body": {"name": "x", "count": 3}})
    assert json.loads(built.request.body) == {"name": "x", "count": 3}
    assert built.request.headers["Content-Type"] == "application/json; charset=utf-8"


def test_form_bodies_use_bracket_encoding_for_nested_values():
    definition = connector(body_encoding="form")
    body = {
        "email": "a@b.c",
        "metadata": {"order": "42"},
        "items": [{"price": "p_1", "quantity": 2}],
        "on": True,
    }
    built = build(definition, {"path": {"id": "1"}, "body": body})
    form = urllib.parse.parse_qsl(built.request.body.decode())
    assert form == [
        ("email", "a@b.c"),
        ("metadata[order]", "42"),
        ("items[0][price]", "p_1"),
        ("items[0][quantity]", "2"),
        ("on", "true"),
    ]
    assert built.request.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_flatten_params_repeats_top_level_list_keys_and_skips_none():
    assert flatten_params({"tag": ["a", "b"], "x": None, "n": {"l": [1, 2]}}) == [
        ("tag", "a"),
        ("tag", "b"),
        ("n[l][0]", "1"),
        ("n[l][1]", "2"),
    ]


def test_auth_is_applied_last_so_templates_and_input_cannot_override_it():
    definition = get_builtin("http")
    action = definition.action("http_get")
    built = build_request(
        get_builtin("slack"),
        get_builtin("slack").action("auth_test"),
        adapter_for(get_builtin("slack").auth),
        input={},
        settings={"base_url": "https://slack.example"},
        credentials={"token": "xoxb-real-token-value"},
    )
    assert built.request.headers["Authorization"] == "Bearer xoxb-real-token-value"
    generic = build_request(
        definition,
        action,
        adapter_for(definition.auth),
        input={"path": {"path": "x"}, "headers": {"X-Custom": "1"}},
        settings={"base_url": "https://api.example.com"},
        credentials={},
    )
    assert generic.request.headers == {"X-Custom": "1"}


def test_header_values_with_line_breaks_are_refused():
    definition = get_builtin("http")
    with pytest.raises(InvalidActionInput) as caught:
        build_request(
            definition,
            definition.action("http_get"),
            adapter_for(definition.auth),
            input={"path": {"path": ""}, "headers": {"X-A": "1\r\nInjected: yes"}},
            settings={"base_url": "https://api.example.com"},
            credentials={},
        )
    assert caught.value.details == [{"path": "/input/headers/X-A", "issue": "contains a line break"}]


def test_basic_auth_encodes_the_stripe_key_as_username_with_empty_password():
    stripe = get_builtin("stripe")
    built = build_request(
        stripe,
        stripe.action("retrieve_balance"),
        adapter_for(stripe.auth),
        input={},
        settings=effective_settings(stripe, {}),
        credentials={"secret_key": "sk_test_abc"},
        idempotency_key="run-1:node-2:1",
    )
    assert built.request.headers["Authorization"] == "Basic " + base64.b64encode(b"sk_test_abc:").decode()
    assert built.request.headers["Idempotency-Key"] == "run-1:node-2:1"
    assert "Stripe-Version" not in built.request.headers  # unset optional setting: header omitted


def test_check_call_reports_input_settings_and_credentials_without_quoting_secrets():
    shopify = get_builtin("shopify")
    with pytest.raises(InvalidActionInput) as caught:
        check_call(
            shopify,
            shopify.action("get_product"),
            input={"path": {"product_id": "abc"}, "extra": 1},
            settings=effective_settings(shopify, {"shop": "evil.com/"}),
            credentials={"access_token": 12345678},
        )
    details = caught.value.details
    assert {d["path"] for d in details} == {
        "/input/extra",
        "/input/path/product_id",
        "/settings/shop",
        "/credentials/access_token",
    }
    assert "12345678" not in json.dumps(details)
