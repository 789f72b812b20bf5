"""The records of one step-queue batch are handled concurrently; failures are reported per record."""

from __future__ import annotations

import json
import threading

from chalicelib import bootstrap
from chalicelib.services import messages


def test_records_of_a_batch_run_concurrently_and_only_failures_are_redelivered(monkeypatch):
    monkeypatch.setenv("STEP_BATCH_CONCURRENCY", "5")
    monkeypatch.setattr(messages, "_pool_capacity", lambda: 15)
    all_in = threading.Barrier(5, timeout=5)  # passes only if the five handlers are running at the same time

    def handler(message):
        all_in.wait()
        if message["n"] == 3:
            raise RuntimeError("infrastructure fault")

    records = [(f"m{n}", json.dumps({"kind": "batch-test", "n": n})) for n in range(5)]
    with bootstrap.replaced(message_kinds={"batch-test": handler}):
        assert messages.handle_batch(records) == ["m3"]


def test_a_concurrency_of_one_handles_records_in_order(monkeypatch):
    monkeypatch.setenv("STEP_BATCH_CONCURRENCY", "1")
    monkeypatch.setattr(messages, "_pool_capacity", lambda: 15)
    seen: list[int] = []
    records = [(f"m{n}", json.dumps({"kind": "batch-test", "n": n})) for n in range(4)] + [("bad", "not json")]
    with bootstrap.replaced(message_kinds={"batch-test": lambda m: seen.append(m["n"])}):
        assert messages.handle_batch(records) == [] and seen == [0, 1, 2, 3]


def test_concurrency_never_exceeds_what_the_pool_can_serve(monkeypatch):
    monkeypatch.setenv("STEP_BATCH_CONCURRENCY", "10")
    monkeypatch.setattr(messages, "_pool_capacity", lambda: 3)  # DB_POOL_SIZE=1, as on AWS
    assert messages._concurrency() == 3
    monkeypatch.setattr(messages, "_pool_capacity", lambda: 60)
    assert messages._concurrency() == 10
