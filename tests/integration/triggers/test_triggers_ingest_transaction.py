"""An accepted webhook is recorded, admitted and started in one transaction (one commit per delivery)."""

from __future__ import annotations

from sqlalchemy import event, select

from chalicelib.db.database_engine import get_db_engine
from chalicelib.db.uow import tenant_uow
from chalicelib.errors import DependencyUnavailable
from chalicelib.tables.triggers import pending_runs, trigger_rate_buckets
from chalicelib.tables.workflows import runs
from tests.integration.triggers.trigger_support import deliver, delivery_rows


def _webhook(tenant):
    flow = tenant.make_flow()
    trigger = tenant.make_trigger(flow["id"])
    return trigger, trigger["webhook"]["new_secret"]


def _commits(action):
    commits = []

    def count(_conn):
        commits.append(1)

    event.listen(get_db_engine(), "commit", count)
    try:
        result = action()
    finally:
        event.remove(get_db_engine(), "commit", count)
    return result, len(commits)


def test_an_accepted_webhook_costs_one_commit_and_leaves_no_outbox_row(acme, clock, doorbells):
    trigger, secret = _webhook(acme)
    reply, commits = _commits(lambda: deliver(acme.api, trigger, {"n": 1}, secret, delivery_id="msg_one_commit"))
    assert reply.status == 202 and reply.body["status"] == "started", reply.body
    # THEN one commit recorded the delivery, admitted it and created its run with the first step queued
    assert commits == 1
    [row] = delivery_rows(acme.tenant_id, trigger["id"])
    assert row["outcome"] == "started" and row["accepted"] and str(row["run_id"]) == reply.body["run_id"]
    assert row["started_at"] is not None
    with tenant_uow(acme.tenant_id) as uow:
        assert uow.execute(select(pending_runs).where(pending_runs.c.delivery_id == row["id"])).first() is None
        run = uow.execute(select(runs.c.status, runs.c.trigger_info).where(runs.c.id == row["run_id"])).one()
    assert run.status == "running"
    # AND the run knows its delivery as before ($trigger), received when the delivery was recorded
    assert run.trigger_info["delivery_id"] == str(row["id"]) and run.trigger_info["external_id"] == "msg_one_commit"
    assert run.trigger_info["received_at"] == row["created_at"].isoformat().replace("+00:00", "Z")
    # AND its start step's doorbell was sent after the commit
    assert [b["run_id"] for b, _ in doorbells.sent] == [reply.body["run_id"]]


def test_a_start_that_fails_inside_the_transaction_keeps_nothing_but_the_error(acme, clock, doorbells,
                                                                                monkeypatch):
    from chalicelib.services.workflows import runs as engine_runs

    trigger, secret = _webhook(acme)
    with tenant_uow(acme.tenant_id) as uow:
        tokens_before = uow.execute(select(trigger_rate_buckets.c.tokens)).scalar()

    def broken(*_args, **_kwargs):
        raise DependencyUnavailable("The database went away.")

    monkeypatch.setattr(engine_runs, "launch", broken)
    down = deliver(acme.api, trigger, {"n": 1}, secret, delivery_id="msg_fails_inside")
    # THEN the sender is told to retry, the failure is on the history, and nothing was admitted
    assert down.status == 503
    [row] = delivery_rows(acme.tenant_id, trigger["id"])
    assert row["outcome"] == "error" and not row["accepted"] and row["run_id"] is None
    with tenant_uow(acme.tenant_id) as uow:
        assert uow.execute(select(trigger_rate_buckets.c.tokens)).scalar() == tokens_before
    assert acme.run_count(trigger["flow_id"]) == 0 and doorbells.sent == []
    # WHEN the sender retries: not a duplicate, the run starts
    monkeypatch.undo()
    retried = deliver(acme.api, trigger, {"n": 1}, secret, delivery_id="msg_fails_inside")
    assert retried.status == 202 and retried.body["status"] == "started"
    assert acme.run_count(trigger["flow_id"]) == 1
