from __future__ import annotations

import pytest

from chalicelib.engine.graph import Graph
from chalicelib.errors import ValidationFailed
from tests.support.graphs import parse_graph, validate_graph

CONFIGS = {
    "for_each": {"items": "{{ xs }}"},
    "condition": {"left": "{{ a }}", "op": "eq", "right": 1},
    "delay": {"seconds": 5},
    "transform": {"output": {}},
    "http_request": {"url": "https://example.test/x"},
    "switch": {"cases": [{"port": "eu", "when": {"left": 1, "op": "eq", "right": 1}}]},
}


def doc(nodes: dict[str, str], *edges: str, **overrides) -> dict:
    """``doc({"s": "start", "e": "end"}, "s->e", "c:true->x")``: ids double as names."""
    node_list = []
    for node_id, step_type in nodes.items():
        node = {"id": node_id, "name": node_id, "type": step_type, "config": dict(CONFIGS.get(step_type, {}))}
        if step_type == "action":
            node["template"] = "shop@1/get_order"
        node.update(overrides.get(node_id, {}))
        node_list.append(node)
    edge_list = []
    for text in edges:
        source, target = text.split("->")
        from_node, _, port = source.partition(":")
        edge_list.append({"from": from_node, "to": target, **({"port": port} if port else {})})
    return {"nodes": node_list, "edges": edge_list}


def issues(data, **callbacks) -> list[tuple[str, str]]:
    return [(i["path"], i["issue"]) for i in validate_graph(data, **callbacks)]


def paths(data, **callbacks) -> list[str]:
    return [p for p, _ in issues(data, **callbacks)]


LINEAR = doc({"s": "start", "t": "transform", "e": "end"}, "s->t", "t->e")
DIAMOND = doc(
    {"s": "start", "c": "condition", "a": "transform", "b": "transform", "j": "wait_all", "e": "end"},
    "s->c", "c:true->a", "c:false->b", "a->j", "b->j", "j->e",
)  # fmt: skip


def test_a_valid_graph_is_indexed_for_the_runner():
    graph = parse_graph(DIAMOND)
    assert isinstance(graph, Graph)
    assert list(graph.nodes) == ["s", "c", "a", "b", "j", "e"]
    assert graph.start_id == "s" and graph.end_ids == ("e",)
    assert graph.successors("c") == ("a", "b")
    assert graph.predecessors("j") == ("a", "b")
    assert [e.port for e in graph.outgoing("c")] == ["true", "false"]
    assert [e.from_node for e in graph.incoming("j")] == ["a", "b"]
    assert graph.ports("c") == ["true", "false"]
    assert graph.by_name("j").type == "wait_all"
    assert graph.topological_order == ("s", "c", "a", "b", "j", "e")
    assert graph.depth("a") == 0 and graph.enclosing_for_each("a") is None


def test_topological_order_puts_every_node_after_its_predecessors():
    data = doc({"e": "end", "j": "wait_all", "b": "transform", "a": "transform", "s": "start"},
               "s->a", "s->b", "a->j", "b->j", "j->e")  # fmt: skip
    order = parse_graph(data).topological_order
    assert order.index("s") < order.index("a") < order.index("j") < order.index("e")
    assert order.index("b") < order.index("j")


def test_downstream_of_a_node_is_the_node_and_all_it_reaches():
    graph = parse_graph(DIAMOND)
    assert graph.downstream_of("a") == {"a", "j", "e"}
    assert graph.downstream_of("c") == {"c", "a", "b", "j", "e"}
    assert graph.downstream_of("e") == {"e"}
    assert graph.downstream_of("s") == set(graph.nodes)


def test_round_trip_through_to_dict():
    graph = parse_graph(DIAMOND)
    again = parse_graph(graph.to_dict())
    assert again.to_dict() == graph.to_dict()
    assert graph.to_dict()["edges"][0] == {"from": "s", "to": "c", "port": "out"}


def test_port_defaults_to_out():
    assert parse_graph(LINEAR).edges[0].port == "out"


def test_every_problem_of_a_layer_is_reported_at_once():
    data = doc({"s": "start", "Bad": "transform", "x": "teleport", "e": "end"}, "s->Bad", "Bad->e", "Bad->x")
    assert paths(data) == ["/nodes/1/name", "/nodes/2/type"]


def test_bad_nodes_an_unknown_endpoint_and_a_cycle_are_reported_together():
    # GIVEN a graph with a node problem, an edge to a node that does not exist and a cycle
    data = doc(
        {"s": "start", "m": "merge_race", "a": "transform", "b": "transform", "x": "teleport", "e": "end"},
        "s->m", "m->a", "a->b", "b->m", "b->e", "a->ghost", "s->x",
    )  # fmt: skip
    # WHEN it is validated
    found = issues(data)
    # THEN every problem is in the one answer
    assert ("/nodes/4/type", found[0][1]) in found and "unknown step type" in found[0][1]
    assert ("/edges/5/to", "no node with id 'ghost'") in found
    assert ("/edges/3", "edge closes a cycle: m → a → b → m") in found
    assert len(found) == 3, found


def test_edges_from_a_node_of_unknown_type_are_not_blamed_for_its_ports():
    data = doc({"s": "start", "x": "teleport", "e": "end"}, "s->x", "x:anywhere->e")
    assert paths(data) == ["/nodes/1/type"]


def test_parse_graph_raises_validation_failed_with_prefixed_pointers():
    data = doc({"s": "start", "x": "teleport", "e": "end"}, "s->x", "x->e")
    with pytest.raises(ValidationFailed) as err:
        parse_graph(data, pointer_prefix="/graph")
    assert err.value.status == 422
    assert err.value.details[0]["path"] == "/graph/nodes/1/type"


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ([], ""),
        ({"nodes": []}, ""),
        ({"nodes": [{"id": "s", "name": "s"}], "edges": []}, "/nodes/0"),
        ({"nodes": [], "edges": [{"from": "a", "to": "b", "weight": 1}]}, "/edges/0"),
        ({"nodes": [{"id": "", "name": "s", "type": "start"}], "edges": []}, "/nodes/0/id"),
    ],
)
def test_document_shape(data, path):
    assert path in paths(data)


@pytest.mark.parametrize(
    ("data", "path", "issue"),
    [
        (doc({"s": "start", "t": "nope", "e": "end"}, "s->t", "t->e"), "/nodes/1/type", "unknown step type"),
        (doc({"s": "start", "e": "end"}, "s->e", e={"id": "s"}), "/nodes/1/id", "duplicate id"),
        (doc({"s": "start", "e": "end"}, "s->e", e={"name": "s"}), "/nodes/1/name", "duplicate name"),
        (doc({"s": "start", "e": "end"}, "s->e", e={"name": "9lives"}), "/nodes/1/name", "must match"),
        (doc({"s": "start", "e": "end"}, "s->e", e={"name": "a" * 64}), "/nodes/1/name", "must match"),
        (doc({"s": "start", "a": "action", "e": "end"}, "s->a", "a->e", a={"template": None}),
         "/nodes/1/template", "needs a template"),
        (doc({"s": "start", "d": "delay", "e": "end"}, "s->d", "d->e", d={"config": {"seconds": "soon"}}),
         "/nodes/1/config/seconds", "expression"),
        (doc({"s": "start", "t": "transform", "e": "end"}, "s->t", "t->e",
             t={"config": {"output": {"x": "{{ a | explode }}"}}}),
         "/nodes/1/config/output/x", "Unknown filter"),
        (doc({"s": "start", "t": "transform", "e": "end"}, "s->t", "t->e",
             t={"config": {"output": {}, "retry": {"max_attempts": 0}}}),
         "/nodes/1/config/retry/max_attempts", ""),
        (doc({"s": "start", "t": "transform", "e": "end"}, "s->t", "t->e",
             t={"config": {"output": {}, "retry": {"base_delay": 9, "max_delay": 1}}}),
         "/nodes/1/config/retry/max_delay", "base_delay"),
        (doc({"s": "start", "t": "transform", "e": "end"}, "s->t", "t->e",
             t={"config": {"output": {}, "timeout_seconds": 5000}}), "/nodes/1/config/timeout_seconds", ""),
        (doc({"s": "start", "w": "switch", "e": "end"}, "s->w", "w:eu->e",
             w={"config": {"cases": [{"port": "eu", "when": {"left": 1, "op": "eq", "right": 1}}] * 2}}),
         "/nodes/1/config/cases/1/port", "duplicate port"),
        (doc({"s": "start", "t": "transform", "e": "end"}, "s->t", "t->e", t={"connection_id": "conn-1"}),
         "/nodes/1/connection_id", "takes no connection"),
        (doc({"s": "start", "e": "end"}, "s->x"), "/edges/0/to", "no node with id 'x'"),
        (doc({"s": "start", "e": "end"}, "y->e", "s->e"), "/edges/0/from", "no node with id 'y'"),
        (doc({"s": "start", "c": "condition", "e": "end"}, "s->c", "c:maybe->e"), "/edges/1/port", "no port"),
        (doc({"s": "start", "c": "condition", "e": "end"}, "s->c", "c->e"),
         "/edges/1/port", "ports: true, false"),
        (doc({"s": "start", "e": "end", "f": "end"}, "s->e", "e->f"), "/edges/1/port", "ports: none"),
        (doc({"s": "start", "t": "transform", "e": "end"}, "s->t", "t->e", "t->s"),
         "/edges/2/to", "start node"),
        (doc({"s": "start", "e": "end"}, "s->e", "s->e"), "/edges/1", "duplicate of /edges/0"),
        (doc({"s": "start", "j": "merge_race", "e": "end"}, "s->j", "j->j", "j->e"), "/edges/1", "itself"),
        (doc({"t": "transform", "e": "end"}, "t->e"), "/nodes", "exactly one start"),
        (doc({"s": "start", "s2": "start", "e": "end"}, "s->e"), "/nodes/1/type", "only one start"),
        (doc({"s": "start", "t": "transform"}, "s->t"), "/nodes", "at least one end"),
        (doc({"s": "start", "a": "transform", "b": "transform", "e": "end"}, "s->a", "s->b", "a->e", "b->e"),
         "/edges/3/to", "only wait_all and merge_race"),
        (doc({"s": "start", "t": "transform", "e": "end", "lost": "transform"}, "s->t", "t->e"),
         "/nodes/3", "not reachable"),
    ],
)  # fmt: skip
def test_each_rule_points_at_the_failing_part(data, path, issue):
    found = issues(data)
    assert any(p == path and issue in text for p, text in found), found


def test_callbacks_check_templates_and_connections():
    data = doc({"s": "start", "a": "action", "e": "end"}, "s->a", "a->e", a={"connection_id": "conn-9"})
    assert issues(data) == []  # without callbacks nothing is looked up
    found = issues(data, template_exists=lambda ref: False, connection_ok=lambda cid: False)
    assert found == [
        ("/nodes/1/template", "no such action template"),
        ("/nodes/1/connection_id", "no such connection in this workspace"),
    ]
    seen = []
    ok = issues(data, template_exists=lambda ref: seen.append(ref) or True, connection_ok=lambda cid: True)
    assert ok == [] and seen == ["shop@1/get_order"]


def test_http_request_may_take_a_connection():
    data = doc({"s": "start", "h": "http_request", "e": "end"}, "s->h", "h->e", h={"connection_id": "c1"})
    assert issues(data, connection_ok=lambda cid: cid == "c1") == []


def test_a_cycle_is_reported_on_an_edge_that_closes_it():
    data = doc(
        {"s": "start", "m": "merge_race", "a": "transform", "b": "transform", "e": "end"},
        "s->m", "m->a", "a->b", "b->m", "b->e",
    )  # fmt: skip
    found = issues(data)
    assert found == [("/edges/3", "edge closes a cycle: m → a → b → m")]


def test_joins_may_have_several_incoming_edges_and_one_node_may_feed_them_twice():
    # GIVEN a condition whose two ports both lead to the same merge_race
    data = doc({"s": "start", "c": "condition", "m": "merge_race", "e": "end"},
               "s->c", "c:true->m", "c:false->m", "m->e")  # fmt: skip
    graph = parse_graph(data)
    assert graph.predecessors("m") == ("c",)
    assert parse_graph(DIAMOND).predecessors("j") == ("a", "b")


def test_switch_ports_follow_its_cases():
    data = doc({"s": "start", "w": "switch", "a": "end", "b": "end"}, "s->w", "w:eu->a", "w:default->b")
    assert parse_graph(data).ports("w") == ["eu", "default"]


# -- for_each scopes ------------------------------------------------------------------------------------

FAN = doc(
    {"s": "start", "f": "for_each", "a": "transform", "b": "transform", "j": "wait_all", "e": "end"},
    "s->f", "f:item->a", "a->b", "b->j", "j->e",
)  # fmt: skip


def test_for_each_body_and_join():
    graph = parse_graph(FAN)
    assert graph.fan_in_join("f") == "j"
    assert graph.body("f") == {"a", "b"}
    assert graph.closes("j") == "f"
    assert [graph.depth(n) for n in ("s", "f", "a", "b", "j", "e")] == [0, 0, 1, 1, 0, 0]
    assert graph.enclosing_for_each("b") == "f"


def test_nested_for_each_pairs_joins_like_brackets():
    data = doc(
        {"s": "start", "f": "for_each", "g": "for_each", "x": "transform", "jg": "wait_all",
         "y": "transform", "jf": "wait_all", "e": "end"},
        "s->f", "f:item->g", "g:item->x", "x->jg", "jg->y", "y->jf", "jf->e",
    )  # fmt: skip
    graph = parse_graph(data)
    assert graph.fan_in_join("g") == "jg" and graph.fan_in_join("f") == "jf"
    assert graph.body("f") == {"g", "x", "jg", "y"}
    assert graph.body("g") == {"x"}
    assert [graph.depth(n) for n in ("f", "g", "x", "jg", "y", "jf")] == [0, 1, 2, 1, 1, 0]
    assert graph.enclosing_for_each("x") == "g" and graph.enclosing_for_each("y") == "f"


def test_for_each_body_may_branch_and_rejoin_at_its_join():
    data = doc(
        {"s": "start", "f": "for_each", "c": "condition", "a": "transform", "b": "transform",
         "j": "wait_all", "e": "end"},
        "s->f", "f:item->c", "c:true->a", "c:false->b", "a->j", "b->j", "j->e",
    )  # fmt: skip
    assert parse_graph(data).body("f") == {"c", "a", "b"}


def test_for_each_straight_into_its_join():
    graph = parse_graph(doc({"s": "start", "f": "for_each", "j": "wait_all", "e": "end"},
                            "s->f", "f:item->j", "j->e"))  # fmt: skip
    assert graph.fan_in_join("f") == "j" and graph.body("f") == frozenset()


@pytest.mark.parametrize(
    ("data", "path", "issue"),
    [
        (doc({"s": "start", "f": "for_each", "a": "transform", "e": "end"}, "s->f", "f:item->a", "a->e"),
         "/nodes/3", "end node inside the body"),
        (doc({"s": "start", "f": "for_each", "a": "transform", "e": "end"}, "s->f", "f:item->a", "s->e"),
         "/nodes/1", "no wait_all downstream"),
        (doc({"s": "start", "f": "for_each", "e": "end"}, "s->f", "s->e"), "/nodes/1", "no item branch"),
        (doc({"s": "start", "f": "for_each", "c": "condition", "j1": "wait_all", "j2": "wait_all",
              "e": "end", "e2": "end"},
             "s->f", "f:item->c", "c:true->j1", "c:false->j2", "j1->e", "j2->e2"),
         "/nodes/1", "different wait_all"),
        (doc({"s": "start", "t": "transform", "f": "for_each", "m": "merge_race", "j": "wait_all",
              "e": "end"},
             "s->t", "s->f", "f:item->m", "t->m", "m->j", "j->e"),
         "/edges/3", "enters the body"),
        (doc({"s": "start", "t": "transform", "f": "for_each", "a": "transform", "j": "wait_all", "e": "end"},
             "s->t", "s->f", "f:item->a", "a->j", "t->j", "j->e"),
         "/edges/4", "cannot also wait for 't'"),
    ],
)  # fmt: skip
def test_for_each_scope_rules(data, path, issue):
    found = issues(data)
    assert any(p == path and issue in text for p, text in found), found
