"""A workflow graph: parsed, validated, and indexed for the runner.

The JSON form (stored per workflow version and per run)::

    {"nodes": [{"id", "name", "type", "config", "connection_id", "template"}],
     "edges": [{"from": node_id, "to": node_id, "port": "out"}]}

:func:`parse_graph` validates it (rules in ``graph_checks``) and returns a
:class:`Graph`; every problem is reported at once as a ``ValidationFailed``
whose details point into the document (``/nodes/3/type``, ``/edges/5/to``).
A :class:`Graph` is immutable and only ever built from a valid document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.engine.graph_checks import check_graph
from chalicelib.engine.graph_model import DEFAULT_PORT, Edge, Graph, Node, topological_order
from chalicelib.engine.step_types import StepCatalog
from chalicelib.errors import ValidationFailed

__all__ = ["DEFAULT_PORT", "Edge", "Graph", "Node", "parse_graph", "topological_order", "validate_graph"]


def parse_graph(
    data: Any,
    *,
    catalog: StepCatalog,
    template_exists: Callable[[str], bool] | None = None,
    connection_ok: Callable[[str], bool] | None = None,
    pointer_prefix: str = "",
    secret_placement: bool = True,
) -> Graph:
    """Validate a graph document and return the indexed :class:`Graph`.

    ``catalog`` is the step types the graph may use (``step_handlers.CATALOG``,
    handed over by the composition root).
    ``template_exists(ref)`` says whether an action template exists;
    ``connection_ok(connection_id)`` whether a connection exists in the
    workspace. Either may be ``None`` to skip that check (re-reading a graph
    that was validated when saved). ``pointer_prefix`` is put before every
    detail path (e.g. ``"/graph"`` when the graph sits in a request body).
    ``secret_placement=False`` only when re-reading a stored graph (see
    ``graph_checks.check_graph``). Raises ``ValidationFailed`` listing every problem.
    """
    graph, issues = check_graph(data, catalog=catalog, template_exists=template_exists, connection_ok=connection_ok,
                                secret_placement=secret_placement)
    if issues or graph is None:
        details = [{"path": pointer_prefix + i["path"], "issue": i["issue"]} for i in issues]
        raise ValidationFailed("The workflow graph is invalid.", details=details)
    return graph


def validate_graph(
    data: Any,
    *,
    catalog: StepCatalog,
    template_exists: Callable[[str], bool] | None = None,
    connection_ok: Callable[[str], bool] | None = None,
) -> list[dict[str, str]]:
    """The problems :func:`parse_graph` would raise, as ``{"path", "issue"}`` details."""
    return check_graph(data, catalog=catalog, template_exists=template_exists, connection_ok=connection_ok)[1]
