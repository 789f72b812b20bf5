from __future__ import annotations

import pytest

from chalicelib.engine.planner import (
    ARRIVED,
    SKIPPED,
    Arrival,
    Delivery,
    FanIn,
    aggregate_fan_in,
    aggregate_wait_all,
    decide,
    fan_in_decision,
    instance_key_for_item,
    join_decision,
    join_key,
    plan_after_skip,
    plan_after_success,
    route,
    run_outcome,
    successor_key,
)
from tests.support.graphs import parse_graph


def graph_of(nodes: dict[str, str], *edges: str):
    configs = {
        "for_each": {"items": "{{ xs }}"},
        "condition": {"left": 1, "op": "eq", "right": 1},
        "transform": {"output": {}},
        "switch": {"cases": [{"port": "eu", "when": {"left": 1, "op": "eq", "right": 1}},
                             {"port": "us", "when": {"left": 1, "op": "eq", "right": 2}}]},
    }  # fmt: skip
    edge_list = []
    for text in edges:
        source, target = text.split("->")
        from_node, _, port = source.partition(":")
        edge_list.append({"from": from_node, "to": target, "port": port or "out"})
    node_list = [{"id": n, "name": f"{n}_name", "type": t, "config": configs.get(t, {})} for n, t in nodes.items()]
    return parse_graph({"nodes": node_list, "edges": edge_list})


JOINS = graph_of(
    {"s": "start", "c": "condition", "a": "transform", "b": "transform", "w": "wait_all", "m": "merge_race",
     "e": "end", "e2": "end"},
    "s->c", "c:true->a", "c:false->b", "a->w", "b->w", "a->m", "b->m", "w->e", "m->e2",
)  # fmt: skip
SWITCH = graph_of(
    {"s": "start", "w": "switch", "x": "end", "y": "end", "z": "end", "q": "end"},
    "s->w", "w:eu->x", "w:us->y", "w:default->z", "w:us->q",
)  # fmt: skip
FAN = graph_of(
    {"s": "start", "f": "for_each", "a": "transform", "j": "wait_all", "e": "end"},
    "s->f", "f:item->a", "a->j", "j->e",
)  # fmt: skip


# -- routing ----------------------------------------------------------------------


def test_route_all_ports_when_none_chosen():
    assert route(JOINS, "c", None) == (["a", "b"], [])


def test_route_splits_taken_and_not_taken():
    assert route(JOINS, "c", {"true"}) == (["a"], ["b"])
    assert route(SWITCH, "w", {"us"}) == (["y", "q"], ["x", "z"])
    assert route(SWITCH, "w", set()) == ([], ["x", "y", "z", "q"])


def test_route_takes_a_successor_reached_by_any_taken_edge():
    graph = graph_of({"s": "start", "c": "condition", "m": "merge_race", "e": "end"},
                     "s->c", "c:true->m", "c:false->m", "m->e")  # fmt: skip
    assert route(graph, "c", {"false"}) == (["m"], [])


def test_route_of_a_sink_is_empty():
    assert route(JOINS, "e", None) == ([], [])


# -- joins ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrivals", "expected"),
    [
        ({}, "wait"),
        ({"a": ARRIVED}, "wait"),
        ({"a": SKIPPED}, "wait"),
        ({"a": ARRIVED, "b": SKIPPED}, "run"),
        ({"b": SKIPPED, "a": ARRIVED}, "run"),
        ({"a": SKIPPED, "b": SKIPPED}, "skip"),
        ({"a": ARRIVED, "b": ARRIVED}, "run"),
    ],
)
def test_wait_all(arrivals, expected):
    assert join_decision(JOINS, "w", arrivals) == expected


@pytest.mark.parametrize(
    ("arrivals", "expected"),
    [
        ({"a": ARRIVED}, "run"),
        ({"a": ARRIVED, "b": ARRIVED}, "drop"),
        ({"a": ARRIVED, "b": SKIPPED}, "drop"),
        ({"a": SKIPPED}, "wait"),
        ({"a": SKIPPED, "b": ARRIVED}, "run"),
        ({"a": SKIPPED, "b": SKIPPED}, "skip"),
    ],
)
def test_merge_race(arrivals, expected):
    # The decision is about the latest arrival (the last key).
    assert join_decision(JOINS, "m", arrivals) == expected


def test_single_incoming_node_runs_or_propagates_the_skip():
    assert join_decision(JOINS, "a", {"c": ARRIVED}) == "run"
    assert join_decision(JOINS, "a", {"c": SKIPPED}) == "skip"


def test_arrival_from_a_non_predecessor_is_a_runner_bug():
    with pytest.raises(ValueError):
        join_decision(JOINS, "w", {"s": ARRIVED})


def test_wait_all_aggregate_has_provenance_in_edge_order():
    arrivals = [Arrival("b", ARRIVED, {"n": 2}), Arrival("a", SKIPPED)]
    assert aggregate_wait_all(JOINS, "w", arrivals) == {
        "branches": {"b_name": {"n": 2}},
        "skipped": ["a_name"],
    }
    both = [Arrival("b", ARRIVED, {"n": 2}), Arrival("a", ARRIVED, {"n": 1})]
    assert list(aggregate_wait_all(JOINS, "w", both)["branches"]) == ["a_name", "b_name"]


def test_decide_gives_the_input_of_a_node_that_runs():
    assert decide(JOINS, "a", [Arrival("c", ARRIVED, {"x": 1})]).payload == {"x": 1}
    race = decide(JOINS, "m", [Arrival("a", SKIPPED), Arrival("b", ARRIVED, {"won": True})])
    assert (race.action, race.payload) == ("run", {"won": True})
    assert decide(JOINS, "m", [Arrival("a", ARRIVED, {"won": 1}), Arrival("b", ARRIVED, {})]).action == "drop"
    joined = decide(JOINS, "w", [Arrival("a", ARRIVED, {"x": 1}), Arrival("b", SKIPPED)])
    assert joined.payload == {"branches": {"a_name": {"x": 1}}, "skipped": ["b_name"]}
    assert decide(JOINS, "w", [Arrival("a", SKIPPED), Arrival("b", SKIPPED)]).action == "skip"
    with pytest.raises(ValueError):
        decide(JOINS, "w", [Arrival("a", SKIPPED), Arrival("a", SKIPPED)])


# -- deliveries -------------------------------------------------------------------


def test_success_delivers_output_along_taken_edges_and_skips_along_the_others():
    plan = plan_after_success(JOINS, "c", "", {"v": 1}, chosen_ports={"false"})
    assert plan.deliveries == (
        Delivery("b", "", "c", "", ARRIVED, {"v": 1}),
        Delivery("a", "", "c", "", SKIPPED, None),
    )
    assert plan.fan_in is None


def test_skip_propagates_to_every_successor():
    assert plan_after_skip(JOINS, "a", "").deliveries == (
        Delivery("w", "", "a", "", SKIPPED), Delivery("m", "", "a", "", SKIPPED),
    )  # fmt: skip


# -- for_each -----------------------------------------------------------------------


def test_instance_keys():
    assert instance_key_for_item("", 3) == "3"
    assert instance_key_for_item("3", 1) == "3/1"
    assert join_key("3/1") == "3" and join_key("3") == "" and join_key("") == ""
    with pytest.raises(ValueError):
        instance_key_for_item("", -1)


def test_successor_keys_follow_depth():
    assert successor_key(FAN, "a", "2") == "2"  # inside the body
    assert successor_key(FAN, "j", "2") == ""  # the join runs on the for_each's key
    assert successor_key(FAN, "a", "") == ""  # a skipped for_each skips its body on its own key


def test_fan_out_delivers_one_instance_per_item():
    plan = plan_after_success(FAN, "f", "", {"shop": "s"}, fan_out_items=["x", "y"])
    assert plan.deliveries == (
        Delivery("a", "0", "f", "0", ARRIVED, {"shop": "s", "item": "x", "index": 0}),
        Delivery("a", "1", "f", "1", ARRIVED, {"shop": "s", "item": "y", "index": 1}),
    )
    assert plan.fan_in == FanIn("f", "j", "", 2)
    assert plan.run_join_now is None


def test_empty_fan_out_runs_the_join_at_once():
    plan = plan_after_success(FAN, "f", "", {}, fan_out_items=[])
    assert plan.deliveries == ()
    assert plan.fan_in == FanIn("f", "j", "", 0)
    assert plan.run_join_now == {"items": []}
    assert aggregate_fan_in(FAN, plan.fan_in, []) == {"items": []}


def test_for_each_must_have_fanned_out():
    with pytest.raises(ValueError):
        plan_after_success(FAN, "f", "", {})


def test_fan_in_waits_for_every_instance_and_collects_in_item_order():
    fan_in = FanIn("f", "j", "", 3)
    arrivals = [Arrival("a", ARRIVED, {"r": 2}, "2"), Arrival("a", SKIPPED, None, "1")]
    assert decide(FAN, "j", arrivals, fan_in).action == "wait"
    arrivals.append(Arrival("a", ARRIVED, {"r": 0}, "0"))
    decision = decide(FAN, "j", arrivals, fan_in)
    assert (decision.action, decision.payload) == ("run", {"items": [{"r": 0}, None, {"r": 2}]})


def test_fan_in_refuses_arrivals_outside_the_fan_out():
    with pytest.raises(ValueError):
        fan_in_decision(FAN, FanIn("f", "j", "", 1), {("a", "5"): ARRIVED})


def test_fan_in_with_several_incoming_edges_keeps_each_instance_shape():
    graph = graph_of(
        {"s": "start", "f": "for_each", "c": "condition", "a": "transform", "b": "transform",
         "j": "wait_all", "e": "end"},
        "s->f", "f:item->c", "c:true->a", "c:false->b", "a->j", "b->j", "j->e",
    )  # fmt: skip
    fan_in = FanIn("f", "j", "", 2)
    arrivals = [Arrival("a", ARRIVED, {"n": 0}, "0"), Arrival("b", SKIPPED, None, "0"),
                Arrival("b", ARRIVED, {"n": 1}, "1"), Arrival("a", SKIPPED, None, "1")]  # fmt: skip
    assert decide(graph, "j", arrivals, fan_in).payload == {
        "items": [
            {"branches": {"a_name": {"n": 0}}, "skipped": ["b_name"]},
            {"branches": {"b_name": {"n": 1}}, "skipped": ["a_name"]},
        ]
    }


def test_nested_fan_out_keys():
    graph = graph_of(
        {"s": "start", "f": "for_each", "g": "for_each", "x": "transform", "jg": "wait_all",
         "jf": "wait_all", "e": "end"},
        "s->f", "f:item->g", "g:item->x", "x->jg", "jg->jf", "jf->e",
    )  # fmt: skip
    inner = plan_after_success(graph, "g", "3", {}, fan_out_items=["p", "q"])
    assert [(d.to_node, d.to_key) for d in inner.deliveries] == [("x", "3/0"), ("x", "3/1")]
    assert inner.fan_in == FanIn("g", "jg", "3", 2)
    # x at 3/1 → jg at 3; jg at 3 → jf at ""
    assert plan_after_success(graph, "x", "3/1", {}).deliveries[0].to_key == "3"
    assert plan_after_success(graph, "jg", "3", {}).deliveries[0].to_key == ""


# -- runs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], "success"),
        (["success", "skipped"], "success"),
        (["success", "queued"], "running"),
        (["failed", "running"], "running"),
        (["success", "failed", "skipped"], "failed"),
        (["success", "canceled"], "canceled"),
        (["failed", "canceled"], "failed"),
    ],
)
def test_run_outcome(states, expected):
    assert run_outcome(states) == expected


def test_run_outcome_refuses_unknown_states():
    with pytest.raises(ValueError):
        run_outcome(["done"])
