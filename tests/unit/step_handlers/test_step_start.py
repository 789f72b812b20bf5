from __future__ import annotations

import pytest

from chalicelib.engine.errors import ConfigInvalid
from step_handlers import start


def test_start_passes_the_run_input_through_unchanged(make_ctx):
    payload = {"order": {"id": 7, "lines": [1, 2]}}
    out = start.handle({"payload": payload}, {}, make_ctx(), None)
    assert out == payload
    assert out is not payload  # a copy: the stored start payload is never mutated


@pytest.mark.parametrize(("given", "expected"), [(None, {}), ([1, 2], {"payload": [1, 2]}), ("x", {"payload": "x"})])
def test_start_wraps_an_input_that_is_not_an_object(make_ctx, given, expected):
    assert start.handle({"payload": given}, {}, make_ctx(), None) == expected


def test_start_takes_no_config(make_ctx):
    with pytest.raises(ConfigInvalid) as err:
        start.handle({"payload": {}}, {"surprise": 1}, make_ctx(), None)
    assert err.value.retryable is False


def test_start_chooses_no_ports_so_every_edge_is_taken(make_ctx):
    ctx = make_ctx()
    start.handle({"payload": {}}, {}, ctx, None)
    assert ctx.outcome().chosen_ports is None
