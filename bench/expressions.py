"""Expression and code step figures: what a JSONata transform and a small code step add to a step.

Three 40-step chains run on the local stack, identical but for the step:
a plain ``{{ … }}`` template transform (the baseline), a JSONata transform
(``$sum(items)``), and a small code step. The figures are the p50 time
between consecutive step starts (one step's whole cost: claim, render,
handler, completion) and each variant's p50 overhead over the baseline. The
evaluation alone (no engine around it) is printed too, since it is the part
this feature adds and the engine's own noise does not blur it.

``python -m bench.expressions`` runs only these; ``make bench`` runs them with the rest.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bench.harness import figure, percentile

STEPS = 40
ITEMS = {"items": [1, 2, 3, 4, 5], "name": "bench"}
TEMPLATE = {"output": {"count": "{{ items | length }}", "label": "{{ name | upper }}"}, "mode": "merge"}
JSONATA = {"output": {"sum": {"$jsonata": "$sum(items)"}, "label": {"$jsonata": "$uppercase(name)"}},
           "mode": "merge"}
CODE = "export default (payload, ctx) => ({ ...payload, sum: payload.items.reduce((a, b) => a + b, 0) })"


def _graph(step: dict[str, Any]) -> dict[str, Any]:
    nodes = [{"id": "start", "name": "start", "type": "start"}]
    nodes += [{"id": f"s{i}", "name": f"s{i}", **step} for i in range(1, STEPS + 1)]
    nodes.append({"id": "end", "name": "end", "type": "end"})
    ids = [n["id"] for n in nodes]
    return {"nodes": nodes, "edges": [{"from": a, "to": b} for a, b in zip(ids, ids[1:], strict=False)]}


VARIANTS = {
    "template": {"type": "transform", "config": TEMPLATE},
    "jsonata": {"type": "transform", "config": JSONATA},
    "code": {"type": "code", "config": {"code": CODE}},
}


def _flow(tenant_id: str, ws: str, step: dict[str, Any]) -> str:
    from chalicelib.db.uow import tenant_uow
    from chalicelib.engine.graph import validate_graph
    from chalicelib.tables.engine import workflows
    from step_handlers import CATALOG

    graph = _graph(step)
    assert validate_graph(graph, catalog=CATALOG) == [], validate_graph(graph, catalog=CATALOG)
    flow_id = str(uuid.uuid4())
    with tenant_uow(tenant_id) as uow:
        uow.execute(workflows.insert().values(id=flow_id, tenant_id=tenant_id, workspace_id=ws,
                                              title=f"{step['type']} chain", graph=graph))
        uow.commit()
    return flow_id


def _chain_p50(tenant_id: str, ws: str, flow_id: str, runs: int) -> float:
    from bench.engine import _step_intervals, _wait_all
    from chalicelib.services.engine.runs import start_run

    intervals: list[float] = []
    for index in range(runs + 1):
        run = start_run(tenant_id, ws, flow_id, mode="test", input=ITEMS)
        _wait_all(tenant_id, [run["id"]], 120)
        if index:  # the first run warms up: graph parse, compiled expressions, sandbox processes
            intervals += _step_intervals(tenant_id, run["id"])
    return percentile(intervals, 50)


def evaluation_only(rounds: int = 400) -> None:
    """The evaluation alone, as the runner calls it: render a config, or run the code once."""
    from chalicelib import expressions
    from chalicelib.container import current
    from chalicelib.engine.code import CodeRequest

    data = {**ITEMS, "$env": {}, "$run": {"id": "r"}, "$trigger": {"kind": "manual"}}
    timings: dict[str, list[float]] = {"template": [], "jsonata": [], "code": []}
    runner = current().code_runner()
    request = CodeRequest(source=CODE, payload=dict(ITEMS), context={"run_id": "r"}, timeout_seconds=1.0)
    runner.run(request)  # start the sandbox processes
    for _ in range(rounds):
        for name, config in (("template", TEMPLATE["output"]), ("jsonata", JSONATA["output"])):
            began = time.perf_counter()
            expressions.render(config, data)
            timings[name].append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        runner.run(request)
        timings["code"].append((time.perf_counter() - began) * 1000)
    for name, values in timings.items():
        figure(f"expr_eval_{name}_p50", percentile(values, 50), "ms")
        figure(f"expr_eval_{name}_p95", percentile(values, 95), "ms")


def run_all(runs: int = 5) -> None:
    from bench.engine import _tenant

    evaluation_only()
    tenant_id, ws = _tenant()
    flows = {name: _flow(tenant_id, ws, step) for name, step in VARIANTS.items()}
    p50 = {}
    # Interleaved rounds, so a noisy neighbour on the machine hits every variant alike.
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(3):
        for name, flow_id in flows.items():
            samples[name].append(_chain_p50(tenant_id, ws, flow_id, runs))
    for name, values in samples.items():
        p50[name] = sorted(values)[len(values) // 2]
        figure(f"expr_chain40_{name}_step_p50", p50[name], "ms")
    figure("expr_chain40_jsonata_overhead_p50", p50["jsonata"] - p50["template"], "ms (target <= 2)")
    figure("expr_chain40_code_overhead_p50", p50["code"] - p50["template"], "ms (target <= 2)")


def main() -> None:
    import os

    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from bench.harness import local_stack

    with local_stack():
        run_all()


if __name__ == "__main__":
    main()
