"""The rules a workflow graph must meet, each problem reported with a JSON pointer.

Every problem is reported at once, in one answer: nodes (ids, names, types,
templates, config, connections, where ``$secrets`` is read), edges (endpoints,
ports, duplicates) and structure (one start, an end, joins, cycles,
reachability) are each checked whatever the others found, so one save shows
the whole list. Two checks need a sound base and wait for it, so one mistake
does not cascade into noise: nothing is checked past a malformed document
shape, and for_each scopes are computed only for an otherwise valid graph.
Structure is checked on the edges whose endpoints exist (an edge to an
unknown node is reported once, as such), and a port is checked only on a node
whose step type is known.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

from chalicelib import expressions, jsonata_expressions
from chalicelib.engine.config_schema import config_issues, pointer
from chalicelib.engine.errors import ConfigInvalid
from chalicelib.engine.graph_model import DEFAULT_PORT, Edge, Graph, Node
from chalicelib.engine.node_config import RUNNER_CONFIG_SCHEMA, literal_keys, split_config, step_policies
from chalicelib.engine.scopes import compute_scopes
from chalicelib.engine.step_types import StepCatalog

SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_NODES = 500
MAX_EDGES = 2000

GRAPH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["nodes", "edges"],
    "properties": {
        "nodes": {
            "type": "array",
            "maxItems": MAX_NODES,
            "items": {
                "type": "object",
                "required": ["id", "name", "type"],
                "properties": {
                    "id": {"type": "string", "minLength": 1, "maxLength": 64},
                    "name": {"type": "string"},
                    "type": {"type": "string"},
                    "config": {"type": "object"},
                    "connection_id": {"type": ["string", "null"]},
                    "template": {"type": ["string", "null"]},
                    "ui": {
                        "type": "object",
                        "description": "Editor metadata (position…); ignored by the engine.",
                    },
                },
                "additionalProperties": False,
            },
        },
        "edges": {
            "type": "array",
            "maxItems": MAX_EDGES,
            "items": {
                "type": "object",
                "required": ["from", "to"],
                "properties": {
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                    "port": {"type": "string", "default": DEFAULT_PORT},
                    "ui": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
        "ui": {"type": "object"},
    },
    "additionalProperties": False,
}
_SHAPE = Draft202012Validator(GRAPH_SCHEMA)

Issues = list[dict[str, str]]


def check_graph(
    data: Any,
    *,
    catalog: StepCatalog,
    template_exists: Callable[[str], bool] | None = None,
    connection_ok: Callable[[str], bool] | None = None,
    secret_placement: bool = True,
) -> tuple[Graph | None, Issues]:
    """``(graph, [])`` for a valid document, else ``(None, problems)``.

    ``secret_placement=False`` skips the ``$secrets`` placement rule, only for
    re-reading a graph stored before the rule existed: its runs go on, and the
    runner never renders a misplaced reference (see ``node_config``).
    """
    shape = [{"path": pointer(e.absolute_path), "issue": e.message[:200]} for e in _SHAPE.iter_errors(data)]
    if shape:
        return None, sorted(shape, key=lambda i: i["path"])
    nodes = [
        Node(
            id=n["id"],
            name=n["name"],
            type=n["type"],
            # A private copy: the graph must not change when the caller's document does.
            config=copy.deepcopy(n.get("config") or {}),
            connection_id=n.get("connection_id"),
            template=n.get("template"),
            index=i,
        )
        for i, n in enumerate(data["nodes"])
    ]
    edges = [Edge(e["from"], e["to"], e.get("port", DEFAULT_PORT), i) for i, e in enumerate(data["edges"])]
    issues = _node_issues(catalog, nodes, template_exists, connection_ok)
    if secret_placement:
        issues += [i for node in nodes if node.type in catalog for i in secret_placement_issues(catalog, node)]
    issues += _edge_issues(catalog, nodes, edges)
    graph = _sound_part(catalog, nodes, edges)
    issues += _structure_issues(graph)
    if issues:
        return None, issues
    _, issues = compute_scopes(graph)
    if issues:
        return None, issues
    return graph, []


def _sound_part(catalog: StepCatalog, nodes: list[Node], edges: list[Edge]) -> Graph:
    """The graph of the first node per id and the edges between two of them (each node's own problems aside)."""
    unique: dict[str, Node] = {}
    for node in nodes:
        unique.setdefault(node.id, node)
    kept = [e for e in edges if e.from_node in unique and e.to_node in unique and e.from_node != e.to_node]
    return Graph(list(unique.values()), kept, catalog)


def _node_issues(
    catalog: StepCatalog,
    nodes: list[Node],
    template_exists: Callable[[str], bool] | None,
    connection_ok: Callable[[str], bool] | None,
) -> Issues:
    issues: Issues = []
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    for node in nodes:
        at = f"/nodes/{node.index}"
        if node.id in ids:
            issues.append({"path": f"{at}/id", "issue": f"duplicate id (also /nodes/{ids[node.id]})"})
        ids.setdefault(node.id, node.index)
        if not SAFE_NAME.match(node.name):
            issues.append({"path": f"{at}/name", "issue": f"must match {SAFE_NAME.pattern}"})
        elif node.name in names:
            issues.append({"path": f"{at}/name", "issue": f"duplicate name (also /nodes/{names[node.name]})"})
        names.setdefault(node.name, node.index)
        if node.type not in catalog:
            issues.append({"path": f"{at}/type", "issue": f"unknown step type; one of {', '.join(catalog.names)}"})
            continue
        if node.type == "action":
            if not node.template:
                issues.append({"path": f"{at}/template", "issue": "an action node needs a template"})
            elif template_exists is not None and not template_exists(node.template):
                issues.append({"path": f"{at}/template", "issue": "no such action template"})
        if node.connection_id is not None:
            if not catalog.get(node.type).NEEDS_CREDENTIALS:
                issues.append({"path": f"{at}/connection_id", "issue": f"a {node.type} node takes no connection"})
            elif connection_ok is not None and not connection_ok(node.connection_id):
                issues.append({"path": f"{at}/connection_id", "issue": "no such connection in this workspace"})
        issues.extend(config_problems(catalog, node.type, dict(node.config), f"{at}/config", node_name=node.name))
    return issues


def config_problems(catalog: StepCatalog, step_type: str, config: dict[str, Any], prefix: str, *,
                    node_name: str | None = None) -> Issues:
    """Schema, runner settings, handler checks and expression syntax of one node's config.

    Every JSONata expression is compiled; a problem names the node, so the
    editor can point at it even when the path is all a client shows.
    """
    handler_config, runner_config = split_config(config)
    issues = config_issues(RUNNER_CONFIG_SCHEMA, runner_config, rendered=True, prefix=prefix)
    if not issues:
        try:
            step_policies(runner_config)
        except ConfigInvalid as exc:
            issues.extend({"path": prefix + d["path"], "issue": d["issue"]} for d in exc.details)
    handler = catalog.get(step_type)
    schema_issues = config_issues(handler.CONFIG_SCHEMA, handler_config, rendered=False, prefix=prefix)
    issues.extend(schema_issues)
    if not schema_issues:
        issues.extend(
            {"path": prefix + i["path"], "issue": i["issue"]}
            for i in catalog.check_config(step_type, handler_config)
        )
    literal = literal_keys(handler)
    expression_config = {k: v for k, v in handler_config.items() if k not in literal}
    issues.extend(_expression_issues(expression_config, prefix, node_name))
    return issues


def secret_placement_issues(catalog: StepCatalog, node: Node) -> Issues:
    """``$secrets`` read anywhere but where a credential goes (the step type's ``SECRET_CONFIG_KEYS``).

    A secret's value must only leave in an outbound request; in any other key
    it would flow into a payload, an output, a port decision, a log or an
    event, transformed by a filter beyond what masking can recognise.
    """
    return misplaced_secrets(catalog, node.type, dict(node.config or {}), f"/nodes/{node.index}/config", node.name)


def misplaced_secrets(catalog: StepCatalog, step_type: str, config: dict[str, Any], prefix: str, name: str) -> Issues:
    """The ``$secrets`` placement rule for one config of ``step_type`` (a node's or a node template's)."""
    allowed = catalog.secret_config_keys(step_type)
    literal = literal_keys(catalog.get(step_type))  # never rendered: ``{{ $secrets.x }}`` there is just text
    where = ", ".join(sorted(allowed)) if allowed else "no key of this step type"
    issue = (f"node {name!r} ({step_type}) reads $secrets here; secrets may only be used where a "
             f"credential goes: {where}")
    return [{"path": path, "issue": issue}
            for key, value in config.items() if key not in allowed and key not in literal
            for path in _secret_paths(value, prefix + pointer([key]))]


def _secret_paths(value: Any, at: str) -> list[str]:
    if isinstance(value, str):
        return [at] if expressions.uses_secrets(value) else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _secret_paths(v, at + pointer([k]))]
    if isinstance(value, list):
        return [p for n, v in enumerate(value) for p in _secret_paths(v, f"{at}/{n}")]
    return []


def _expression_issues(value: Any, at: str, node_name: str | None = None) -> Issues:
    if jsonata_expressions.is_jsonata(value):
        problem = jsonata_expressions.syntax_problem(value[jsonata_expressions.MARKER])
        if problem is None:
            return []
        where = f"node {node_name!r}: " if node_name else ""
        return [{"path": at + pointer([jsonata_expressions.MARKER]), "issue": where + problem}]
    if isinstance(value, str):
        try:
            expressions.validate(value)
        except expressions.ExpressionError as exc:
            return [{"path": at, "issue": exc.message}]
        return []
    if isinstance(value, dict):
        return [i for k, v in value.items() for i in _expression_issues(v, at + pointer([k]), node_name)]
    if isinstance(value, list):
        return [i for n, v in enumerate(value) for i in _expression_issues(v, f"{at}/{n}", node_name)]
    return []


def _edge_issues(catalog: StepCatalog, nodes: list[Node], edges: list[Edge]) -> Issues:
    issues: Issues = []
    by_id = {n.id: n for n in nodes}
    seen: dict[tuple[str, str, str], int] = {}
    for edge in edges:
        at = f"/edges/{edge.index}"
        source, target = by_id.get(edge.from_node), by_id.get(edge.to_node)
        if source is None:
            issues.append({"path": f"{at}/from", "issue": f"no node with id {edge.from_node!r}"})
        if target is None:
            issues.append({"path": f"{at}/to", "issue": f"no node with id {edge.to_node!r}"})
        if source is None or target is None:
            continue
        if edge.from_node == edge.to_node:
            issues.append({"path": at, "issue": "an edge cannot connect a node to itself"})
            continue
        ports = catalog.ports_of(source.type, dict(source.config)) if source.type in catalog else None
        if ports is not None and edge.port not in ports:
            offered = ", ".join(ports) if ports else "none"
            issues.append(
                {
                    "path": f"{at}/port",
                    "issue": f"{source.name!r} has no port {edge.port!r} (ports: {offered})",
                }
            )
        if target.type == "start":
            issues.append({"path": f"{at}/to", "issue": "the start node takes no incoming edges"})
        key = (edge.from_node, edge.to_node, edge.port)
        if key in seen:
            issues.append({"path": at, "issue": f"duplicate of /edges/{seen[key]}"})
        seen.setdefault(key, edge.index)
    return issues


def _structure_issues(graph: Graph) -> Issues:
    issues: Issues = []
    starts = [n for n in graph.nodes.values() if n.type == "start"]
    if not starts:
        issues.append({"path": "/nodes", "issue": "a graph needs exactly one start node"})
    for extra in starts[1:]:
        issues.append({"path": f"/nodes/{extra.index}/type", "issue": "only one start node is allowed"})
    if not graph.end_ids:
        issues.append({"path": "/nodes", "issue": "a graph needs at least one end node"})
    for node in graph.nodes.values():
        if graph.is_join(node.id):
            continue
        seen_from: set[str] = set()
        for edge in graph.incoming(node.id):
            seen_from.add(edge.from_node)
            if len(seen_from) > 1:
                issues.append(
                    {
                        "path": f"/edges/{edge.index}/to",
                        "issue": f"{node.name!r} already has an "
                        "incoming edge; only wait_all and merge_race nodes join several",
                    }
                )
                break
    cycle_issues = _cycle_issues(graph)
    issues.extend(cycle_issues)
    if starts and len(starts) == 1:
        reached = _reachable(graph, starts[0].id)
        for node in graph.nodes.values():
            if node.id not in reached:
                issues.append({"path": f"/nodes/{node.index}", "issue": "not reachable from the start node"})
    return issues


def _cycle_issues(graph: Graph) -> Issues:
    """One issue per edge that closes a cycle (a back edge of a depth-first search)."""
    issues: Issues = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in graph.nodes:
        if root in state:
            continue
        path: list[str] = [root]
        state[root] = 1
        iterators = [iter(graph.outgoing(root))]
        while iterators:
            edge = next(iterators[-1], None)
            if edge is None:
                state[path.pop()] = 2
                iterators.pop()
                continue
            target = edge.to_node
            if state.get(target) == 1:
                loop = path[path.index(target) :] + [target]
                names = " → ".join(graph.node(n).name for n in loop)
                issues.append({"path": f"/edges/{edge.index}", "issue": f"edge closes a cycle: {names}"})
            elif target not in state:
                state[target] = 1
                path.append(target)
                iterators.append(iter(graph.outgoing(target)))
    return issues


def _reachable(graph: Graph, start_id: str) -> set[str]:
    reached = {start_id}
    frontier = [start_id]
    while frontier:
        for succ in graph.successors(frontier.pop()):
            if succ not in reached:
                reached.add(succ)
                frontier.append(succ)
    return reached
