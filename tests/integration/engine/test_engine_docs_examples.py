"""The examples of docs/workflows.md run as documented.

Every ``<!-- runnable: name -->`` marker is followed by three JSON blocks: the
workflow to create (``POST …/flows``), the body that starts a run
(``POST …/flows/{id}/runs``) and the run's output. Each is created, run to the
end and compared. Every other JSON block of the page must parse, and a block
that is a node (``{"type": …, "config": …}``) must be a valid node config.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import step_handlers
from chalicelib.engine.graph_checks import config_problems

DOC = Path(__file__).resolve().parents[3] / "docs" / "workflows.md"
BLOCK = re.compile(r"```json\n(.*?)```", re.DOTALL)
MARKER = re.compile(r"<!-- runnable: ([a-z0-9-]+) -->")


def _runnable() -> dict[str, tuple[dict, dict, dict]]:
    text = DOC.read_text()
    found = {}
    for marker in MARKER.finditer(text):
        blocks = BLOCK.findall(text, marker.end())[:3]
        assert len(blocks) == 3, f"example {marker.group(1)}: three JSON blocks expected"
        found[marker.group(1)] = tuple(json.loads(b) for b in blocks)
    return found


EXAMPLES = _runnable()


def test_the_page_has_runnable_examples_and_every_block_parses():
    assert len(EXAMPLES) >= 4
    blocks = BLOCK.findall(DOC.read_text())
    for block in blocks:
        value = json.loads(block.replace("…", ""))  # an ellipsis stands for an id in the prose examples
        if isinstance(value, dict) and value.get("type") in step_handlers.CATALOG and "config" in value:
            assert config_problems(step_handlers.CATALOG, value["type"], value["config"], "") == [], block


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_documented_example_runs_as_documented(acme, drive_run, name):
    workflow, start_body, output = EXAMPLES[name]
    api, flows = acme["api"], f"/api/workspaces/{acme['ws']}/flows"
    # WHEN the documented workflow is created and started with the documented body
    created = api.post(flows, workflow, token=acme["token"])
    assert created.status == 201, created.body
    run = api.post(f"{flows}/{created.body['id']}/runs", start_body, token=acme["token"])
    assert run.status == 202, run.body
    # THEN it succeeds with the documented output
    assert drive_run(run.body["id"]) == "success"
    finished = api.get(f"/api/workspaces/{acme['ws']}/runs/{run.body['id']}", token=acme["token"])
    assert finished.body["output"] == output
