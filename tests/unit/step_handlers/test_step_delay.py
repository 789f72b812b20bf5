from __future__ import annotations

import pytest

from chalicelib.engine.errors import ConfigInvalid
from chalicelib.engine.node_config import prepare_config
from step_handlers import delay


def run(config, make_ctx, payload=None):
    payload = payload if payload is not None else {"x": 1}
    ctx = make_ctx()
    out = delay.handle({"payload": payload}, prepare_config(delay, config, payload), ctx, None)
    return ctx.outcome().successor_delay, out


def test_seconds_delay_successors_and_payload_passes(make_ctx):
    assert run({"seconds": 90}, make_ctx) == (90.0, {"x": 1})


def test_seconds_may_come_from_an_expression(make_ctx):
    assert run({"seconds": "{{ wait }}"}, make_ctx, {"wait": 12.5})[0] == 12.5


def test_until_counts_from_the_injected_clock(make_ctx):
    # The fixed clock says 2026-11-22T10:00:00Z.
    assert run({"until": "2026-11-22T11:30:00Z"}, make_ctx)[0] == 5400.0
    assert run({"until": "2026-11-22T12:30:00+01:00"}, make_ctx)[0] == 5400.0


def test_until_in_the_past_means_no_wait(make_ctx):
    assert run({"until": "2020-01-01T00:00:00Z"}, make_ctx)[0] == 0.0


def test_until_needs_an_offset(make_ctx):
    with pytest.raises(ConfigInvalid) as err:
        run({"until": "2026-11-22T11:30:00"}, make_ctx)
    assert err.value.details[0]["path"] == "/config/until"


@pytest.mark.parametrize("config", [{"seconds": 30 * 86_400 + 1}, {"until": "2026-12-23T10:00:01Z"}])
def test_at_most_thirty_days(make_ctx, config):
    with pytest.raises(ConfigInvalid):
        run(config, make_ctx)


def test_exactly_one_of_seconds_or_until(make_ctx):
    with pytest.raises(ConfigInvalid):
        run({"seconds": 1, "until": "2026-11-22T11:30:00Z"}, make_ctx)
    with pytest.raises(ConfigInvalid):
        run({}, make_ctx)


def test_check_config_reports_a_literal_bad_timestamp():
    assert delay.check_config({"until": "tomorrow"}) == [{"path": "/until", "issue": "not RFC 3339"}]
    assert delay.check_config({"until": "{{ when }}"}) == []
