"""The engine's graph functions bound to the real step catalog, as the composition root hands it over."""

from __future__ import annotations

from functools import partial

from chalicelib.engine import graph
from step_handlers import CATALOG

parse_graph = partial(graph.parse_graph, catalog=CATALOG)
validate_graph = partial(graph.validate_graph, catalog=CATALOG)
