"""Property tests: the planner drives any valid graph to one decision per node instance.

A small in-memory runner below applies the planner exactly as the real runner
must (see the planner's module docstring), but processes pending work in a
random order and delivers some arrivals twice, as a queue may.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.engine.graph import Graph
from chalicelib.engine.planner import (
    Arrival,
    decide,
    key_segments,
    plan_after_skip,
    plan_after_success,
    run_outcome,
)
from tests.support.graphs import parse_graph

PORTS = {"start": ["out"], "transform": ["out"], "wait_all": ["out"], "merge_race": ["out"],
         "condition": ["true", "false"], "switch": ["eu", "us", "default"], "for_each": ["item"]}  # fmt: skip
CONFIGS = {
    "transform": {"output": {}},
    "condition": {"left": "{{ a }}", "op": "eq", "right": 1},
    "switch": {"cases": [{"port": "eu", "when": {"left": 1, "op": "eq", "right": 1}},
                         {"port": "us", "when": {"left": 1, "op": "eq", "right": 2}}]},
    "for_each": {"items": "{{ xs }}"},
}  # fmt: skip


class SimulatedRun:
    """The runner's bookkeeping, in memory: step rows, arrivals, fan-ins, decisions."""

    def __init__(self, graph: Graph, choose: Callable[[str, str], set[str]], items: Callable[[str, str], int],
                 rng: random.Random) -> None:  # fmt: skip
        self.graph, self.choose, self.items, self.rng = graph, choose, items, rng
        self.rows: dict[tuple[str, str], str] = {}
        self.inputs: dict[tuple[str, str], dict] = {}
        self.arrivals: dict[tuple[str, str], list[Arrival]] = defaultdict(list)
        self.recorded: set[tuple[str, str, str, str]] = set()
        self.fan_ins: dict = {}
        self.fired: Counter = Counter()
        self.fan_outs: dict[tuple[str, str], int] = {}
        self.pending: list[tuple] = []

    def create(self, node: str, key: str, state: str, payload: dict | None = None) -> None:
        assert (node, key) not in self.rows, f"{node}@{key!r} decided twice"
        self.rows[(node, key)] = state
        self.fired[(node, key)] += 1
        if state == "queued":
            self.inputs[(node, key)] = payload or {}
            self.pending.append(("run", node, key))
        else:
            self.pending.extend(("deliver", d) for d in plan_after_skip(self.graph, node, key).deliveries)

    def run_step(self, node: str, key: str) -> None:
        step_type = self.graph.node(node).type
        output = {"node": node, "key": key}
        chosen = self.choose(node, key) if step_type in ("condition", "switch") else None
        items = None
        if step_type == "for_each":
            items = list(range(self.items(node, key)))
            self.fan_outs[(node, key)] = len(items)
        plan = plan_after_success(self.graph, node, key, output, chosen_ports=chosen, fan_out_items=items)
        self.rows[(node, key)] = "success"
        if plan.fan_in is not None:
            self.fan_ins[(plan.fan_in.join_node, plan.fan_in.join_key)] = plan.fan_in
        if plan.run_join_now is not None:
            self.create(plan.fan_in.join_node, plan.fan_in.join_key, "queued", plan.run_join_now)
        self.pending.extend(("deliver", d) for d in plan.deliveries)

    def deliver(self, d) -> None:
        marker = (d.to_node, d.to_key, d.from_node, d.from_key)
        if marker in self.recorded:  # INSERT … ON CONFLICT DO NOTHING: a duplicate decides nothing
            return
        self.recorded.add(marker)
        target = (d.to_node, d.to_key)
        self.arrivals[target].append(d.arrival())
        decision = decide(self.graph, d.to_node, self.arrivals[target], self.fan_ins.get(target))
        if decision.action == "run":
            self.create(d.to_node, d.to_key, "queued", decision.payload)
        elif decision.action == "skip":
            self.create(d.to_node, d.to_key, "skipped")

    def run(self, redeliver: float = 0.2, limit: int = 20_000) -> None:
        self.create(self.graph.start_id, "", "queued", {"input": True})
        for _ in range(limit):
            if not self.pending:
                return
            work = self.pending.pop(self.rng.randrange(len(self.pending)))
            if work[0] == "run":
                self.run_step(work[1], work[2])
            else:
                if self.rng.random() < redeliver:
                    self.pending.append(work)  # the queue delivers it again later
                self.deliver(work[1])
        raise AssertionError("the run did not settle")


def stable_choice(seed: int, *parts: str) -> int:
    return zlib.crc32(":".join([str(seed), *parts]).encode())


# -- random DAGs with conditions, switches and joins ------------------------------------------------------


@st.composite
def dags(draw):
    count = draw(st.integers(min_value=2, max_value=14))
    types = ["start"]
    edges: list[tuple[int, int, str]] = []
    for i in range(1, count):
        candidates = list(range(i))
        step_type = draw(st.sampled_from(["transform", "condition", "switch", "wait_all", "merge_race"]))
        if step_type in ("wait_all", "merge_race") and len(candidates) >= 2:
            preds = draw(st.lists(st.sampled_from(candidates), min_size=2, max_size=3, unique=True))
        else:
            step_type = "transform" if step_type in ("wait_all", "merge_race") else step_type
            preds = [draw(st.sampled_from(candidates))]
        types.append(step_type)
        edges += [(p, i, draw(st.sampled_from(PORTS[types[p]]))) for p in preds]
    # every sink gets an end after it, so each path finishes at an end
    sinks = [i for i in range(count) if not any(e[0] == i for e in edges)]
    for sink in sinks:
        types.append("end")
        edges.append((sink, len(types) - 1, draw(st.sampled_from(PORTS[types[sink]]))))
    nodes = [{"id": f"n{i}", "name": f"n{i}", "type": t, "config": CONFIGS.get(t, {})} for i, t in enumerate(types)]
    return parse_graph({"nodes": nodes, "edges": [{"from": f"n{a}", "to": f"n{b}", "port": p} for a, b, p in edges]})


def expected_runs(graph: Graph, choose: Callable[[str, str], set[str]]) -> dict[str, bool]:
    """The oracle: a node runs iff one of its incoming edges was taken by a predecessor that ran."""
    ran: dict[str, bool] = {}
    for node in graph.topological_order:
        if node == graph.start_id:
            ran[node] = True
            continue
        ran[node] = any(ran[e.from_node] and _taken(graph, e, choose) for e in graph.incoming(node))
    return ran


def _taken(graph: Graph, edge, choose) -> bool:
    if graph.node(edge.from_node).type in ("condition", "switch"):
        return edge.port in choose(edge.from_node, "")
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    graph=dags(),
    seed=st.integers(min_value=0, max_value=2**31),
    order=st.integers(min_value=0, max_value=2**31),
)
def test_every_node_runs_or_is_skipped_exactly_once_whatever_the_order(graph, seed, order):
    def choose(node: str, key: str) -> set[str]:
        ports = PORTS[graph.node(node).type]
        return {ports[stable_choice(seed, node, key) % len(ports)]}

    run = SimulatedRun(graph, choose, lambda node, key: 0, random.Random(order))
    run.run()

    # Every node decided exactly once, on the main line.
    assert set(run.rows) == {(n, "") for n in graph.nodes}
    assert all(count == 1 for count in run.fired.values())
    assert run_outcome(run.rows.values()) == "success"
    # And decided the way the graph says, whatever the order arrivals came in.
    oracle = expected_runs(graph, choose)
    assert {n: run.rows[(n, "")] == "success" for n in graph.nodes} == oracle
    for node in graph.nodes:
        step = graph.node(node)
        if step.type == "wait_all" and oracle[node]:
            active = {graph.node(e.from_node).name for e in graph.incoming(node)
                      if oracle[e.from_node] and _taken(graph, e, choose)}  # fmt: skip
            aggregate = run.inputs[(node, "")]
            assert set(aggregate["branches"]) == active
            assert set(aggregate["skipped"]) == {graph.node(p).name for p in graph.predecessors(node)} - active
        if step.type == "merge_race" and oracle[node]:
            winner = run.inputs[(node, "")]["node"]
            assert oracle[winner] and winner in graph.predecessors(node)


# -- for_each: fan-out, nested fan-out, conditions inside, skipped for_each -------------------------------

FOR_EACH_GRAPH = parse_graph({
    "nodes": [
        {"id": "s", "name": "s", "type": "start"},
        {"id": "gate", "name": "gate", "type": "condition", "config": CONFIGS["condition"]},
        {"id": "f", "name": "f", "type": "for_each", "config": CONFIGS["for_each"]},
        {"id": "c", "name": "c", "type": "condition", "config": CONFIGS["condition"]},
        {"id": "a", "name": "a", "type": "transform", "config": CONFIGS["transform"]},
        {"id": "g", "name": "g", "type": "for_each", "config": CONFIGS["for_each"]},
        {"id": "x", "name": "x", "type": "transform", "config": CONFIGS["transform"]},
        {"id": "jg", "name": "jg", "type": "wait_all"},
        {"id": "jf", "name": "jf", "type": "wait_all"},
        {"id": "other", "name": "other", "type": "transform", "config": CONFIGS["transform"]},
        {"id": "all", "name": "all", "type": "wait_all"},
        {"id": "e", "name": "e", "type": "end"},
    ],
    "edges": [
        {"from": "s", "to": "gate"}, {"from": "gate", "to": "f", "port": "true"},
        {"from": "gate", "to": "other", "port": "false"},
        {"from": "f", "to": "c", "port": "item"},
        {"from": "c", "to": "a", "port": "true"}, {"from": "c", "to": "g", "port": "false"},
        {"from": "g", "to": "x", "port": "item"}, {"from": "x", "to": "jg"},
        {"from": "a", "to": "jf"}, {"from": "jg", "to": "jf"},
        {"from": "jf", "to": "all"}, {"from": "other", "to": "all"}, {"from": "all", "to": "e"},
    ],
})  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31), order=st.integers(min_value=0, max_value=2**31))
def test_fan_out_instances_are_each_decided_once_and_joined_in_item_order(seed, order):
    graph = FOR_EACH_GRAPH

    def choose(node: str, key: str) -> set[str]:
        return {["true", "false"][stable_choice(seed, node, key) % 2]}

    def items(node: str, key: str) -> int:
        return stable_choice(seed, "items", node, key) % 4  # 0..3 items, empty included

    run = SimulatedRun(graph, choose, items, random.Random(order))
    run.run()

    assert all(count == 1 for count in run.fired.values())
    assert run_outcome(run.rows.values()) == "success"
    # Main-line nodes: exactly one row each.
    for node in ("s", "gate", "f", "jf", "other", "all", "e"):
        assert sum(1 for n, _ in run.rows if n == node) == 1, node
    # A node's keys have as many segments as its depth, except where a skip ran on an outer key.
    for (node, key), state in run.rows.items():
        assert len(key_segments(key)) == graph.depth(node) or state == "skipped"
    # Each for_each that ran: every item instance of its body decided once,
    # and its join collected them in item order.
    for (node, key), count in run.fan_outs.items():
        join = graph.fan_in_join(node)
        assert run.rows[(join, key)] == "success"
        collected = run.inputs[(join, key)]["items"]
        assert len(collected) == count
        for index in range(count):
            child = f"{key}/{index}" if key else str(index)
            assert (graph.successors(node)[0], child) in run.rows
            if node == "g":  # single incoming edge: the payload of x at that instance
                assert collected[index] == {"node": "x", "key": child}
            else:  # two incoming edges: exactly one of a / jg ran for that item
                assert len(collected[index]["branches"]) == 1
                ((who, payload),) = collected[index]["branches"].items()
                assert payload["key"] == child and who in ("a", "jg")
    # A skipped for_each fans nothing out: its body and join are skipped on its own key.
    if run.rows[("f", "")] == "skipped":
        assert all(run.rows[(n, "")] == "skipped" for n in ("c", "a", "g", "x", "jg", "jf"))
        assert not any(key for _, key in run.rows)
