"""Expression and code step figures: what a JSONata transform and a small code step add to a step.

Three 40-step chains run on the local stack, identical but for the step:
a plain ``{{ … }}`` template transform (the baseline), a JSONata transform
(``$sum(items)``), and a small code step. The figures are the p50 time
between consecutive step starts (one step's whole cost: claim, render,
handler, completion) and each variant's p50 overhead over the baseline: the
median, over interleaved rounds, of the difference between the variant's run
and the template's run of the same round (so a noisy neighbour on the
machine does not land on one variant). The evaluation alone (no engine
around it) is printed too, since it is the part this feature adds and the
engine's own noise does not blur it.

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


def _run_intervals(tenant_id: str, ws: str, flow_id: str) -> list[float]:
    from bench.engine import _step_intervals, _wait_all
    from chalicelib.services.engine.runs import start_run

    run = start_run(tenant_id, ws, flow_id, mode="test", input=ITEMS)
    _wait_all(tenant_id, [run["id"]], 120, poll=0.05)  # step times come from the database: poll gently
    return _step_intervals(tenant_id, run["id"])


def evaluation_only(rounds: int = 400, pause: float = 0.01) -> None:
    """The evaluation alone, as the runner calls it: render a config, or run the code once.

    Rounds are ``pause`` apart, as steps are in a chain (the sandbox prepares the
    next isolate in such gaps); a back-to-back series shows the code step's
    throughput bound too, where each execution waits for its isolate.
    """
    from chalicelib import expressions
    from chalicelib.container import current
    from chalicelib.engine.code import CodeRequest

    data = {**ITEMS, "$env": {}, "$run": {"id": "r"}, "$trigger": {"kind": "manual"}}
    timings: dict[str, list[float]] = {"template": [], "jsonata": [], "code": [], "code_back_to_back": []}
    runner = current().code_runner()
    request = CodeRequest(source=CODE, payload=dict(ITEMS), context={"run_id": "r"}, timeout_seconds=1.0)
    runner.run(request)  # start the sandbox processes
    for _ in range(rounds):
        time.sleep(pause)
        for name, config in (("template", TEMPLATE["output"]), ("jsonata", JSONATA["output"])):
            began = time.perf_counter()
            expressions.render(config, data)
            timings[name].append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        runner.run(request)
        timings["code"].append((time.perf_counter() - began) * 1000)
    for _ in range(rounds // 4):
        began = time.perf_counter()
        runner.run(request)
        timings["code_back_to_back"].append((time.perf_counter() - began) * 1000)
    for name, values in timings.items():
        figure(f"expr_eval_{name}_p50", percentile(values, 50), "ms")
        figure(f"expr_eval_{name}_p95", percentile(values, 95), "ms")


def run_all(rounds: int = 15) -> None:
    from bench.engine import _tenant

    evaluation_only()
    tenant_id, ws = _tenant()
    flows = {name: _flow(tenant_id, ws, step) for name, step in VARIANTS.items()}
    for flow_id in flows.values():  # warm-up: graph parse, compiled expressions, sandbox processes
        _run_intervals(tenant_id, ws, flow_id)
    # One run of each variant per round, in a rotating order, so a noisy neighbour on the
    # machine hits every variant alike; the overhead is the median over rounds of the
    # variant's run p50 minus the template run's p50 in the same round.
    pooled: dict[str, list[float]] = {name: [] for name in VARIANTS}
    per_round: dict[str, list[float]] = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            intervals = _run_intervals(tenant_id, ws, flows[name])
            pooled[name] += intervals
            per_round[name].append(percentile(intervals, 50))
    for name in VARIANTS:
        figure(f"expr_chain40_{name}_step_p50", percentile(pooled[name], 50), "ms")
    for name in ("jsonata", "code"):
        paired = [v - t for v, t in zip(per_round[name], per_round["template"], strict=True)]
        figure(f"expr_chain40_{name}_overhead_p50", percentile(paired, 50), "ms (target <= 2)")


def main() -> None:
    import os

    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from bench.harness import local_stack

    with local_stack():
        run_all()


if __name__ == "__main__":
    main()
