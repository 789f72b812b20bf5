"""Concurrent deliveries to one tenant at its concurrency limit: the limit is never exceeded, nothing accepted
is lost, no delivery gets two runs, and the waiting runs all start as slots free up (release)."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select, update

from chalicelib.db.uow import tenant_uow
from chalicelib.services.triggers import release
from chalicelib.services.triggers.webhooks import WebhookCall, ingest
from chalicelib.tables.triggers import pending_runs, trigger_deliveries
from chalicelib.tables.workflows import runs
from chalicelib.triggers.signing import sign
from tests.integration.triggers.trigger_support import GENEROUS, T0

SLOTS = 3
SENDERS = 8


def _running(tenant_id: str, flow_id: str | None = None) -> int:
    where = [runs.c.status == "running"] + ([runs.c.workflow_id == flow_id] if flow_id else [])
    with tenant_uow(tenant_id) as uow:
        return int(uow.execute(select(func.count()).select_from(runs).where(*where)).scalar())


def _call(trigger: dict, secret: str, message_id: str, n: int) -> WebhookCall:
    raw = json.dumps({"n": n}).encode()
    headers = sign(trigger["webhook"]["signature_scheme"], raw, secret, timestamp=int(T0.timestamp()),
                   delivery_id=message_id)
    return WebhookCall(workspace_id=trigger["workspace_id"], path=trigger["webhook"]["path"],
                       headers={"content-type": "application/json", **headers}, raw_body=raw)


def _answer(call: WebhookCall) -> tuple[int, dict]:
    try:
        answer = ingest(call)
    except Exception as exc:  # an error answer (the route would send it): kept to be looked at
        return getattr(exc, "status", 500), {"error": type(exc).__name__}
    return answer.status, answer.body


def test_concurrent_deliveries_never_exceed_the_limit_and_lose_nothing(acme, clock, doorbells, trigger_limits):
    # GIVEN a tenant that may run SLOTS more runs than it runs already (other tests' runs stay running)
    limit = _running(acme.tenant_id) + SLOTS
    trigger_limits.configure(backpressure={**GENEROUS, "max_concurrent_runs": limit})
    flow = acme.make_flow()
    trigger = acme.make_trigger(flow["id"])
    secret = trigger["webhook"]["new_secret"]
    # WHEN 24 distinct deliveries, each sent twice, arrive from 8 senders at once, in a shuffled order
    ids = [f"msg_{uuid.uuid4().hex}" for _ in range(24)]
    sends = [(message_id, n) for n, message_id in enumerate(ids)] * 2
    random.Random(16).shuffle(sends)
    with ThreadPoolExecutor(SENDERS) as pool:
        answers = list(pool.map(lambda s: _answer(_call(trigger, secret, *s)), sends))
    # THEN every copy is answered as accepted (202) or as a duplicate of the accepted one (200), never an error
    assert all(status in (200, 202) for status, _ in answers), [a for a in answers if a[0] not in (200, 202)]
    with tenant_uow(acme.tenant_id) as uow:
        accepted = uow.execute(select(trigger_deliveries.c.id, trigger_deliveries.c.external_id,
                                      trigger_deliveries.c.run_id)
                               .where(trigger_deliveries.c.trigger_id == trigger["id"],
                                      trigger_deliveries.c.accepted)).all()
        waiting = {str(r[0]) for r in uow.execute(select(pending_runs.c.delivery_id)
                                                  .where(pending_runs.c.trigger_id == trigger["id"],
                                                         pending_runs.c.waiting)).all()}
    # AND each delivery was accepted exactly once
    assert sorted(r.external_id for r in accepted) == sorted(ids)
    # AND exactly SLOTS runs started (the limit, never more), every other accepted delivery waits
    started = [r for r in accepted if r.run_id is not None]
    assert len(started) == SLOTS and _running(acme.tenant_id, flow["id"]) == SLOTS
    assert waiting == {str(r.id) for r in accepted if r.run_id is None}
    # WHEN the runs finish a batch at a time and the waiting runs are released, concurrently
    rounds = 0
    while _running(acme.tenant_id, flow["id"]) and rounds < 20:
        rounds += 1
        with tenant_uow(acme.tenant_id) as uow:
            uow.execute(update(runs).where(runs.c.workflow_id == flow["id"], runs.c.status == "running")
                        .values(status="success"))
            uow.commit()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: release.release(acme.tenant_id, T0), range(4)))
        # THEN never more than the limit run at once
        assert _running(acme.tenant_id, flow["id"]) <= SLOTS
    # AND in the end every accepted delivery has exactly one run, none is left waiting
    with tenant_uow(acme.tenant_id) as uow:
        rows = uow.execute(select(trigger_deliveries.c.run_id).where(trigger_deliveries.c.trigger_id == trigger["id"],
                                                                     trigger_deliveries.c.accepted)).all()
        left = uow.execute(select(func.count()).select_from(pending_runs)
                           .where(pending_runs.c.trigger_id == trigger["id"])).scalar()
        run_count = uow.execute(select(func.count()).select_from(runs)
                                .where(runs.c.workflow_id == flow["id"])).scalar()
    assert all(r.run_id is not None for r in rows) and left == 0
    assert run_count == len(ids) == len({r.run_id for r in rows})


def test_deliveries_racing_releases_never_exceed_the_limit(acme, clock, doorbells, trigger_limits):
    # GIVEN the limit, and runs finishing and being released while deliveries arrive
    limit = _running(acme.tenant_id) + SLOTS
    trigger_limits.configure(backpressure={**GENEROUS, "max_concurrent_runs": limit})
    flow = acme.make_flow()
    trigger = acme.make_trigger(flow["id"])
    secret = trigger["webhook"]["new_secret"]
    ids = [f"msg_{uuid.uuid4().hex}" for _ in range(30)]
    done = threading.Event()
    seen: list[int] = []

    def finish_and_release() -> None:  # the engine finishing one run at a time, then its release
        while not done.is_set():
            with tenant_uow(acme.tenant_id) as uow:
                one = uow.execute(select(runs.c.id).where(runs.c.workflow_id == flow["id"],
                                                          runs.c.status == "running").limit(1)).first()
                if one is not None:
                    uow.execute(update(runs).where(runs.c.id == one[0]).values(status="success"))
                uow.commit()
            release.release(acme.tenant_id, T0)

    def watch() -> None:
        while not done.is_set():
            seen.append(_running(acme.tenant_id, flow["id"]))

    helpers = [threading.Thread(target=finish_and_release) for _ in range(2)] + [threading.Thread(target=watch)]
    for helper in helpers:
        helper.start()
    try:
        with ThreadPoolExecutor(SENDERS) as pool:
            answers = list(pool.map(lambda s: _answer(_call(trigger, secret, *s)), [(m, n) for n, m in enumerate(ids)]))
        for _ in range(200):  # until the backlog is gone
            if not _waiting(acme.tenant_id, trigger["id"]) and not _running(acme.tenant_id, flow["id"]):
                break
            time.sleep(0.05)
    finally:
        done.set()
        for helper in helpers:
            helper.join()
    # THEN every delivery was accepted, never more than the limit ran at once, and each got exactly one run
    assert all(status == 202 for status, _ in answers), answers
    assert seen and max(seen) <= SLOTS, max(seen)
    with tenant_uow(acme.tenant_id) as uow:
        rows = uow.execute(select(trigger_deliveries.c.run_id).where(trigger_deliveries.c.trigger_id == trigger["id"],
                                                                     trigger_deliveries.c.accepted)).all()
    assert len(rows) == len(ids) and all(r.run_id for r in rows) and len({r.run_id for r in rows}) == len(ids)


def _waiting(tenant_id: str, trigger_id: str) -> int:
    with tenant_uow(tenant_id) as uow:
        return int(uow.execute(select(func.count()).select_from(pending_runs)
                               .where(pending_runs.c.trigger_id == trigger_id)).scalar())
