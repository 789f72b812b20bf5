from __future__ import annotations

from chalicelib.engine.presets import apply_presets, merged, preset_issues, template_refs

GRAPH = {"nodes": [{"id": "s", "name": "s", "type": "start"},
                   {"id": "h", "name": "h", "type": "http_request", "template": "tpl:crm",
                    "config": {"headers": {"X-Extra": "1"}, "method": "POST"}},
                   {"id": "e", "name": "e", "type": "end", "template": "tpl:crm"}],
         "edges": []}
PRESETS = {"tpl:crm": {"step_type": "http_request",
                       "config": {"url": "https://crm.example/api", "method": "GET", "headers": {"X-Team": "ops"}}}}


def test_the_node_config_wins_over_the_preset_and_objects_merge_key_by_key():
    out = apply_presets(GRAPH, PRESETS)
    assert out["nodes"][1]["config"] == {"url": "https://crm.example/api", "method": "POST",
                                         "headers": {"X-Team": "ops", "X-Extra": "1"}}
    # the document itself is unchanged, and a node of another type keeps its own config
    assert GRAPH["nodes"][1]["config"] == {"headers": {"X-Extra": "1"}, "method": "POST"}
    assert out["nodes"][2] == GRAPH["nodes"][2]


def test_a_template_of_another_step_type_is_reported_on_the_node():
    assert preset_issues(GRAPH, PRESETS) == [{"path": "/nodes/2/template", "issue":
                                              "the template is a preset of a http_request node, not of a end node"}]


def test_refs_and_merge_helpers():
    assert template_refs(GRAPH) == {"tpl:crm"} and template_refs({"nodes": "x"}) == set()
    assert merged({"a": {"b": 1}, "c": [1]}, {"a": {"d": 2}, "c": [2]}) == {"a": {"b": 1, "d": 2}, "c": [2]}
    assert apply_presets(GRAPH, {}) is GRAPH
