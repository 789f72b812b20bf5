from __future__ import annotations

import pytest

from chalicelib.engine.errors import ConfigInvalid
from chalicelib.engine.node_config import prepare_config
from step_handlers import condition

PAYLOAD = {"amount": 150, "country": "DE", "tags": ["vip"], "email": "a@example.com", "note": None}


def decide(rule, make_ctx, payload=PAYLOAD):
    ctx = make_ctx()
    out = condition.handle({"payload": payload}, prepare_config(condition, rule, payload), ctx, None)
    return ctx.outcome().chosen_ports, out


def test_true_rule_takes_the_true_port_and_passes_the_payload(make_ctx):
    ports, out = decide({"all": [{"left": "{{ amount }}", "op": "gt", "right": 100}]}, make_ctx)
    assert ports == {"true"}
    assert out == PAYLOAD


def test_false_rule_takes_the_false_port(make_ctx):
    ports, _ = decide({"all": [{"left": "{{ amount }}", "op": "lte", "right": 100}]}, make_ctx)
    assert ports == {"false"}


def test_any_group_and_nested_not(make_ctx):
    rule = {
        "any": [
            {"left": "{{ country }}", "op": "in", "right": ["FR", "ES"]},
            {"not": {"left": "{{ tags }}", "op": "contains", "right": "blocked"}},
        ]
    }
    assert decide(rule, make_ctx)[0] == {"true"}


def test_missing_path_is_tested_with_exists(make_ctx):
    assert decide({"left": "{{ nowhere.deep }}", "op": "not_exists"}, make_ctx)[0] == {"true"}
    assert decide({"left": "{{ email }}", "op": "exists"}, make_ctx)[0] == {"true"}


def test_right_side_may_be_an_expression_too(make_ctx):
    payload = {"a": 3, "b": 3}
    assert decide({"left": "{{ a }}", "op": "eq", "right": "{{ b }}"}, make_ctx, payload)[0] == {"true"}


def test_matches_uses_a_regular_expression(make_ctx):
    rule = {"left": "{{ email }}", "op": "matches", "right": r"@example\.com$"}
    assert decide(rule, make_ctx)[0] == {"true"}


def test_unknown_operator_is_a_config_error(make_ctx):
    with pytest.raises(ConfigInvalid):
        decide({"left": 1, "op": "between", "right": 2}, make_ctx)


def test_code_is_never_evaluated(make_ctx):
    # A string that looks like code is just a string compared as data.
    rule = {"left": "__import__('os').system('true')", "op": "eq", "right": True}
    assert decide(rule, make_ctx)[0] == {"false"}


def test_check_config_reports_an_invalid_literal_pattern():
    issues = condition.check_config({"all": [{"left": "x", "op": "matches", "right": "(unclosed"}]})
    assert issues and issues[0]["path"] == "/all/0/right"
