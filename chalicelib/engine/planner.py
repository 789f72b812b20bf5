"""Pure decisions the runner takes under the run lock.

The runner owns the rows; this module only says what they mean. How a run
moves, in the runner's terms:

1. **Instances.** A step row is keyed ``(run, node_id, instance_key)``. The
   main line is ``""``. A for_each at key ``k`` runs its body once per item
   ``i`` at ``instance_key_for_item(k, i)`` (``"3"``, nested ``"3/1"``); a
   node's keys have ``graph.depth(node)`` segments. The key a delivery lands
   on is always ``successor_key(graph, target, sender_key)``.
2. **After a node succeeds**, :func:`plan_after_success` gives the deliveries
   to its successors: ``arrived`` with its output along taken edges,
   ``skipped`` along the others (:func:`route`). A for_each instead delivers
   one ``arrived`` per item and successor, with ``item_payload(output, item,
   i)``, and returns a :class:`FanIn` the runner stores: its join waits for
   ``expected_instances`` instances. With no items, ``run_join_now`` holds the
   join's payload (``{"items": []}``) and the join is queued at once.
3. **After a node is skipped**, :func:`plan_after_skip` delivers ``skipped``
   to every successor, so joins always complete. A skipped for_each fans out
   nothing: its body is skipped on the for_each's own key, and its join sees
   plain skips (no FanIn is stored).
4. **Each delivery** is recorded as an arrival row keyed ``(run, to_node,
   to_key, from_node, from_key)`` with ``INSERT … ON CONFLICT DO NOTHING``; a
   duplicate changes nothing and is not decided again. Otherwise
   :func:`decide` is called with all arrivals of ``(to_node, to_key)`` in
   recorded order (and the stored FanIn, if any): ``run`` → insert the step
   row ``queued`` with ``Decision.payload`` as input; ``skip`` → insert it
   ``skipped`` and apply step 3 recursively in the same transaction;
   ``drop`` → mark the arrival dropped (a merge_race already won); ``wait`` →
   nothing yet. Every node instance is thereby decided exactly once.
5. **Run outcome**: :func:`run_outcome` over the latest attempt of every step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.engine.graph_model import Graph
from chalicelib.engine.payloads import item_payload

ArrivalKind = Literal["arrived", "skipped"]
JoinDecision = Literal["wait", "run", "skip", "drop"]
RunOutcome = Literal["running", "success", "failed", "canceled"]
ARRIVED: ArrivalKind = "arrived"
SKIPPED: ArrivalKind = "skipped"
STEP_STATES = frozenset({"queued", "running", "success", "failed", "skipped", "canceled"})


@dataclass(frozen=True)
class Arrival:
    """A predecessor's arrival at a node: it ran (with its output) or was skipped."""

    from_node: str
    kind: ArrivalKind
    payload: dict[str, Any] | None = None
    from_key: str = ""


@dataclass(frozen=True)
class Delivery:
    """An arrival to record at ``(to_node, to_key)``."""

    to_node: str
    to_key: str
    from_node: str
    from_key: str
    kind: ArrivalKind
    payload: dict[str, Any] | None = None

    def arrival(self) -> Arrival:
        return Arrival(self.from_node, self.kind, self.payload, self.from_key)


@dataclass(frozen=True)
class FanIn:
    """A for_each's promise to its join: ``expected_instances`` item instances will arrive."""

    for_each: str
    join_node: str
    join_key: str
    expected_instances: int


@dataclass(frozen=True)
class Plan:
    """What follows a decided node: deliveries, and for a for_each its fan-in."""

    deliveries: tuple[Delivery, ...]
    fan_in: FanIn | None = None
    run_join_now: dict[str, Any] | None = None


@dataclass(frozen=True)
class Decision:
    """What to do with a node instance after an arrival; ``payload`` is its input when it runs."""

    action: JoinDecision
    payload: dict[str, Any] | None = None


# -- instance keys --------------------------------------------------------------


def key_segments(key: str) -> list[str]:
    return key.split("/") if key else []


def instance_key_for_item(parent_key: str, index: int) -> str:
    """The key of item ``index`` of a fan-out started at ``parent_key``."""
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ValueError("index must be a non-negative integer")
    return f"{parent_key}/{index}" if parent_key else str(index)


def join_key(key: str) -> str:
    """The key a fan-in join of this instance runs on: one level up (``"3/1"`` → ``"3"``)."""
    return "/".join(key_segments(key)[:-1])


def truncate_key(key: str, depth: int) -> str:
    return "/".join(key_segments(key)[:depth])


def successor_key(graph: Graph, target: str, sender_key: str) -> str:
    """The key a delivery from ``sender_key`` lands on at ``target`` (cut to the target's depth)."""
    return truncate_key(sender_key, graph.depth(target))


# -- routing --------------------------------------------------------------------


def route(graph: Graph, node_id: str, chosen_ports: Iterable[str] | None) -> tuple[list[str], list[str]]:
    """Successors along taken and along not-taken edges (``None`` = every port taken).

    A successor reached by several edges of the node is taken when any of them is.
    """
    chosen = None if chosen_ports is None else set(chosen_ports)
    taken: dict[str, None] = {}
    for edge in graph.outgoing(node_id):
        if chosen is None or edge.port in chosen:
            taken[edge.to_node] = None
    not_taken = [s for s in graph.successors(node_id) if s not in taken]
    return list(taken), not_taken


def plan_after_success(
    graph: Graph,
    node_id: str,
    instance_key: str,
    output: dict[str, Any],
    *,
    chosen_ports: Iterable[str] | None = None,
    fan_out_items: Sequence[Any] | None = None,
) -> Plan:
    """Deliveries after ``node_id`` ran at ``instance_key`` (outcome from ``StepContext.outcome()``)."""
    if graph.node(node_id).type == "for_each":
        return _fan_out(graph, node_id, instance_key, output, fan_out_items)
    taken, not_taken = route(graph, node_id, chosen_ports)
    deliveries = [
        Delivery(s, successor_key(graph, s, instance_key), node_id, instance_key, ARRIVED, output) for s in taken
    ]
    deliveries += [
        Delivery(s, successor_key(graph, s, instance_key), node_id, instance_key, SKIPPED) for s in not_taken
    ]
    return Plan(tuple(deliveries))


def plan_after_skip(graph: Graph, node_id: str, instance_key: str) -> Plan:
    """Skip deliveries to every successor of a skipped node."""
    return Plan(
        tuple(
            Delivery(s, successor_key(graph, s, instance_key), node_id, instance_key, SKIPPED)
            for s in graph.successors(node_id)
        )
    )


def _fan_out(graph: Graph, node_id: str, instance_key: str, base: dict[str, Any], items: Sequence[Any] | None) -> Plan:
    if items is None:
        raise ValueError(f"for_each {node_id!r} finished without fanning out")
    join = graph.fan_in_join(node_id)
    fan_in = FanIn(node_id, join, successor_key(graph, join, instance_key), len(items))
    deliveries = []
    for index, item in enumerate(items):
        child = instance_key_for_item(instance_key, index)
        payload = item_payload(base, item, index)
        for succ in graph.successors(node_id):
            deliveries.append(Delivery(succ, successor_key(graph, succ, child), node_id, child, ARRIVED, payload))
    return Plan(tuple(deliveries), fan_in, None if items else {"items": []})


# -- joins ----------------------------------------------------------------------


def join_decision(graph: Graph, node_id: str, arrivals: Mapping[str, ArrivalKind]) -> JoinDecision:
    """The decision after the latest arrival (``arrivals`` in recorded order, keyed by from node).

    - one predecessor: ``run`` on arrived, ``skip`` on skipped;
    - wait_all: ``wait`` until every predecessor arrived or was skipped, then
      ``run`` (``skip`` when all were skipped);
    - merge_race: the first ``arrived`` → ``run``; arrivals after it →
      ``drop``; ``skip`` once all predecessors were skipped.
    """
    if not arrivals:
        return "wait"
    predecessors = set(graph.predecessors(node_id))
    stray = set(arrivals) - predecessors
    if stray:
        raise ValueError(f"arrivals at {node_id!r} from non-predecessors: {sorted(stray)}")
    complete = set(arrivals) == predecessors
    any_arrived = any(kind == ARRIVED for kind in arrivals.values())
    if graph.node(node_id).type == "merge_race":
        latest = list(arrivals)[-1]
        first_arrived = next((f for f, kind in arrivals.items() if kind == ARRIVED), None)
        if first_arrived is not None:
            return "run" if first_arrived == latest else "drop"
        return "skip" if complete else "wait"
    if not complete:
        return "wait"
    return "run" if any_arrived else "skip"


def fan_in_decision(graph: Graph, fan_in: FanIn, arrivals: Mapping[tuple[str, str], ArrivalKind]) -> JoinDecision:
    """``run`` once every item instance arrived (or was skipped) on every incoming edge, else ``wait``.

    ``arrivals`` is keyed by ``(from_node, from_key)``. A for_each that ran
    always completes its join, even if every instance was skipped inside.
    """
    expected = _expected_fan_in_keys(graph, fan_in)
    stray = set(arrivals) - expected
    if stray:
        raise ValueError(f"arrivals at {fan_in.join_node!r} outside the fan-out: {sorted(stray)}")
    return "run" if set(arrivals) == expected else "wait"


def _expected_fan_in_keys(graph: Graph, fan_in: FanIn) -> set[tuple[str, str]]:
    keys = [instance_key_for_item(fan_in.join_key, i) for i in range(fan_in.expected_instances)]
    return {(p, k) for p in graph.predecessors(fan_in.join_node) for k in keys}


def aggregate_wait_all(graph: Graph, node_id: str, arrivals: Iterable[Arrival]) -> dict[str, Any]:
    """A wait_all's input: ``{"branches": {from name: payload}, "skipped": [from names]}``.

    Both follow the order of the node's incoming edges, so the shape does not
    depend on which branch finished first.
    """
    by_from = {a.from_node: a for a in arrivals}
    branches: dict[str, Any] = {}
    skipped: list[str] = []
    for pred in graph.predecessors(node_id):
        arrival = by_from.get(pred)
        if arrival is None:
            continue
        name = graph.node(pred).name
        if arrival.kind == ARRIVED:
            branches[name] = arrival.payload
        else:
            skipped.append(name)
    return {"branches": branches, "skipped": skipped}


def aggregate_fan_in(graph: Graph, fan_in: FanIn, arrivals: Iterable[Arrival]) -> dict[str, Any]:
    """A fan-in join's input: ``{"items": [result per item, in item order]}``.

    With one incoming edge an item's result is the payload that arrived, or
    ``null`` when that instance was skipped; with several it is the wait_all
    shape (``branches`` / ``skipped``) of that instance.
    """
    by_key: dict[str, list[Arrival]] = {}
    for arrival in arrivals:
        by_key.setdefault(arrival.from_key, []).append(arrival)
    single = len(graph.predecessors(fan_in.join_node)) == 1
    items: list[Any] = []
    for index in range(fan_in.expected_instances):
        instance = by_key.get(instance_key_for_item(fan_in.join_key, index), [])
        if single:
            items.append(next((a.payload for a in instance if a.kind == ARRIVED), None))
        else:
            items.append(aggregate_wait_all(graph, fan_in.join_node, instance))
    return {"items": items}


def decide(graph: Graph, node_id: str, arrivals: Sequence[Arrival], fan_in: FanIn | None = None) -> Decision:
    """The decision and, for ``run``, the node's input, after the latest of ``arrivals``.

    ``arrivals`` are all those recorded at one ``(node, key)``, in recorded
    order; ``fan_in`` is the stored FanIn when the node joins a fan-out.
    """
    if fan_in is not None:
        keyed = {(a.from_node, a.from_key): a.kind for a in arrivals}
        if len(keyed) != len(arrivals):
            raise ValueError("duplicate arrivals must be dropped before deciding")
        if fan_in_decision(graph, fan_in, keyed) == "run":
            return Decision("run", aggregate_fan_in(graph, fan_in, arrivals))
        return Decision("wait")
    kinds = {a.from_node: a.kind for a in arrivals}
    if len(kinds) != len(arrivals):
        raise ValueError("duplicate arrivals must be dropped before deciding")
    action = join_decision(graph, node_id, kinds)
    if action != "run":
        return Decision(action)
    if graph.node(node_id).type == "wait_all":
        return Decision("run", aggregate_wait_all(graph, node_id, arrivals))
    # One predecessor, or a merge_race's winner: the latest arrival is the one that ran.
    return Decision("run", arrivals[-1].payload)


# -- runs -----------------------------------------------------------------------


def run_outcome(step_states: Iterable[str]) -> RunOutcome:
    """The run's state from the state of the latest attempt of every step row.

    ``running`` while any step is queued or running; then ``failed`` if any
    step failed (retries exhausted or not retryable), ``canceled`` if any was
    canceled, else ``success``. Earlier attempts that were retried must not be
    passed: their ``failed`` was handled.
    """
    states = list(step_states)
    unknown = set(states) - STEP_STATES
    if unknown:
        raise ValueError(f"unknown step states: {sorted(unknown)}")
    if any(s in ("queued", "running") for s in states):
        return "running"
    if "failed" in states:
        return "failed"
    if "canceled" in states:
        return "canceled"
    return "success"
