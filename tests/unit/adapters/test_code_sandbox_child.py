"""The sandbox process's own parts, in this process: the direct isolate driver and the spare isolates.

``_Isolate`` reaches into the pinned mini-racer's context internals to skip its
event-loop hops; these tests fail if an upgrade changes them. ``_Isolates``
must hand out an isolate no execution has used, keep a bounded number of
spares, prepare them only while no execution runs unless none is left, and
top up past its low mark only after a burst of executions.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from chalicelib.adapters import code_sandbox_child as child
from chalicelib.engine.code import to_script

LIMITS = {"heap_bytes": 32 * 1024 * 1024, "max_log_lines": 10, "max_log_chars": 1000,
          "max_process_bytes": 256 * 1024 * 1024, "spares": 4}


def request(source: str, timeout: float = 1.0) -> dict:
    return {"script": to_script(source), "payload_json": json.dumps({"items": [1, 2, 3]}),
            "context_json": json.dumps({"run_id": "r"}), "timeout": timeout, "source_lines": source.count("\n") + 1}


def eventually(condition, seconds: float = 20.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture(scope="module")
def isolates():
    pool = child._Isolates(LIMITS)
    pool.wait_ready()
    yield pool
    pool.close()


def test_scripts_posted_back_to_back_are_answered_in_order(isolates):
    isolate = isolates.fresh()
    try:
        isolate.post("globalThis.n = 1; Promise.resolve().then(() => { globalThis.n = 2 }); 'first'")
        isolate.post("`second ${globalThis.n}`")  # runs after the first's continuations
        deadline = time.monotonic() + 5
        assert isolate.answer(deadline) == "first"
        assert isolate.answer(deadline) == "second 2"
    finally:
        isolate.close()


def test_an_answer_past_its_deadline_is_a_timeout_and_stop_ends_the_script(isolates):
    isolate = isolates.fresh()
    try:
        isolate.post("for (;;) {}")
        with pytest.raises(TimeoutError):
            isolate.answer(time.monotonic() + 0.2)
        isolate.stop()
        from py_mini_racer import JSEvalException

        with pytest.raises(JSEvalException):  # terminated
            isolate.answer(time.monotonic() + 5)
        assert isolate.eval("'alive'", 5) == "alive"
    finally:
        isolate.close()


def test_a_spare_isolate_carries_nothing_of_its_preparation(isolates):
    names = "JSON.stringify(Object.getOwnPropertyNames(globalThis).sort())"
    bare = child._Isolate(isolates._loop, LIMITS["heap_bytes"])  # the harness only, no warm-up
    spare = isolates.fresh()
    try:
        bare.eval(child.HARNESS % {"max_lines": 10, "max_chars": 1000}, 5)
        # The warm-up ran a function through the harness: no global, no report, no console line stays.
        assert spare.eval(names, 5) == bare.eval(names, 5)
        assert spare.eval(child.SETTLE_PROBE, 5) == child.PENDING
        report = child._run(spare, request("export default () => { console.log('mine'); return {} }"))
        assert report["ok"] and report["logs"] == [["info", "mine"]] and report["dropped"] == 0
    finally:
        bare.close()
        spare.close()


def test_every_execution_gets_an_isolate_no_execution_has_used(isolates):
    seen: list[child._Isolate] = []  # kept alive, so no two can be the same object
    for n in range(2 * isolates.spares + 2):
        isolate = isolates.take()
        assert not any(isolate is other for other in seen)
        seen.append(isolate)
        report = child._run(isolate, request("export default () => { globalThis.count = (globalThis.count || 0) + 1;"
                                             " Object.prototype.mark = 1; return { count: globalThis.count } }"))
        assert json.loads(report["output"]) == {"count": 1}, n
        isolates.done(isolate)


def test_spares_are_prepared_between_executions_unless_none_is_left(isolates):
    assert eventually(lambda: len(isolates._ready) == isolates.spares and not isolates._used)
    # WHILE an execution runs, its successor is not made (spares are left)...
    first = isolates.take()
    time.sleep(0.3)
    assert len(isolates._ready) == isolates.spares - 1
    # ...but an execution that finds no spare left does not wait for the first to end.
    others = [isolates.take() for _ in range(isolates.spares)]
    assert len({id(first), *map(id, others)}) == isolates.spares + 1
    # Once the executions are answered, the used isolates are freed and the spares refilled.
    for used in (first, *others):
        isolates.done(used)
    assert eventually(lambda: len(isolates._ready) == isolates.spares and not isolates._used)


@pytest.fixture
def patient():
    """A pool that waits long after a burst before topping up past its low mark (so a test can watch it)."""
    pool = child._Isolates({**LIMITS, "spares": 5})
    pool.IDLE_SECONDS = 5.0
    made = []
    fresh = pool.fresh
    pool.fresh = lambda: made.append(1) or fresh()  # counts the isolates the preparer makes
    pool.made = made
    assert eventually(lambda: len(pool._ready) == pool.spares)  # a new process is idle: it fills its pool
    yield pool
    pool.close()


def test_a_burst_runs_on_spares_made_before_it(patient):
    # GIVEN a full pool
    made = len(patient.made)
    # WHEN a burst of executions (a chain of code steps) follows, a few milliseconds apart
    burst = patient.spares - patient.LOW - 1  # leaves one spare more than the low mark
    for _ in range(burst):
        isolate = patient.take()
        assert child._run(isolate, request("export default (p) => ({ ...p })"))["ok"]
        patient.done(isolate)
        time.sleep(0.01)
    # THEN the used isolates are freed at once, but no spare is made during the burst...
    assert eventually(lambda: not patient._used)
    time.sleep(0.2)
    assert len(patient.made) == made and len(patient._ready) == patient.LOW + 1
    # ...until the spares fall to the low mark: then one is made as soon as the process is quiet
    isolate = patient.take()
    patient.done(isolate)
    assert eventually(lambda: len(patient._ready) == patient.LOW + 1)
    time.sleep(0.2)
    assert len(patient.made) == made + 1 and len(patient._ready) == patient.LOW + 1
    # AND once the process has been idle long enough, the pool is topped up to its size, never past it
    patient.IDLE_SECONDS = 0.0
    with patient._state:
        patient._state.notify_all()
    assert eventually(lambda: len(patient._ready) == patient.spares)
    time.sleep(0.2)
    assert len(patient._ready) == patient.spares and len(patient.made) == made + burst + 1


def test_the_pool_holds_no_more_isolates_than_its_size(patient, isolates):
    import gc

    from py_mini_racer._context import context_count as allocated

    def context_count() -> int:
        gc.collect()  # a context lives until the last Python handle to one of its values is collected
        return allocated()

    # GIVEN a full pool: its isolates are all this process holds beyond the other pool's (full too, counted now)
    assert eventually(lambda: len(isolates._ready) == isolates.spares and not isolates._used)
    before = context_count()
    # WHEN many executions run, some back to back, some apart
    for n in range(3 * patient.spares):
        isolate = patient.take()
        child._run(isolate, request("export default () => ({ big: 'x'.repeat(1000) })"))
        patient.done(isolate)
        if n % 3 == 0:
            time.sleep(0.02)
    # THEN once they are over, the used isolates are freed and the pool is back to its size, not beyond
    patient.IDLE_SECONDS = 0.0
    with patient._state:
        patient._state.notify_all()
    assert eventually(lambda: len(patient._ready) == patient.spares and not patient._used)
    assert eventually(lambda: context_count() == before), (context_count(), before)


def test_an_execution_runs_while_a_spare_is_being_made(patient):
    # GIVEN a preparer stuck making a spare (a slow machine)
    fresh, making = patient.fresh, threading.Event()

    def slow():
        making.set()
        time.sleep(2.0)
        return fresh()

    patient.fresh = slow
    patient.IDLE_SECONDS = 0.0
    first = patient.take()
    patient.done(first)
    assert making.wait(5)
    # WHEN an execution arrives meanwhile
    started = time.monotonic()
    isolate = patient.take()
    report = child._run(isolate, request("export default () => ({ ok: true })"))
    patient.done(isolate)
    # THEN it runs on a spare made before, without waiting for the one being made
    assert report["ok"] and time.monotonic() - started < 1.0


def test_a_promise_result_settles_through_the_probe(isolates):
    isolate = isolates.take()
    try:
        report = child._run(isolate, request("export default async (p) => { for (let i = 0; i < 50; i++) await null;"
                                             " return { n: p.items.length } }"))
    finally:
        isolates.done(isolate)
    assert report["ok"] and json.loads(report["output"]) == {"n": 3}


def test_a_promise_that_never_settles_times_out(isolates):
    isolate = isolates.take()
    started = time.monotonic()
    report = child._run(isolate, request("export default () => new Promise(() => {})", timeout=0.2))
    assert report == {"ok": False, "kind": "timeout"}
    assert time.monotonic() - started < 5
    isolates.done(None)  # a timed-out isolate is never reused (the real process exits)
