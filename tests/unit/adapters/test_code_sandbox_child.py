"""The sandbox process's own parts, in this process: the direct isolate driver and the spare isolates.

``_Isolate`` reaches into the pinned mini-racer's context internals to skip its
event-loop hops; these tests fail if an upgrade changes them. ``_Isolates``
must hand out an isolate no execution has used, and prepare spares only while
no execution runs unless none is left.
"""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.adapters import code_sandbox_child as child
from chalicelib.engine.code import to_script

LIMITS = {"heap_bytes": 32 * 1024 * 1024, "max_log_lines": 10, "max_log_chars": 1000,
          "max_process_bytes": 256 * 1024 * 1024}


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
    return pool


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
    seen: list[int] = []
    for n in range(2 * child._Isolates.SPARE + 2):
        isolate = isolates.take()
        assert id(isolate) not in seen
        seen.append(id(isolate))
        report = child._run(isolate, request("export default () => { globalThis.count = (globalThis.count || 0) + 1;"
                                             " Object.prototype.mark = 1; return { count: globalThis.count } }"))
        assert json.loads(report["output"]) == {"count": 1}, n
        isolates.done(isolate)


def test_spares_are_prepared_between_executions_unless_none_is_left(isolates):
    assert eventually(lambda: len(isolates._ready) == child._Isolates.SPARE and not isolates._used)
    # WHILE an execution runs, its successor is not made (the spare left is enough)...
    first = isolates.take()
    time.sleep(0.3)
    assert len(isolates._ready) == child._Isolates.SPARE - 1
    # ...but an execution that finds no spare left does not wait for the first to end.
    others = [isolates.take() for _ in range(child._Isolates.SPARE)]
    assert len({id(first), *map(id, others)}) == child._Isolates.SPARE + 1
    # Once the executions are answered, the used isolates are freed and the spares refilled.
    for used in (first, *others):
        isolates.done(used)
    assert eventually(lambda: len(isolates._ready) == child._Isolates.SPARE and not isolates._used)


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
