"""The waiting-runs probe: evaluated by the engine's statement that ends a run, it decides whether the
triggers' release runs after that run (``bootstrap.WAITING_RUNS_PROBE``)."""

from __future__ import annotations

from sqlalchemy import text

from chalicelib import bootstrap
from chalicelib.db.uow import tenant_uow
from tests.integration.triggers.trigger_support import deliver


def _probe(tenant_id: str) -> bool:
    with tenant_uow(tenant_id) as uow:
        return bool(uow.execute(text(f"SELECT {bootstrap.WAITING_RUNS_PROBE}"), {"tenant": tenant_id}).scalar())


def test_the_probe_holds_exactly_while_a_run_of_the_tenant_waits(acme, beta, clock, doorbells, trigger_limits,
                                                                 ledger):
    # GIVEN no run waits
    assert not _probe(acme.tenant_id) and not _probe(beta.tenant_id)
    # WHEN a delivery of tenant A is admitted to wait (A at its concurrency limit)
    trigger_limits.configure(backpressure={"max_concurrent_runs": 1})
    ledger.count = 1
    flow = acme.make_flow()
    trigger = acme.make_trigger(flow["id"])
    waiting = deliver(acme.api, trigger, {"n": 1}, trigger["webhook"]["new_secret"])
    assert waiting.body["status"] == "queued"
    # THEN the probe holds for A only
    assert _probe(acme.tenant_id) and not _probe(beta.tenant_id)
    # WHEN the waiting run is released
    ledger.count = 0
    from chalicelib.services.triggers import release

    assert release.release(acme.tenant_id) == 1
    # THEN it no longer holds
    assert not _probe(acme.tenant_id)
