from __future__ import annotations

import pytest

from chalicelib.engine.errors import ConfigInvalid
from chalicelib.engine.node_config import prepare_config
from step_handlers import ports_of, switch

CONFIG = {
    "cases": [
        {"port": "eu", "when": {"left": "{{ country }}", "op": "in", "right": ["DE", "FR"]}},
        {"port": "big", "when": {"left": "{{ amount }}", "op": "gte", "right": 1000}},
        {"port": "de_big", "when": {"left": "{{ country }}", "op": "eq", "right": "DE"}},
    ]
}


def chosen(payload, make_ctx, config=CONFIG):
    ctx = make_ctx()
    out = switch.handle({"payload": payload}, prepare_config(switch, config, payload), ctx, None)
    assert out == payload
    return ctx.outcome().chosen_ports


def test_first_matching_case_wins(make_ctx):
    # DE matches "eu" and "de_big"; the first listed wins.
    assert chosen({"country": "DE", "amount": 5000}, make_ctx) == {"eu"}


def test_later_case_when_earlier_do_not_match(make_ctx):
    assert chosen({"country": "US", "amount": 5000}, make_ctx) == {"big"}


def test_default_when_nothing_matches(make_ctx):
    assert chosen({"country": "US", "amount": 5}, make_ctx) == {"default"}


def test_ports_come_from_the_cases_plus_default():
    assert switch.ports(CONFIG) == ["eu", "big", "de_big", "default"]
    assert ports_of("switch", CONFIG) == ["eu", "big", "de_big", "default"]
    assert switch.ports({}) == ["default"]


def test_duplicate_case_ports_are_reported():
    config = {"cases": [{"port": "a", "when": {"left": 1, "op": "eq", "right": 1}}] * 2}
    assert switch.check_config(config) == [{"path": "/cases/1/port", "issue": "duplicate port 'a'"}]


@pytest.mark.parametrize("port", ["default", "Bad", "1x", ""])
def test_case_ports_must_be_safe_names_other_than_default(make_ctx, port):
    config = {"cases": [{"port": port, "when": {"left": 1, "op": "eq", "right": 1}}]}
    with pytest.raises(ConfigInvalid):
        chosen({}, make_ctx, config)
