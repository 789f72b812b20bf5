from __future__ import annotations

import pytest

from chalicelib.engine.errors import ConfigInvalid
from chalicelib.engine.node_config import prepare_config
from step_handlers import merge_race


def test_returns_the_winning_payload(make_ctx):
    assert merge_race.handle({"payload": {"winner": "fast"}}, {}, make_ctx(), None) == {"winner": "fast"}


def test_output_template_reshapes_the_winner(make_ctx):
    config = prepare_config(merge_race, {"output": {"who": "{{ winner | upper }}"}}, {"winner": "fast"})
    assert merge_race.handle({"payload": {"winner": "fast"}}, config, make_ctx(), None) == {"who": "FAST"}


def test_output_must_be_an_object(make_ctx):
    with pytest.raises(ConfigInvalid):
        merge_race.handle({"payload": {}}, {"output": [1]}, make_ctx(), None)
