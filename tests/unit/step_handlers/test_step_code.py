"""The code step handler: config, the request it makes, console lines into the step's logs."""

from __future__ import annotations

import pytest

from chalicelib.engine.code import CodeError, CodeRequest, CodeResult, CodeRunner, CodeTimeout, source_issues, to_script
from chalicelib.engine.errors import ConfigInvalid, StepTimeout
from chalicelib.engine.node_config import prepare_config
from step_handlers import code
from tests.support.graphs import validate_graph

SOURCE = "export default (payload, ctx) => ({ ...payload, source: 'stepline' })"


class RecordingRunner(CodeRunner):
    """Answers with a fixed result (or error) and keeps the requests it got."""

    def __init__(self, result: CodeResult | Exception) -> None:
        self.result = result
        self.requests: list[CodeRequest] = []

    def run(self, request: CodeRequest) -> CodeResult:
        self.requests.append(request)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_the_code_gets_the_payload_and_read_only_run_metadata(make_ctx):
    runner = RecordingRunner(CodeResult(output={"items": [1], "source": "stepline"}))
    ctx = make_ctx(code_runner=runner, node_name="tag_source", attempt=2, mode="test")
    out = code.handle({"payload": {"items": [1]}}, {"code": SOURCE}, ctx, None)
    assert out == {"items": [1], "source": "stepline"}
    request = runner.requests[0]
    assert request.payload == {"items": [1]} and request.source == SOURCE
    assert request.context == {"run_id": "run-1", "node_id": "node-1", "node_name": "tag_source", "attempt": 2,
                               "mode": "test", "instance_key": ""}
    assert request.timeout_seconds == 1.0


def test_the_time_limit_is_configurable_and_capped_by_the_step_deadline(make_ctx, fixed_clock):
    runner = RecordingRunner(CodeResult(output={}))
    ctx = make_ctx(code_runner=runner, deadline=fixed_clock.now().timestamp() + 0.25)
    code.handle({"payload": {}}, {"code": SOURCE, "timeout_ms": 5000}, ctx, None)
    assert runner.requests[0].timeout_seconds == pytest.approx(0.25)
    ctx = make_ctx(code_runner=runner, deadline=fixed_clock.now().timestamp() - 1)
    with pytest.raises(StepTimeout):
        code.handle({"payload": {}}, {"code": SOURCE}, ctx, None)


def test_console_lines_land_in_the_step_logs(make_ctx):
    runner = RecordingRunner(CodeResult(output={}, logs=(("info", "hello"), ("warning", "careful")), dropped_logs=3))
    ctx = make_ctx(code_runner=runner)
    code.handle({"payload": {}}, {"code": SOURCE}, ctx, None)
    assert [(line["level"], line["message"]) for line in ctx.logs] == [
        ("info", "hello"), ("warning", "careful"),
        ("warning", "3 console lines were dropped (over the step's log limit)."),
    ]


def test_console_lines_are_kept_when_the_code_fails(make_ctx):
    runner = RecordingRunner(CodeError("Error: nope", logs=(("error", "about to fail"),)))
    ctx = make_ctx(code_runner=runner)
    with pytest.raises(CodeError):
        code.handle({"payload": {}}, {"code": SOURCE}, ctx, None)
    assert [line["message"] for line in ctx.logs] == ["about to fail"]


def test_failures_are_not_retried(make_ctx):
    from chalicelib.engine.retry import is_retryable

    runner = RecordingRunner(CodeTimeout("too slow"))
    with pytest.raises(CodeTimeout) as err:
        code.handle({"payload": {}}, {"code": SOURCE}, make_ctx(code_runner=runner), None)
    assert not is_retryable(err.value)


def test_the_code_is_never_rendered_as_a_template():
    source = "export default (p) => ({ text: '{{ not a template }}', n: p.n })"
    assert prepare_config(code, {"code": source}, {"n": 1}) == {"code": source}


def test_the_config_is_checked(make_ctx):
    with pytest.raises(ConfigInvalid):
        code.handle({"payload": {}}, {"code": SOURCE, "timeout_ms": 10**6}, make_ctx(code_runner=None), None)
    assert code.check_config({"code": "const x = 1"})[0]["path"] == "/code"
    assert code.check_config({"code": SOURCE}) == []


def test_graph_validation_refuses_code_without_a_default_export_and_ignores_braces_in_code():
    def graph(source: str) -> dict:
        return {"nodes": [{"id": "s", "name": "start", "type": "start"},
                          {"id": "c", "name": "tag", "type": "code", "config": {"code": source}},
                          {"id": "e", "name": "end", "type": "end"}],
                "edges": [{"from": "s", "to": "c"}, {"from": "c", "to": "e"}]}

    assert validate_graph(graph("export default (p) => ({ t: '{{ x | explode }}' })")) == []
    issues = validate_graph(graph("function f() {}"))
    assert issues and issues[0]["path"] == "/nodes/1/config/code"


def test_only_one_default_export_is_allowed():
    assert source_issues("export default () => ({})\nexport default () => ({})")
    assert source_issues("  export default () => ({})") == []


def test_the_export_becomes_an_assignment_in_a_classic_script():
    script = to_script("const k = 1;\nexport default (p) => ({ k })")
    assert "__default = (p) => ({ k })" in script and "export" not in script


@pytest.mark.parametrize("config,pure", [
    ({"code": SOURCE}, True),
    ({"code": SOURCE, "timeout_ms": code.PURE_MAX_TIMEOUT_MS}, True),
    ({"code": SOURCE, "timeout_ms": code.PURE_MAX_TIMEOUT_MS + 1}, False),
    ({"code": SOURCE, "timeout_ms": "{{ t }}"}, False),
])
def test_a_code_step_runs_inside_its_runs_transaction_only_with_a_short_time_limit(config, pure):
    from step_handlers import CATALOG

    assert CATALOG.is_pure("code", config) is pure
    assert CATALOG.is_pure("http_request", {}) is False and CATALOG.is_pure("transform", {}) is True


def test_a_config_found_valid_is_not_checked_again_but_an_invalid_one_always_is(make_ctx, monkeypatch):
    from chalicelib.engine import config_schema

    # GIVEN a counter of schema checks
    checks: list[dict] = []
    original = config_schema.config_issues
    monkeypatch.setattr(config_schema, "config_issues",
                        lambda schema, config, **kw: checks.append(config) or original(schema, config, **kw))
    runner = RecordingRunner(CodeResult(output={}))
    source = SOURCE + "\n// memo " + str(id(checks))
    # WHEN the same node runs several times
    for _ in range(3):
        code.handle({"payload": {}}, {"code": source, "timeout_ms": 500}, make_ctx(code_runner=runner), None)
    # THEN its config was checked once
    assert checks == [{"code": source, "timeout_ms": 500}]
    # AND a config that differs only in a value's type is checked on its own, and refused every time
    for _ in range(2):
        with pytest.raises(ConfigInvalid):
            code.handle({"payload": {}}, {"code": source, "timeout_ms": True}, make_ctx(code_runner=runner), None)
        with pytest.raises(ConfigInvalid):
            code.handle({"payload": {}}, {"code": source, "timeout_ms": 500, "extra": 1}, make_ctx(code_runner=runner),
                        None)
    assert len(checks) == 5
    with pytest.raises(ConfigInvalid):
        code.handle({"payload": {}}, {"code": source, "timeout_ms": [1]}, make_ctx(code_runner=runner), None)
    assert len(runner.requests) == 3
