"""The indexed, immutable form of a workflow graph (built by ``graph.parse_graph``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from chalicelib.engine.scopes import Scopes, compute_scopes
from chalicelib.engine.step_types import StepCatalog
from chalicelib.errors import ValidationFailed

DEFAULT_PORT = "out"


@dataclass(frozen=True)
class Node:
    """One step of the graph; ``index`` is its position in the document's node list."""

    id: str
    name: str
    type: str
    config: Mapping[str, Any] = field(default_factory=dict)
    connection_id: str | None = None
    template: str | None = None
    index: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "config": dict(self.config),
            "connection_id": self.connection_id,
            "template": self.template,
        }


@dataclass(frozen=True)
class Edge:
    """A connection from a node's output ``port`` to another node."""

    from_node: str
    to_node: str
    port: str = DEFAULT_PORT
    index: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.from_node, "to": self.to_node, "port": self.port}


class Graph:
    """Nodes by id, edges by endpoint, topological order and for_each scopes.

    Built by :func:`parse_graph`; the constructor indexes without validating.
    """

    def __init__(self, nodes: list[Node], edges: list[Edge], catalog: StepCatalog) -> None:
        self.catalog = catalog
        self._nodes = MappingProxyType({n.id: n for n in nodes})
        self._by_name = {n.name: n for n in nodes}
        self.edges: tuple[Edge, ...] = tuple(edges)
        outgoing: dict[str, list[Edge]] = {n.id: [] for n in nodes}
        incoming: dict[str, list[Edge]] = {n.id: [] for n in nodes}
        for edge in edges:
            outgoing.setdefault(edge.from_node, []).append(edge)
            incoming.setdefault(edge.to_node, []).append(edge)
        self._outgoing = {k: tuple(v) for k, v in outgoing.items()}
        self._incoming = {k: tuple(v) for k, v in incoming.items()}
        self._order: tuple[str, ...] | None = None
        self._scopes: Scopes | None = None

    # -- lookups --------------------------------------------------------------

    @property
    def nodes(self) -> Mapping[str, Node]:
        """Nodes by id, in document order."""
        return self._nodes

    def node(self, node_id: str) -> Node:
        return self._nodes[node_id]

    def by_name(self, name: str) -> Node:
        return self._by_name[name]

    @property
    def start_id(self) -> str:
        return next(n.id for n in self._nodes.values() if n.type == "start")

    @property
    def end_ids(self) -> tuple[str, ...]:
        return tuple(n.id for n in self._nodes.values() if n.type == "end")

    def outgoing(self, node_id: str) -> tuple[Edge, ...]:
        return self._outgoing.get(node_id, ())

    def incoming(self, node_id: str) -> tuple[Edge, ...]:
        return self._incoming.get(node_id, ())

    def predecessors(self, node_id: str) -> tuple[str, ...]:
        """Distinct source nodes of the incoming edges, in edge order."""
        return tuple(dict.fromkeys(e.from_node for e in self.incoming(node_id)))

    def successors(self, node_id: str) -> tuple[str, ...]:
        """Distinct target nodes of the outgoing edges, in edge order."""
        return tuple(dict.fromkeys(e.to_node for e in self.outgoing(node_id)))

    def downstream_of(self, node_id: str) -> frozenset[str]:
        """The node and every node reachable from it: what runs again when a run restarts there."""
        seen = {node_id}
        pending = [node_id]
        while pending:
            for succ in self.successors(pending.pop()):
                if succ not in seen:
                    seen.add(succ)
                    pending.append(succ)
        return frozenset(seen)

    def ports(self, node_id: str) -> list[str]:
        node = self._nodes[node_id]
        return self.catalog.ports_of(node.type, dict(node.config))

    def is_join(self, node_id: str) -> bool:
        return self.catalog.is_join(self._nodes[node_id].type)

    # -- order and scopes -----------------------------------------------------

    @property
    def topological_order(self) -> tuple[str, ...]:
        """Every node after all its predecessors (document order breaks ties)."""
        if self._order is None:
            self._order = topological_order(self)
        return self._order

    @property
    def scopes(self) -> Scopes:
        if self._scopes is None:
            scopes, issues = compute_scopes(self)
            if issues:
                raise ValidationFailed("The graph's for_each scopes are invalid.", details=issues)
            self._scopes = scopes
        return self._scopes

    def fan_in_join(self, for_each_id: str) -> str:
        """The wait_all that joins a for_each's item instances."""
        return self.scopes.join_of[for_each_id]

    def body(self, for_each_id: str) -> frozenset[str]:
        """Nodes that run once per item of a for_each (nested bodies included)."""
        return self.scopes.body_of[for_each_id]

    def closes(self, join_id: str) -> str | None:
        """The for_each a wait_all joins, if it is a fan-in join."""
        return self.scopes.closes.get(join_id)

    def enclosing_for_each(self, node_id: str) -> str | None:
        """The innermost for_each whose body holds this node."""
        return self.scopes.enclosing.get(node_id)

    def depth(self, node_id: str) -> int:
        """How many for_each bodies hold this node (its instance keys have this many segments)."""
        return self.scopes.depth.get(node_id, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": [n.to_dict() for n in self._nodes.values()],
            "edges": [e.to_dict() for e in self.edges],
        }


def topological_order(graph: Graph) -> tuple[str, ...]:
    """Kahn's algorithm; ``ValueError`` on a cycle (validation reports cycles precisely)."""
    remaining = {nid: len(graph.predecessors(nid)) for nid in graph.nodes}
    ready = [nid for nid in graph.nodes if remaining[nid] == 0]
    order: list[str] = []
    position = {nid: i for i, nid in enumerate(graph.nodes)}
    while ready:
        ready.sort(key=position.__getitem__, reverse=True)
        current = ready.pop()
        order.append(current)
        for succ in graph.successors(current):
            remaining[succ] -= 1
            if remaining[succ] == 0:
                ready.append(succ)
    if len(order) != len(graph.nodes):
        raise ValueError("the graph has a cycle")
    return tuple(order)
