from __future__ import annotations

import pytest

from chalicelib.engine.errors import ConfigInvalid, NonRetryableStepError
from chalicelib.engine.node_config import prepare_config
from step_handlers import for_each

PAYLOAD = {"orders": [{"id": 1}, {"id": 2}, {"id": 3}], "shop": "s-1", "big": "x" * 1000}


def run(config, make_ctx, payload=PAYLOAD):
    ctx = make_ctx()
    out = for_each.handle({"payload": payload}, prepare_config(for_each, config, payload), ctx, None)
    return ctx.outcome().fan_out_items, out


def test_fans_out_the_items_and_returns_the_context(make_ctx):
    items, out = run({"items": "{{ orders }}", "context": {"shop": "{{ shop }}"}}, make_ctx)
    assert items == ({"id": 1}, {"id": 2}, {"id": 3})
    # Only the context travels with every item, not the whole input.
    assert out == {"shop": "s-1"}


def test_empty_list_fans_out_nothing(make_ctx):
    items, out = run({"items": []}, make_ctx)
    assert items == ()
    assert out == {}


def test_items_must_resolve_to_a_list(make_ctx):
    with pytest.raises(ConfigInvalid) as err:
        run({"items": "{{ shop }}"}, make_ctx)
    assert err.value.details[0]["path"] == "/config/items"
    with pytest.raises(ConfigInvalid):
        run({"items": "{{ nothing }}"}, make_ctx)


def test_more_items_than_allowed_fails_without_retry(make_ctx):
    with pytest.raises(NonRetryableStepError) as err:
        run({"items": "{{ orders }}", "max_items": 2}, make_ctx)
    assert err.value.code == "too_many_items"
    assert err.value.info == {"count": 3, "max_items": 2}


def test_max_items_cannot_exceed_the_platform_ceiling(make_ctx):
    with pytest.raises(ConfigInvalid):
        run({"items": [], "max_items": for_each.MAX_ITEMS + 1}, make_ctx)


def test_single_item_port():
    assert for_each.PORTS == ["item"]
