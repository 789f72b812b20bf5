"""Node templates' preset config, applied to the nodes that use them (pure; no I/O).

A node whose ``template`` is ``tpl:<name>`` gets the template's preset
``config`` under its own: every key the node sets wins, objects are merged key
by key (a preset's ``headers`` and the node's extra header both apply), any
other value of the node replaces the preset's. The merge happens where a graph
is validated (so a preset may supply what the step type requires) and when a
run starts (the run stores the merged graph: exactly what it executes).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

TEMPLATE_PREFIX = "tpl:"


def template_refs(graph: Any) -> set[str]:
    """The ``tpl:`` references of a graph document's nodes."""
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    return {n["template"] for n in nodes if isinstance(n, dict) and isinstance(n.get("template"), str)
            and n["template"].startswith(TEMPLATE_PREFIX)} if isinstance(nodes, list) else set()


def merged(preset: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """``own`` over ``preset``, objects merged recursively."""
    out = copy.deepcopy(dict(preset))
    for key, value in own.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_presets(graph: Any, presets: Mapping[str, Mapping[str, Any]]) -> Any:
    """A copy of ``graph`` whose template nodes carry their preset config (the document itself is unchanged).

    ``presets`` maps a ``tpl:`` reference to ``{"step_type", "config"}``; a node whose type is not
    the template's step type keeps its own config (validation reports the mismatch).
    """
    if not presets or not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
        return graph
    nodes = []
    for node in graph["nodes"]:
        template = node.get("template") if isinstance(node, dict) else None
        preset = presets.get(template) if isinstance(template, str) else None
        if preset is None or preset.get("step_type") != node.get("type") or not preset.get("config"):
            nodes.append(node)
            continue
        own = node.get("config") if isinstance(node.get("config"), dict) else {}
        nodes.append({**node, "config": merged(preset["config"], own)})
    return {**graph, "nodes": nodes}


def preset_issues(graph: Any, presets: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    """Nodes whose template is a preset of another step type."""
    issues: list[dict[str, str]] = []
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    for index, node in enumerate(nodes if isinstance(nodes, list) else []):
        template = node.get("template") if isinstance(node, dict) else None
        preset = presets.get(template) if isinstance(template, str) else None
        if preset is not None and preset.get("step_type") != node.get("type"):
            issues.append({"path": f"/nodes/{index}/template",
                           "issue": f"the template is a preset of a {preset.get('step_type')} node, "
                                    f"not of a {node.get('type')} node"})
    return issues
