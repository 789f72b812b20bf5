from __future__ import annotations

import pytest

from chalicelib.engine.errors import ConfigInvalid, NonRetryableStepError
from chalicelib.engine.node_config import prepare_config
from step_handlers import transform

PAYLOAD = {"order": {"id": 7, "lines": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]}, "customer": "c-1"}


def run(config, make_ctx, payload=PAYLOAD):
    # The runner renders the config first; RAW_CONFIG_KEYS stay as written.
    rendered = prepare_config(transform, config, payload)
    return transform.handle({"payload": payload}, rendered, make_ctx(), None)


def test_transform_output_replaces_the_payload(make_ctx):
    out = run({"output": {"order_id": "{{ order.id }}", "label": "Order {{ order.id }}"}}, make_ctx)
    assert out == {"order_id": 7, "label": "Order 7"}


def test_transform_merge_mode_keeps_the_input(make_ctx):
    out = run({"output": {"order_id": "{{ order.id }}"}, "mode": "merge"}, make_ctx)
    assert out == {**PAYLOAD, "order_id": 7}


def test_transform_maps_a_list_with_per_item_templates(make_ctx):
    config = {
        "output": {"customer": "{{ customer }}"},
        "over": "{{ order.lines }}",
        "each": {"sku": "{{ item.sku | upper }}", "n": "{{ index }}", "who": "{{ customer }}"},
        "into": "lines",
    }
    assert transform.RAW_CONFIG_KEYS == {"each"}
    out = run(config, make_ctx)
    assert out == {
        "customer": "c-1",
        "lines": [{"sku": "A", "n": 0, "who": "c-1"}, {"sku": "B", "n": 1, "who": "c-1"}],
    }


def test_transform_map_defaults_into_items(make_ctx):
    out = run({"over": "{{ order.lines }}", "each": "{{ item.qty }}"}, make_ctx)
    assert out == {"items": [2, 1]}


def test_transform_output_must_be_an_object_once_rendered(make_ctx):
    with pytest.raises(ConfigInvalid):
        run({"output": "{{ order.lines }}"}, make_ctx)


def test_transform_over_must_be_a_list_once_rendered(make_ctx):
    with pytest.raises(ConfigInvalid) as err:
        run({"over": "{{ customer }}", "each": "{{ item }}"}, make_ctx)
    assert err.value.details[0]["path"] == "/config/over"


def test_transform_bad_per_item_template_is_not_retryable(make_ctx):
    with pytest.raises(ConfigInvalid) as err:
        run({"over": "{{ order.lines }}", "each": "{{ item.qty | int }}x{{ item.sku | int }}"}, make_ctx)
    assert err.value.retryable is False
    assert "item 0" in err.value.details[0]["issue"]


def test_transform_refuses_to_map_too_many_items(make_ctx, monkeypatch):
    monkeypatch.setattr(transform, "MAX_MAP_ITEMS", 1)
    with pytest.raises(NonRetryableStepError) as err:
        run({"over": "{{ order.lines }}", "each": "{{ item }}"}, make_ctx)
    assert err.value.code == "too_many_items"


def test_transform_needs_output_or_each(make_ctx):
    with pytest.raises(ConfigInvalid):
        run({"mode": "merge"}, make_ctx)
