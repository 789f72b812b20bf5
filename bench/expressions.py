"""Expression and code step figures: what a JSONata transform and a small code step add to a step.

Three 40-step chains run on the local stack, identical but for the step:
a plain ``{{ … }}`` template transform (the baseline), a JSONata transform
(``$sum(items)``), and a small code step. The figures are a step's whole
cost in the chain (the worker's time handling the run's doorbells over its
steps: claim, render, handler, completion), a step's own execution time (``duration_ms``: render
and handler), and each variant's overhead over the baseline: the median,
over interleaved rounds, of the difference between the variant's run and the
template's run of the same round (so a noisy neighbour on the machine does
not land on one variant). Transforms are pure steps, which the engine runs a
chain of inside one transaction; so is a code step with a short time limit
(the default), as here, so all three variants share the engine's path and
differ only in the step's own execution: ``*_execute_p50`` is the figure
the engine's own noise (SQL under a loaded machine) does not blur. The
evaluation alone (no engine around it) is printed too, with the sandbox
processes' CPU per code execution (making and freeing its isolate included).

Runs start ``PAUSE_SECONDS`` apart, as chains arrive apart: the code sandbox
makes spare isolates ahead of a burst and replaces the used ones after it, and
without a pause that refill would land on the next variant's run (a template
run charged for the code step's work). The *exhausted* figures pair the
template with a code step whose sandbox keeps only ``EXHAUSTED_SPARES`` spare
isolates, so its isolates are made during the chain, as under continuous code
load once the spares are gone (the sandbox's CPU per execution bounds that
load's throughput). The machine's load average is printed at the start and
the end (the machine is shared).

``python -m bench.expressions`` runs only these; ``make bench`` runs them with the rest.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any

from bench.harness import figure, percentile

STEPS = 40
TARGET_MS = 2.0  # issue 13, item 4: a JSONata transform and a small code step each add at most this
PAUSE_SECONDS = 0.3
EXHAUSTED_SPARES = 3  # one above the sandbox's low mark: every isolate a chain uses is made during it
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
    from chalicelib.tables.workflows import workflows
    from step_handlers import CATALOG

    graph = _graph(step)
    assert validate_graph(graph, catalog=CATALOG) == [], validate_graph(graph, catalog=CATALOG)
    flow_id = str(uuid.uuid4())
    with tenant_uow(tenant_id) as uow:
        uow.execute(workflows.insert().values(id=flow_id, tenant_id=tenant_id, workspace_id=ws,
                                              title=f"{step['type']} chain", graph=graph))
        uow.commit()
    return flow_id


class _StepClock:
    """Times every ``process_step`` call of this process's workers (a doorbell's whole handling)."""

    def __init__(self) -> None:
        from chalicelib.services.workflows import runner

        self.runner, self.original, self.spent = runner, runner.process_step, []
        self.busy = 0
        self.lock = threading.Lock()

        def timed(*args: Any, **kwargs: Any) -> str:
            with self.lock:
                self.busy += 1
            began = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                with self.lock:
                    self.spent.append((time.perf_counter() - began) * 1000)
                    self.busy -= 1

        runner.process_step = timed

    def settle(self, seconds: float = 30.0) -> None:
        """Wait until no doorbell is being handled (a run looks finished once committed, before its call returns)."""
        deadline = time.monotonic() + seconds
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.001)

    def close(self) -> None:
        self.runner.process_step = self.original


def _run_costs(tenant_id: str, ws: str, flow_id: str, clock: _StepClock) -> tuple[float, list[float]]:
    """One run of a chain: the engine's time per step (ms), and each step's own execution time (ms).

    The engine's time is what handling the run's doorbells took in the worker
    (claim, render, handler, completion; not the queue's delivery latency):
    a chain of pure steps runs inside one transaction, whose timestamps are
    all that transaction's start, so the database cannot tell it.
    """
    from sqlalchemy import text

    from bench.engine import _wait_all
    from chalicelib.db.uow import tenant_uow
    from chalicelib.services.workflows.runs import start_run

    clock.settle()
    clock.spent.clear()
    run = start_run(tenant_id, ws, flow_id, mode="test", input=ITEMS)
    _wait_all(tenant_id, [run["id"]], 120, poll=0.02)
    clock.settle()
    spent = sum(clock.spent)
    with tenant_uow(tenant_id) as uow:
        status = uow.execute(text("SELECT status FROM runs WHERE id = CAST(:r AS uuid)"), {"r": run["id"]}).scalar()
        own = [float(r[0]) for r in uow.execute(text(
            "SELECT duration_ms FROM step_runs WHERE run_id = CAST(:r AS uuid) AND node_id LIKE 's%'"),
            {"r": run["id"]}).all()]
    if status != "success":
        raise RuntimeError(f"run {run['id']} ended {status}")
    return spent / STEPS, own


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
    time.sleep(1.0)  # and let them fill their spare pools
    cpu_before = _sandbox_cpu_seconds(runner)
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
    time.sleep(1.0)  # the used isolates freed and the pools topped up: their CPU counts
    executions = rounds + rounds // 4
    cpu = _sandbox_cpu_seconds(runner)
    for name, values in timings.items():
        figure(f"expr_eval_{name}_p50", percentile(values, 50), "ms")
        figure(f"expr_eval_{name}_p95", percentile(values, 95), "ms")
    if cpu is not None and cpu_before is not None:
        figure("expr_eval_code_sandbox_cpu_per_execution", (cpu - cpu_before) * 1000 / executions, "ms")


def _sandbox_cpu_seconds(runner: Any) -> float | None:
    """CPU time (user + system) the sandbox processes have used so far (``None`` off Linux, or if one was replaced)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for child in list(getattr(runner, "_all", ())):
        try:
            with open(f"/proc/{child.process.pid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"(1-min {one:.2f}, 5-min {five:.2f}, {os.cpu_count()} CPUs)"


def _verdict(value: float) -> str:
    if value <= TARGET_MS:
        return f"target <= {TARGET_MS:g}: met, {TARGET_MS - value:.2f} ms to spare"
    return f"target <= {TARGET_MS:g}: MISSED by {value - TARGET_MS:.2f} ms"


def _paired_rounds(tenant_id: str, ws: str, flows: dict[str, str], clock: _StepClock, *, rounds: int,
                   spares: int) -> dict[str, list[float]]:
    """Template and code runs in alternating order, the code step's sandbox keeping only ``spares`` isolates."""
    from chalicelib import bootstrap
    from chalicelib.adapters.code_sandbox import SubprocessCodeRunner
    from chalicelib.container import current

    runner = SubprocessCodeRunner(size=2, limits=current().code_runner().limits, spares=spares)
    per_round: dict[str, list[float]] = {"template": [], "code": []}
    try:
        with bootstrap.replaced(code_runner=runner):
            _run_costs(tenant_id, ws, flows["code"], clock)  # start its processes
            for index in range(rounds):
                for name in ("template", "code") if index % 2 else ("code", "template"):
                    time.sleep(PAUSE_SECONDS)
                    per_round[name].append(_run_costs(tenant_id, ws, flows[name], clock)[0])
    finally:
        runner.close()
    return per_round


def run_all(rounds: int = 15) -> None:
    from bench.engine import _tenant

    figure("expr_machine_load_at_start", os.getloadavg()[0], _load())
    evaluation_only()
    tenant_id, ws = _tenant()
    flows = {name: _flow(tenant_id, ws, step) for name, step in VARIANTS.items()}
    clock = _StepClock()
    for flow_id in flows.values():  # warm-up: graph parse, compiled expressions, sandbox processes
        _run_costs(tenant_id, ws, flow_id, clock)
    # One run of each variant per round, in a rotating order, so a noisy neighbour on the
    # machine hits every variant alike; the overhead is the median over rounds of the
    # variant's per-step cost minus the template's in the same round.
    per_round: dict[str, list[float]] = {name: [] for name in VARIANTS}
    own: dict[str, list[float]] = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            time.sleep(PAUSE_SECONDS)
            per_step, durations = _run_costs(tenant_id, ws, flows[name], clock)
            per_round[name].append(per_step)
            own[name] += durations
    # Exhausted: the same pairs, with a sandbox whose spares are used up within the chain.
    exhausted = _paired_rounds(tenant_id, ws, flows, clock, rounds=max(4, rounds // 2), spares=EXHAUSTED_SPARES)
    clock.close()
    for name in VARIANTS:
        figure(f"expr_chain40_{name}_step_p50", percentile(per_round[name], 50), "ms")
        figure(f"expr_chain40_{name}_execute_p50", percentile(own[name], 50), "ms")
    for name in ("jsonata", "code"):
        paired = [v - t for v, t in zip(per_round[name], per_round["template"], strict=True)]
        figure(f"expr_chain40_{name}_overhead_p50", percentile(paired, 50), f"ms ({_verdict(percentile(paired, 50))})")
    for name in ("template", "code"):
        figure(f"expr_chain40_{name}_exhausted_step_p50", percentile(exhausted[name], 50), "ms")
    paired = [c - t for c, t in zip(exhausted["code"], exhausted["template"], strict=True)]
    figure("expr_chain40_code_exhausted_overhead_p50", percentile(paired, 50),
           f"ms (no spare isolate left, each made during the chain; {_verdict(percentile(paired, 50))})")
    figure("expr_machine_load_at_end", os.getloadavg()[0], _load())


def main() -> None:
    import os

    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from bench.harness import local_stack

    with local_stack():
        run_all()


if __name__ == "__main__":
    main()
