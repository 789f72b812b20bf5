"""A node's retry policy and timeouts: computed once per parsed graph and engine settings, not once per run."""

from __future__ import annotations

import pytest

import step_handlers
from chalicelib.engine.graph import parse_graph
from chalicelib.services.workflows import rungraph, settings


@pytest.fixture
def graph():
    return parse_graph({"nodes": [{"id": "start", "name": "start", "type": "start", "config": {}},
                                  {"id": "t", "name": "t", "type": "transform",
                                   "config": {"output": {"x": 1}, "timeout_seconds": 7, "retry": {"max_attempts": 2}}},
                                  {"id": "end", "name": "end", "type": "end", "config": {}}],
                        "edges": [{"from": "start", "to": "t"}, {"from": "t", "to": "end"}]},
                       catalog=step_handlers.CATALOG)


def _run(run_id, graph):
    return rungraph.RunContext(run_id=run_id, tenant_id="t", workspace_id="w", workflow_id="f", mode="production",
                               graph=graph, env={}, secret_refs={}, deadline=None, started_at=None)


def test_runs_of_one_graph_share_its_nodes_policies_until_the_settings_change(graph, monkeypatch):
    computed = []
    real = rungraph.step_policies
    monkeypatch.setattr(rungraph, "step_policies", lambda *a, **kw: computed.append(a) or real(*a, **kw))
    settings.configure(retry={"max_attempts": 5})
    try:
        # WHEN three runs of the same graph ask for a node's policies
        found = [_run(f"r{i}", graph).policies("t") for i in range(3)]
        # THEN they were computed once, from the node's own settings
        assert len(computed) == 1 and found[0] == found[1] == found[2]
        assert found[0][0].max_attempts == 2 and found[0][1].step_seconds == 7
        assert _run("r9", graph).policies("start")[0].max_attempts == 5  # the platform's, for a node without
        # WHEN the engine settings change, the next run computes them again under the new settings
        settings.configure(retry={"max_attempts": 4})
        assert _run("r10", graph).policies("start")[0].max_attempts == 4
        assert len(computed) == 3
    finally:
        settings.reset()
