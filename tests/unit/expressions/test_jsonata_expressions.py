"""JSONata in node config: the marker, what expressions see, limits, caching, validation."""

from __future__ import annotations

import threading

import pytest

from chalicelib import expressions
from chalicelib import jsonata_expressions as jx
from chalicelib.engine.context import StepContext
from chalicelib.engine.node_config import prepare_config
from chalicelib.engine.retry import is_retryable
from step_handlers import condition, for_each, switch, transform
from tests.support.graphs import validate_graph

DATA = {"items": [1, 2, 3], "name": "x", "$env": {"REGION": "eu"}, "$secrets": {"api_key": "sk_live_abcdef123456"},
        "$trigger": {"kind": "webhook", "input": {"items": [1, 2, 3]}}, "$run": {"id": "run-1", "attempt": 1}}


def ctx() -> StepContext:
    return StepContext(run_id="run-1", node_id="n", tenant_id="t", workspace_id="w")


def test_the_marker_is_an_object_with_one_string_key():
    assert jx.is_jsonata({"$jsonata": "$sum(items)"})
    assert not jx.is_jsonata({"$jsonata": "$sum(items)", "other": 1})
    assert not jx.is_jsonata({"$jsonata": 3})
    assert not jx.is_jsonata("=$sum(items)")


def test_expressions_see_the_input_flat_and_the_run_as_variables():
    assert jx.evaluate("$sum(items)", DATA) == 6
    assert jx.evaluate("name & '-' & $env.REGION", DATA) == "x-eu"
    assert jx.evaluate("$trigger.kind", DATA) == "webhook"
    assert jx.evaluate("$run.id", DATA) == "run-1"
    # $-keys are variables, not fields of the input
    assert jx.evaluate("$keys($)", DATA) == ["items", "name"]


def test_expressions_never_see_secrets():
    assert jx.evaluate("$secrets", DATA) is None
    assert jx.evaluate("$string($secrets.api_key)", DATA) is None
    assert "sk_live" not in repr(jx.evaluate("$", DATA))


def test_templates_and_jsonata_mix_in_one_config():
    rendered = expressions.render({"sum": {"$jsonata": "$sum(items)"}, "who": "{{ name | upper }}",
                                   "list": [{"$jsonata": "items[$ > 1]"}]}, DATA)
    assert rendered == {"sum": 6, "who": "X", "list": [[2, 3]]}


def test_a_parsed_expression_is_cached_and_shared():
    jx.compiled.cache_clear()
    for _ in range(5):
        jx.evaluate("$count(items) * 2", DATA)
    info = jx.compiled.cache_info()
    assert (info.misses, info.hits) == (1, 4)


def test_a_runaway_expression_fails_clearly_and_is_not_retried():
    with jx.limits_in_effect(jx.JsonataLimits(timeout_ms=50)):
        with pytest.raises(jx.ExpressionTimeout) as err:
            jx.evaluate("$count([1..10000000].($ * 2))", {})
    assert err.value.code == "expression_timeout" and not is_retryable(err.value)
    with pytest.raises(jx.ExpressionTimeout):
        jx.evaluate("($f := function($n){ $f($n + 1) }; $f(0))", {})


def test_the_output_size_is_bounded():
    with jx.limits_in_effect(jx.JsonataLimits(max_output_bytes=1000)):
        with pytest.raises(jx.ExpressionOutputTooLarge) as err:
            jx.evaluate("[1..1000]", {})
    assert err.value.code == "expression_output_too_large" and not is_retryable(err.value)


def test_runtime_errors_are_step_errors_with_the_jsonata_code():
    with pytest.raises(jx.ExpressionFailed) as err:
        jx.evaluate("$error('boom')", {})
    assert err.value.code == "expression_failed" and "boom" in err.value.message
    assert err.value.info["jsonata_code"] == "D3137"
    with pytest.raises(jx.ExpressionFailed):
        jx.evaluate("function($x){$x}", {})  # a function is not JSON


def test_syntax_errors_name_the_position():
    problem = jx.syntax_problem("$sum(items")
    assert problem is not None and "S0203" in problem and "position" in problem
    assert jx.syntax_problem("") == "Empty JSONata expression."
    with pytest.raises(expressions.ExpressionError):
        expressions.validate({"x": {"$jsonata": "a.b."}})


def test_evaluations_on_threads_do_not_share_state():
    results: list[object] = []

    def work(n: int) -> None:
        for _ in range(50):
            results.append(jx.evaluate("$sum(items) + n", {"items": [1, 2], "n": n}) == 3 + n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results and all(results)


def test_transform_output_as_one_expression():
    config = {"output": {"$jsonata": "$merge([$, {'sum': $sum(items)}])"}}
    rendered = prepare_config(transform, config, DATA)
    assert transform.handle({"payload": DATA}, rendered, ctx(), None) == {"items": [1, 2, 3], "name": "x", "sum": 6}


def test_for_each_items_from_an_expression():
    rendered = prepare_config(for_each, {"items": {"$jsonata": "items[$ % 2 = 1]"}}, DATA)
    step = ctx()
    for_each.handle({"payload": DATA}, rendered, step, None)
    assert step.outcome().fan_out_items == (1, 3)


def test_condition_rules_as_expressions():
    for rule, port in (({"$jsonata": "$sum(items) > 5"}, "true"), ({"$jsonata": "name = 'y'"}, "false"),
                       ({"$jsonata": "missing > 1"}, "false"),
                       ({"all": [{"$jsonata": "$count(items) = 3"}, {"left": "{{ name }}", "op": "eq", "right": "x"}]},
                        "true")):
        step = ctx()
        condition.handle({"payload": DATA}, prepare_config(condition, rule, DATA), step, None)
        assert step.outcome().chosen_ports == {port}, rule


def test_a_rule_expression_must_give_a_boolean():
    step = ctx()
    with pytest.raises(Exception) as err:
        condition.handle({"payload": DATA}, prepare_config(condition, {"$jsonata": "items"}, DATA), step, None)
    assert getattr(err.value, "code", "") in ("rule_not_boolean", "config_invalid")


def test_switch_cases_as_expressions():
    config = {"cases": [{"port": "big", "when": {"$jsonata": "$sum(items) > 100"}},
                        {"port": "small", "when": {"$jsonata": "$sum(items) <= 100"}}]}
    step = ctx()
    switch.handle({"payload": DATA}, prepare_config(switch, config, DATA), step, None)
    assert step.outcome().chosen_ports == {"small"}


def _graph(config: dict, step_type: str = "transform") -> dict:
    return {"nodes": [{"id": "s", "name": "start", "type": "start"},
                      {"id": "t", "name": "sum_items", "type": step_type, "config": config},
                      {"id": "e", "name": "end", "type": "end"}],
            "edges": [{"from": "s", "to": "t"}, {"from": "t", "to": "e"}]}


def test_graph_validation_compiles_every_expression_and_names_the_node():
    issues = validate_graph(_graph({"output": {"sum": {"$jsonata": "$sum(items"}}}))
    assert [i["path"] for i in issues] == ["/nodes/1/config/output/sum/$jsonata"]
    assert issues[0]["issue"].startswith("node 'sum_items': JSONata syntax error")
    assert validate_graph(_graph({"output": {"sum": {"$jsonata": "$sum(items)"}}})) == []


@pytest.mark.parametrize("config,step_type", [
    ({"$jsonata": "amount >"}, "condition"),
    ({"items": {"$jsonata": "[1,2"}}, "for_each"),
    ({"cases": [{"port": "a", "when": {"$jsonata": "(("}}]}, "switch"),
    ({"url": "https://example.test", "json": {"total": {"$jsonata": "$sum("}}}, "http_request"),
])
def test_graph_validation_covers_every_place_data_is_shaped_or_tested(config, step_type):
    assert any("JSONata syntax error" in i["issue"] for i in validate_graph(_graph(config, step_type)))


def test_templated_fields_accept_the_marker_before_rendering():
    assert validate_graph(_graph({"seconds": {"$jsonata": "1 + 1"}}, "delay")) == []
    issues = validate_graph(_graph({"seconds": {"$jsonata": 5}}, "delay"))
    assert issues and "JSONata expression" in issues[0]["issue"]
