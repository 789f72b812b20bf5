"""Run retention: the housekeeping tick deletes runs that ended before the retention period, with their history."""

from __future__ import annotations

from sqlalchemy import text

from chalicelib.db.uow import system_uow, tenant_uow
from chalicelib.services import housekeeping
from chalicelib.services.workflows import settings
from tests.integration.engine.engine_harness import edge, node

GRAPH = {"nodes": [node("start", "start"), node("shape", "transform", output={"ok": True}), node("end", "end")],
         "edges": [edge("start", "shape"), edge("shape", "end")]}
CHILDREN = ("step_runs", "run_events", "step_logs")


def _age(run_id: str, days: int, *, status: str | None = None) -> None:
    with system_uow() as uow:
        uow.execute(text("UPDATE runs SET finished_at = now() - make_interval(days => :d), "
                         "created_at = now() - make_interval(days => :d), status = coalesce(:s, status) "
                         "WHERE id = CAST(:r AS uuid)"), {"d": days, "r": run_id, "s": status})
        uow.commit()


def _rows(tenant_id: str, run_id: str) -> dict[str, int]:
    with tenant_uow(tenant_id) as uow:
        found = {t: uow.execute(text(f"SELECT count(*) FROM {t} WHERE run_id = CAST(:r AS uuid)"),
                                {"r": run_id}).scalar() for t in CHILDREN}
        found["runs"] = uow.execute(text("SELECT count(*) FROM runs WHERE id = CAST(:r AS uuid)"),
                                    {"r": run_id}).scalar()
    return found


def test_the_tick_deletes_runs_past_retention_with_their_history(acme, make_flow, start, drive_run):
    # GIVEN a retention of 10 days, and three finished runs: one ended 11 days ago, one 9 days ago,
    # and one "running" whose dates are as old (a run still running is never deleted)
    settings.configure(run_retention_days=10)
    flow = make_flow(GRAPH)
    old, recent, running = (start(flow["id"], input={"n": i})["id"] for i in range(3))
    for run_id in (old, recent, running):
        assert drive_run(run_id) == "success"
    assert _rows(acme["tenant_id"], old)["step_runs"] > 0 and _rows(acme["tenant_id"], old)["run_events"] > 0
    _age(old, 11)
    _age(recent, 9)
    _age(running, 40, status="running")
    try:
        # WHEN the housekeeping tick runs
        outcome = housekeeping.tick()
        # THEN the old run is gone with its step attempts, events and logs; the others stay
        assert outcome["run_retention"] == "ok"
        assert _rows(acme["tenant_id"], old) == {"step_runs": 0, "run_events": 0, "step_logs": 0, "runs": 0}
        assert _rows(acme["tenant_id"], recent)["runs"] == 1
        assert _rows(acme["tenant_id"], running)["runs"] == 1
        assert acme["api"].get(f"/api/workspaces/{acme['ws']}/runs/{old}", token=acme["token"]).status == 404
    finally:
        _age(running, 40, status="success")  # let later ticks of this session clear it
