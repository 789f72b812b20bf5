from __future__ import annotations

import pytest

from chalicelib.engine.errors import ConfigInvalid
from step_handlers import end


def test_end_passes_through_and_marks_the_run_output(make_ctx):
    ctx = make_ctx()
    out = end.handle({"payload": {"total": 3}}, {}, ctx, None)
    assert out == {"total": 3}
    assert ctx.outcome().run_output == {"total": 3}


def test_end_output_template_shapes_the_run_output(make_ctx):
    # GIVEN a config the runner already rendered against the input
    ctx = make_ctx()
    out = end.handle({"payload": {"total": 3, "noise": 1}}, {"output": {"sum": 3}}, ctx, None)
    assert out == {"sum": 3}
    assert ctx.outcome().run_output == {"sum": 3}


def test_end_output_that_rendered_to_nothing_is_a_config_error(make_ctx):
    with pytest.raises(ConfigInvalid) as err:
        end.handle({"payload": {}}, {"output": None}, make_ctx(), None)
    assert err.value.details[0]["path"] == "/config/output"


def test_end_has_no_output_ports():
    assert end.PORTS == []
