from __future__ import annotations

import pytest

from chalicelib.engine.config_schema import (
    EXPRESSION_SCHEMA,
    config_issues,
    pointer,
    require_config,
    strict_schema,
    templated,
)
from chalicelib.engine.errors import ConfigInvalid
from chalicelib.engine.node_config import prepare_config, split_config, step_policies
from chalicelib.engine.retry import RetryPolicy, StepTimeouts
from step_handlers import transform

SCHEMA = {
    "type": "object",
    "properties": {"seconds": templated({"type": "number", "minimum": 0}), "label": {"type": "string"}},
    "additionalProperties": False,
}


def test_templated_fields_accept_an_expression_before_rendering_only():
    assert config_issues(SCHEMA, {"seconds": "{{ wait }}"}, rendered=False) == []
    after = config_issues(SCHEMA, {"seconds": "{{ wait }}"}, rendered=True)
    assert after and after[0]["path"] == "/seconds"
    assert config_issues(SCHEMA, {"seconds": 5}, rendered=True) == []


def test_text_around_an_expression_is_not_a_number():
    issues = config_issues(SCHEMA, {"seconds": "about {{ wait }}"}, rendered=False)
    assert issues == [{"path": "/seconds", "issue": "must be number, a {{ … }} expression or a JSONata expression"}]


def test_strict_schema_drops_the_expression_alternative():
    assert EXPRESSION_SCHEMA["pattern"] not in str(strict_schema(SCHEMA))
    assert strict_schema(SCHEMA)["properties"]["seconds"] == {"type": "number", "minimum": 0}


def test_require_config_points_into_the_config():
    with pytest.raises(ConfigInvalid) as err:
        require_config(SCHEMA, {"seconds": -1, "extra": 1})
    assert sorted(d["path"] for d in err.value.details) == ["/config", "/config/seconds"]


def test_pointer_escapes_per_rfc_6901():
    assert pointer(["a/b", "c~d", 0]) == "/a~1b/c~0d/0"


def test_split_config_separates_the_runner_settings():
    handler, runner = split_config({"output": {}, "retry": {"max_attempts": 5}, "timeout_seconds": 10})
    assert handler == {"output": {}}
    assert runner == {"retry": {"max_attempts": 5}, "timeout_seconds": 10}


def test_prepare_config_renders_except_raw_keys_and_drops_runner_settings():
    config = {
        "output": {"n": "{{ n }}"},
        "over": "{{ xs }}",
        "each": "{{ item }}",
        "retry": {"max_attempts": 2},
    }
    prepared = prepare_config(transform, config, {"n": 1, "xs": [1]})
    assert prepared == {"output": {"n": 1}, "over": [1], "each": "{{ item }}"}


def test_prepare_config_turns_a_render_failure_into_config_invalid():
    with pytest.raises(ConfigInvalid) as err:
        prepare_config(transform, {"output": {"n": "{{ n | int }}"}}, {"n": "abc"})
    assert err.value.details[0]["path"] == "/config/output"


def test_step_policies_layer_node_over_action_over_platform():
    retry, timeouts = step_policies(
        {"retry": {"max_attempts": 5}, "timeout_seconds": 20},
        {"retry": {"max_attempts": 4, "base_delay": 2.0}, "timeout_seconds": 45},
    )
    assert retry == RetryPolicy(max_attempts=5, base_delay=2.0)
    assert timeouts == StepTimeouts(step_seconds=20)
    retry, timeouts = step_policies({}, {"timeout_seconds": 45})
    assert retry == RetryPolicy()
    assert timeouts.step_seconds == 45


class _CountedChecks:
    def __init__(self, monkeypatch):
        from chalicelib.engine import config_schema

        self.configs: list = []
        original = config_schema.config_issues
        monkeypatch.setattr(config_schema, "config_issues",
                            lambda schema, config, **kw: self.configs.append(config) or original(schema, config, **kw))


def test_every_step_type_checks_a_rendered_config_once_per_distinct_config(monkeypatch):
    # GIVEN a counter of schema checks, and a schema of its own (nothing remembered yet)
    checks = _CountedChecks(monkeypatch)
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}, "tags": {"type": "array",
              "items": {"type": "string"}}, "mode": {"enum": ["a", "b"]}}, "additionalProperties": False}
    config = {"n": 1, "tags": ["x", "y"], "mode": "a"}
    # WHEN the same config (an equal one, not the same object) is required several times
    for _ in range(3):
        assert require_config(schema, {**config, "tags": list(config["tags"])}) is not None
    # THEN it was checked once
    assert len(checks.configs) == 1
    # AND a config differing only in a value's type, or deep inside, is checked on its own
    for other in ({**config, "n": 1.0}, {**config, "n": True}, {**config, "tags": ["x", 1]}, {**config, "mode": "b"}):
        try:
            require_config(schema, other)
        except ConfigInvalid:
            pass
    assert len(checks.configs) == 5
    # AND an invalid config is refused every time, with every problem named
    for _ in range(2):
        with pytest.raises(ConfigInvalid) as err:
            require_config(schema, {"n": -1, "tags": [1]})
        assert sorted(d["path"] for d in err.value.details) == ["/config/n", "/config/tags/0"]
    assert len(checks.configs) == 7
    # AND the same config under another schema is checked under that one
    with pytest.raises(ConfigInvalid):
        require_config({"type": "object", "properties": {"n": {"maximum": 0}}}, config)
    # AND a config too large to remember is checked every time
    big = {"n": 1, "tags": ["x" * 60_000, "y" * 60_000], "mode": "a"}
    require_config(schema, big)
    require_config(schema, big)
    assert len(checks.configs) == 10


def test_a_transforms_rendered_output_is_checked_by_its_type_whatever_the_payload(monkeypatch):
    # GIVEN a counter of schema checks
    checks = _CountedChecks(monkeypatch)
    # WHEN transforms with outputs rendered from different payloads run
    for n in range(5):
        transform.handle({"payload": {}}, {"output": {"n": n, "seen": [n] * n}, "mode": "merge"}, None, None)
    # THEN the config was checked once: only the output's type decides (an object)
    assert len(checks.configs) <= 1
    # AND an output that is not an object is refused every time
    for _ in range(2):
        with pytest.raises(ConfigInvalid):
            transform.handle({"payload": {}}, {"output": 5, "mode": "merge"}, None, None)
    # AND a value the type alone does not decide (mode's enum) is still checked
    with pytest.raises(ConfigInvalid):
        transform.handle({"payload": {}}, {"output": {"n": 1}, "mode": "sideways"}, None, None)
