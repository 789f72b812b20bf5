"""for_each scopes: which nodes run once per item, and which wait_all joins them.

The body of a for_each is everything reachable from its ``item`` port up to
the first wait_all met on the way: that wait_all is the for_each's fan-in
join. A nested for_each inside a body is stepped over whole (its own body and
join belong to the outer body), so joins pair up like brackets. Rules, each
reported with a pointer:

- every path from the ``item`` port meets the same first wait_all, and no
  path meets an ``end`` node before it;
- a body is entered only through its for_each (no edge from outside into it);
- the fan-in join waits only for nodes of that body (or the for_each itself).

So a wait_all inside a body always closes it: parallel branches that must
rejoin inside one item's work are not expressible (a merge_race can still
rejoin a condition's branches). A node's *depth* is how many bodies hold it;
its instance keys have that many segments (see ``planner``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.engine.graph_model import Graph


@dataclass(frozen=True)
class Scopes:
    """for_each scopes of a graph, by node id."""

    join_of: Mapping[str, str]
    body_of: Mapping[str, frozenset[str]]
    closes: Mapping[str, str]
    enclosing: Mapping[str, str]
    depth: Mapping[str, int]


@dataclass(frozen=True)
class _Scope:
    join: str
    body: frozenset[str]
    direct: frozenset[str]


def compute_scopes(graph: Graph) -> tuple[Scopes, list[dict[str, str]]]:
    """Scopes of every for_each, and the problems found (pointers into the document)."""
    issues: list[dict[str, str]] = []
    memo: dict[str, _Scope | None] = {}

    def scope(for_each_id: str) -> _Scope | None:
        if for_each_id not in memo:
            memo[for_each_id] = None
            memo[for_each_id] = _walk(graph, for_each_id, scope, issues)
        return memo[for_each_id]

    for node in graph.nodes.values():
        if node.type == "for_each":
            scope(node.id)

    valid = {f: s for f, s in memo.items() if s is not None}
    depth: dict[str, int] = {}
    enclosing: dict[str, str] = {}
    for for_each_id, found in valid.items():
        for member in found.body:
            depth[member] = depth.get(member, 0) + 1
        for member in found.direct:
            enclosing[member] = for_each_id
    scopes = Scopes(
        join_of={f: s.join for f, s in valid.items()},
        body_of={f: s.body for f, s in valid.items()},
        closes={s.join: f for f, s in valid.items()},
        enclosing=enclosing,
        depth=depth,
    )
    return scopes, issues


def _walk(graph: Graph, for_each_id: str, scope, issues: list[dict[str, str]]) -> _Scope | None:
    owner = graph.node(for_each_id)
    starts = graph.successors(for_each_id)
    if not starts:
        issues.append({"path": f"/nodes/{owner.index}", "issue": f"for_each {owner.name!r} has no item branch"})
        return None
    direct: set[str] = set()
    nested: set[str] = set()
    closers: list[str] = []
    ends: list[str] = []
    seen: set[str] = set()
    stack = list(reversed(starts))
    complete = True
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        kind = graph.node(current).type
        if kind == "wait_all":
            closers.append(current)
            continue
        direct.add(current)
        if kind == "end":
            ends.append(current)
        elif kind == "for_each":
            inner = scope(current)
            if inner is None:
                complete = False
                continue
            nested.update(inner.body)
            direct.add(inner.join)
            seen.add(inner.join)
            stack.extend(reversed(graph.successors(inner.join)))
        else:
            stack.extend(reversed(graph.successors(current)))
    if not complete:
        return None

    before = len(issues)
    for end_id in ends:
        issues.append(
            {
                "path": f"/nodes/{graph.node(end_id).index}",
                "issue": f"end node inside the body of for_each {owner.name!r}: join the items with a wait_all first",
            }
        )
    if not closers:
        issues.append(
            {
                "path": f"/nodes/{owner.index}",
                "issue": f"no wait_all downstream of for_each {owner.name!r} joins its items",
            }
        )
    elif len(closers) > 1:
        names = ", ".join(repr(graph.node(c).name) for c in closers)
        issues.append(
            {
                "path": f"/nodes/{owner.index}",
                "issue": f"paths from for_each {owner.name!r} reach different wait_all nodes first: {names}",
            }
        )
    if len(issues) > before:
        return None

    join = closers[0]
    body = frozenset(direct | nested)
    inside = body | {for_each_id}
    for member in sorted(direct, key=lambda m: graph.node(m).index):
        for edge in graph.incoming(member):
            if edge.from_node not in inside:
                issues.append(
                    {
                        "path": f"/edges/{edge.index}",
                        "issue": f"edge enters the body of for_each {owner.name!r} from outside it",
                    }
                )
    for edge in graph.incoming(join):
        if edge.from_node not in inside:
            issues.append(
                {
                    "path": f"/edges/{edge.index}",
                    "issue": f"wait_all {graph.node(join).name!r} joins the items of for_each {owner.name!r} "
                    f"and cannot also wait for {graph.node(edge.from_node).name!r}",
                }
            )
    if len(issues) > before:
        return None
    return _Scope(join=join, body=body, direct=frozenset(direct))
