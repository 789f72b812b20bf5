"""``$secrets`` only where a credential goes: refused on save elsewhere, never rendered elsewhere at run time."""

from __future__ import annotations

import pytest

from chalicelib import expressions
from chalicelib.engine.node_config import prepare_config
from step_handlers import STEP_TYPES, get_handler, secret_config_keys, transform
from step_handlers import http_request as http_step
from tests.support.graphs import validate_graph

SECRET = "tok_live_4242_abcd"
FILTERED = [
    "{{ $secrets.k }}",
    "{{ $secrets.k | upper }}",
    "{{ $secrets.k | lower }}",
    "{{ $secrets.k | trim | urlencode }}",
    "{{ $secrets.k | json }}",
    "{{ $secrets | keys }}",
    "prefix {{ $secrets.k | string }} suffix",
    "{{ $secrets['k'] | length }}",
    "{{$secrets.k|upper}}",
]


def _graph(node_type: str, config: dict) -> dict:
    node = {"id": "leak", "name": "leaky_step", "type": node_type, "config": config}
    if node_type == "action":
        node["template"] = "shop@1/get_order"
    if node_type == "end":  # the node under test ends the graph
        return {"nodes": [{"id": "s", "name": "s", "type": "start", "config": {}}, node],
                "edges": [{"from": "s", "to": "leak"}]}
    return {
        "nodes": [{"id": "s", "name": "s", "type": "start", "config": {}}, node,
                  {"id": "e", "name": "e", "type": "end", "config": {}}],
        "edges": [{"from": "s", "to": "leak"},
                  {"from": "leak", "to": "e", **({"port": "true"} if node_type == "condition" else {})}],
    }


# Every place a secret would flow into a payload, an output, a decision, a log or an event.
REFUSED = [
    ("transform", {"output": {"token": "{{ $secrets.k | upper }}"}}, "/nodes/1/config/output/token"),
    ("transform", {"over": "{{ xs }}", "each": {"t": "{{ $secrets.k }}"}}, "/nodes/1/config/each/t"),
    ("condition", {"left": "{{ $secrets.k | lower }}", "op": "eq", "right": "x"}, "/nodes/1/config/left"),
    ("end", {"output": {"t": "{{ $secrets.k }}"}}, "/nodes/1/config/output/t"),
    ("delay", {"seconds": "{{ $secrets.k | length }}"}, "/nodes/1/config/seconds"),
    ("http_request", {"url": "https://example.test/{{ $secrets.k }}"}, "/nodes/1/config/url"),
    ("for_each", {"items": "{{ xs }}", "context": {"t": "{{ $secrets.k }}"}}, "/nodes/1/config/context/t"),
]


@pytest.mark.parametrize(("node_type", "config", "path"), REFUSED)
def test_a_secret_outside_a_credential_place_is_refused_naming_the_node(node_type, config, path):
    graph = _graph(node_type, config)
    if node_type == "for_each":
        graph = {"nodes": [*graph["nodes"][:2], {"id": "j", "name": "j", "type": "wait_all", "config": {}},
                           graph["nodes"][2]],
                 "edges": [{"from": "s", "to": "leak"}, {"from": "leak", "to": "j", "port": "item"},
                           {"from": "j", "to": "e"}]}
    found = validate_graph(graph)
    assert [i["path"] for i in found] == [path]
    assert "'leaky_step'" in found[0]["issue"] and "$secrets" in found[0]["issue"]


@pytest.mark.parametrize("expression", FILTERED)
def test_every_form_of_a_reference_is_recognised(expression):
    assert expressions.uses_secrets(expression)
    found = validate_graph(_graph("transform", {"output": {"x": expression}}))
    assert [i["path"] for i in found] == ["/nodes/1/config/output/x"]


def test_outbound_request_parts_may_carry_secrets():
    ok = _graph("http_request", {"url": "https://example.test/x", "method": "POST",
                                 "headers": {"Authorization": "Bearer {{ $secrets.k }}"},
                                 "query": {"key": "{{ $secrets.k | urlencode }}"},
                                 "json": {"token": "{{ $secrets.k }}"}})
    assert validate_graph(ok) == []
    assert validate_graph(_graph("action", {"input": {"api_key": "{{ $secrets.k }}"}})) == []


def test_only_outbound_step_types_name_secret_keys():
    # a new step type is refused secrets everywhere unless it says where a credential goes
    allowed = {t: secret_config_keys(t) for t in STEP_TYPES if secret_config_keys(t)}
    assert allowed == {"http_request": {"headers", "query", "json", "form"}, "action": {"input"}}
    assert all(get_handler(t).NEEDS_CREDENTIALS for t in allowed)


def test_lookalikes_are_not_secret_references():
    for text in ['{{ "$secrets" }}', "{{ $env.k }}", "{{ order.$secrets }}", "$secrets.k", "{{ secrets.k }}"]:
        assert not expressions.uses_secrets(text), text


def test_the_runner_never_renders_a_misplaced_secret():
    # GIVEN a graph stored before the rule (a transform reading $secrets)
    config = {"output": {"t": "{{ $secrets.k | upper }}", "n": "{{ n }}"}}
    # WHEN its config is prepared with the secrets resolved
    seen: list = []
    rendered = prepare_config(transform, config, {"n": 1, "$secrets": {"k": "spoof"}},
                              secrets={"k": SECRET}, on_secret=seen.append)
    # THEN the reference does not resolve there, and nothing secret was used
    assert rendered == {"output": {"t": "", "n": 1}} and seen == []


def test_the_runner_reports_every_rendered_form_of_a_secret_for_masking():
    config = {"url": "https://example.test", "headers": {"A": "Bearer {{ $secrets.k | upper }}"},
              "query": {"q": "{{ $secrets.k | lower }}", "n": "{{ n }}"}}
    seen: list = []
    rendered = prepare_config(http_step, config, {"n": 1}, secrets={"k": SECRET}, on_secret=seen.append)
    assert rendered["headers"] == {"A": f"Bearer {SECRET.upper()}"} and rendered["query"]["q"] == SECRET.lower()
    assert sorted(seen) == sorted([SECRET.upper(), SECRET.lower()])


def test_masking_also_catches_a_remote_that_re_spells_the_secret():
    from chalicelib.masking import MASK, SecretMasker

    redactor = SecretMasker(show_hint=False)
    redactor.add_values({"type": "bearer", "token": "Ab/Cd+Ef-123"})
    echoed = {"a": "x AB/CD+EF-123 y", "b": ["ab/cd+ef-123"], "c": "Ab%2FCd%2BEf-123", "type": "bearer"}
    assert redactor.values(echoed) == {"a": f"x {MASK} y", "b": [MASK], "c": MASK, "type": "bearer"}


def test_literal_text_is_not_a_reference():
    # a code node's JavaScript is never rendered, so "{{ $secrets.k }}" in it is only text
    code = "export default (p) => ({ text: '{{ $secrets.k }}' });"
    assert validate_graph(_graph("code", {"code": code})) == []
