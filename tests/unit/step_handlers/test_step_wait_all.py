from __future__ import annotations

import pytest

from chalicelib.engine.errors import ConfigInvalid
from chalicelib.engine.node_config import prepare_config
from step_handlers import wait_all

AGGREGATE = {"branches": {"fetch_a": {"n": 1}, "fetch_b": {"n": 2}}, "skipped": ["fetch_c"]}


def test_returns_the_aggregate_the_runner_built(make_ctx):
    assert wait_all.handle({"payload": AGGREGATE}, {}, make_ctx(), None) == AGGREGATE


def test_output_template_reshapes_the_aggregate(make_ctx):
    config = prepare_config(
        wait_all, {"output": {"a": "{{ branches.fetch_a.n }}", "b": "{{ branches.fetch_b.n }}"}}, AGGREGATE
    )
    assert wait_all.handle({"payload": AGGREGATE}, config, make_ctx(), None) == {"a": 1, "b": 2}


def test_unknown_config_is_rejected(make_ctx):
    with pytest.raises(ConfigInvalid):
        wait_all.handle({"payload": AGGREGATE}, {"timeout": 3}, make_ctx(), None)
