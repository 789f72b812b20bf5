"""The code sandbox's isolation properties, each against real V8 processes.

No fakes here: every test runs tenant JavaScript through
:class:`SubprocessCodeRunner` exactly as the code step does.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from chalicelib import jsonata_expressions
from chalicelib.adapters.code_sandbox import GRACE_SECONDS, SubprocessCodeRunner
from chalicelib.engine.code import CodeFailed, CodeLimits, CodeRequest, to_script
from chalicelib.engine.retry import is_retryable

LIMITS = CodeLimits(heap_bytes=32 * 1024 * 1024, max_process_bytes=256 * 1024 * 1024, max_log_lines=20,
                    max_log_chars=4000, max_input_bytes=100_000, max_output_bytes=100_000)


@pytest.fixture(scope="module")
def sandbox():
    runner = SubprocessCodeRunner(size=2, limits=LIMITS)
    yield runner
    runner.close()


@pytest.fixture
def single():
    """One process only, so consecutive executions certainly share it (and two spares, soon used up)."""
    runner = SubprocessCodeRunner(size=1, limits=LIMITS, spares=2)
    yield runner
    runner.close()


def run(runner, source, payload=None, timeout=1.0, context=None):
    return runner.run(CodeRequest(source=source, payload={"items": [1, 2, 3]} if payload is None else payload,
                                  context=context or {"run_id": "run-1"}, timeout_seconds=timeout))


def fails(runner, source, code, **kwargs) -> CodeFailed:
    with pytest.raises(CodeFailed) as err:
        run(runner, source, **kwargs)
    assert err.value.code == code, (err.value.code, err.value.message)
    assert not is_retryable(err.value)
    return err.value


def test_the_returned_object_replaces_the_payload(sandbox):
    result = run(sandbox, "export default (payload, ctx) => ({ ...payload, source: 'stepline', run: ctx.run_id })")
    assert result.output == {"items": [1, 2, 3], "source": "stepline", "run": "run-1"}


def test_async_functions_are_awaited(sandbox):
    result = run(sandbox, "export default async (p) => { await null; return { n: p.items.length } }")
    assert result.output == {"n": 3}


def test_an_infinite_loop_fails_the_step_at_its_time_limit(sandbox):
    started = time.monotonic()
    fails(sandbox, "export default () => { while (true) {} }", "code_timeout", timeout=0.3)
    assert time.monotonic() - started < 0.3 + GRACE_SECONDS + 1.0
    assert run(sandbox, "export default () => ({ ok: true })").output == {"ok": True}


def test_a_loop_inside_a_promise_continuation_fails_too(sandbox):
    # V8's termination does not reach promise continuations: the parent kills the process.
    replaced = sandbox.replaced
    fails(sandbox, "export default async () => { await null; while (true) {} }", "code_timeout", timeout=0.3)
    assert sandbox.replaced == replaced + 1
    assert run(sandbox, "export default () => ({ ok: true })").output == {"ok": True}


def test_a_runaway_continuation_left_behind_by_a_returned_result_fails_too(sandbox):
    # The result is ready, but a continuation it queued never ends: the settle probe cannot answer.
    replaced = sandbox.replaced
    fails(sandbox, "export default () => { Promise.resolve().then(() => { for (;;) {} }); return { ok: true } }",
          "code_timeout", timeout=0.3)
    assert sandbox.replaced == replaced + 1
    assert run(sandbox, "export default () => ({ ok: true })").output == {"ok": True}


def test_a_heap_bomb_in_a_continuation_left_behind_fails_the_step(sandbox):
    fails(sandbox, "export default () => { Promise.resolve().then(() => { const a = [];"
                   " for (;;) a.push(new Array(100000).fill(1)); }); return { ok: true } }",
          "code_memory_exceeded", timeout=5)
    assert run(sandbox, "export default () => ({ ok: true })").output == {"ok": True}


def test_a_promise_result_is_checked_like_a_returned_one(sandbox):
    error = fails(sandbox, "export default async () => { await null; return { f: () => 1 } }", "code_invalid_output")
    assert "function" in error.message
    error = fails(sandbox, "export default async () => { await null; throw new RangeError('late') }", "code_error")
    assert error.message == "RangeError: late"


def test_a_heap_bomb_fails_the_step(sandbox):
    error = fails(sandbox, "export default () => { const a = []; for (;;) a.push(new Array(100000).fill(1)); }",
                  "code_memory_exceeded", timeout=5)
    assert "heap" in error.message
    assert run(sandbox, "export default () => ({ ok: true })").output == {"ok": True}


def test_an_array_buffer_bomb_outside_the_heap_fails_the_step(sandbox):
    fails(sandbox, "export default () => { const a = []; for (;;) a.push(new Uint8Array(2 ** 24).fill(1)); }",
          "code_memory_exceeded", timeout=5)
    assert run(sandbox, "export default () => ({ ok: true })").output == {"ok": True}


def test_an_allocation_v8_cannot_survive_costs_only_the_sandbox_process(sandbox):
    # A fixed array this long aborts V8 itself (or exhausts the limits first): never the worker.
    with pytest.raises(CodeFailed) as err:
        run(sandbox, "export default () => ({ n: new Array(2 ** 30).fill(0).length })", timeout=3)
    assert err.value.code in ("code_sandbox_failed", "code_memory_exceeded", "code_timeout")
    assert run(sandbox, "export default () => ({ ok: true })").output == {"ok": True}


@pytest.mark.parametrize("name", ["require", "process", "fetch", "setTimeout", "setInterval", "WebAssembly",
                                  "SharedArrayBuffer", "Atomics", "XMLHttpRequest", "Deno", "Bun"])
def test_no_host_capabilities_are_reachable(sandbox, name):
    result = run(sandbox, f"export default () => ({{ kind: typeof globalThis.{name} }})")
    assert result.output == {"kind": "undefined"}


@pytest.mark.parametrize("source", [
    "export default () => require('fs').readFileSync('/etc/passwd', 'utf8')",
    "export default () => process.env",
    "export default async () => (await fetch('http://127.0.0.1/')).json()",
])
def test_reaching_for_require_process_or_fetch_fails_cleanly(sandbox, source):
    error = fails(sandbox, source, "code_error")
    assert "ReferenceError" in error.message


def test_module_loading_is_a_syntax_error(sandbox):
    error = fails(sandbox, "import fs from 'fs'\nexport default () => ({})", "code_error")
    assert "import" in error.message and "code:1" in error.message
    fails(sandbox, "export default async () => await import('fs')", "code_error")


def test_no_state_leaks_from_one_execution_to_the_next(single):
    # GIVEN an execution that leaves globals and a polluted prototype behind
    first = run(single, "export default () => { globalThis.seen = 'run-1'; Object.prototype.polluted = 1;"
                        " Array.prototype.push = null; return { set: true } }")
    assert first.output == {"set": True}
    # WHEN the next execution (another run, another tenant) uses the same sandbox process
    second = run(single, "export default () => ({ seen: typeof globalThis.seen, polluted: typeof ({}).polluted,"
                         " push: typeof [].push })", context={"run_id": "run-2"})
    # THEN it sees none of it
    assert second.output == {"seen": "undefined", "polluted": "undefined", "push": "function"}
    assert single.replaced == 0


def test_every_execution_in_a_process_starts_from_a_fresh_isolate(single):
    # More executions than the process keeps spare isolates, back to back: none is ever reused.
    for n in range(3 * single.spares):
        result = run(single, "export default async () => { globalThis.count = (globalThis.count || 0) + 1;"
                             " Array.prototype.extra = 1; await null; return { count, extra: typeof [].extra } }",
                     context={"run_id": f"run-{n}"})
        assert result.output == {"count": 1, "extra": "number"}
    assert single.replaced == 0


def test_a_burst_longer_than_the_spare_pool_sees_a_pristine_global_object_every_time():
    # GIVEN one sandbox process with its default pool of spare isolates
    runner = SubprocessCodeRunner(size=1, limits=LIMITS)
    try:
        probe = ("export default (p, ctx) => { const seen = Object.getOwnPropertyNames(globalThis).length;"
                 " const leak = typeof ({}).leak, marks = Object.keys(globalThis).filter((k) => k.startsWith('mark_'));"
                 " globalThis[`mark_${ctx.run_id}`] = 1; Object.prototype.leak = ctx.run_id;"
                 " return { seen, leak, marks } }")
        # WHEN more executions than it keeps spares run in a burst, each leaving state behind
        outputs = [run(runner, probe, context={"run_id": f"r{n}"}).output for n in range(runner.spares + 6)]
        # THEN each one found the same pristine global object, with no mark or prototype change of another
        assert {o["seen"] for o in outputs} == {outputs[0]["seen"]}
        assert all(o["leak"] == "undefined" and o["marks"] == [] for o in outputs)
        assert runner.replaced == 0
    finally:
        runner.close()


def test_a_forked_worker_starts_its_own_sandbox_and_leaves_the_parents_alone(single):
    # GIVEN a worker whose sandbox process is running
    assert run(single, "export default () => ({ n: 1 })").output == {"n": 1}
    parents = {child.process.pid for child in single._all}
    # WHEN it forks, and the copy runs code and exits through its interpreter's exit handlers
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the forked copy
        status = 1
        try:
            ok = run(single, "export default () => ({ n: 2 })").output == {"n": 2}
            mine = {child.process.pid for child in single._all}
            status = 0 if ok and mine and not mine & parents else 2
            single.close()
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    # THEN the copy ran its code in a sandbox process of its own, and the parent's still serves it
    assert os.waitstatus_to_exitcode(status) == 0
    assert {child.process.pid for child in single._all} == parents
    assert run(single, "export default () => ({ n: 3 })").output == {"n": 3}
    assert single.replaced == 0


def test_used_isolates_never_pile_up_when_executions_leave_no_quiet_moment():
    from chalicelib.adapters import code_sandbox_child as child

    # GIVEN executions back to back on one pool, each leaving a large heap behind
    pool = child._Isolates({"heap_bytes": 64 * 1024 * 1024, "max_log_lines": 10, "max_log_chars": 1000,
                            "spares": 3})
    pool.wait_ready()
    try:
        source = "export default () => { globalThis.keep = new Array(2e6).fill(1); return {} }"
        request = {"script": to_script(source), "payload_json": "{}", "context_json": "{}", "timeout": 5.0,
                   "source_lines": 1}
        most = 0
        for _ in range(12):
            isolate = pool.take()
            assert child._run(isolate, request)["ok"]
            pool.done(isolate)
            with pool._state:
                most = max(most, len(pool._used))
        # THEN the used isolates were freed as they came: never more than a few waiting (not one per execution)
        assert most <= 4, most
    finally:
        pool.close()


def test_the_worker_is_closed_to_a_same_user_sandbox_process(single):
    import ctypes

    run(single, "export default () => ({})")
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE: no same-user ptrace or /proc reads of the worker


def test_the_sandbox_process_gets_no_environment(single):
    os.environ["STEPLINE_TEST_SECRET"] = "do-not-pass"
    try:
        run(single, "export default () => ({})")
        child = next(iter(single._all))
        with open(f"/proc/{child.process.pid}/environ", "rb") as handle:
            names = {entry.split(b"=", 1)[0].decode() for entry in handle.read().split(b"\0") if entry}
    finally:
        del os.environ["STEPLINE_TEST_SECRET"]
    assert names <= {"PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "LANG"}


@pytest.mark.parametrize("body,needle", [
    ("({ f: () => 1 })", "function"),
    ("{ const a = {}; a.self = a; return a }", "cycle"),
    ("undefined", "undefined"),
    ("({ b: 10n })", "bigint"),
    ("({ n: NaN })", "NaN"),
    ("[1, 2]", "an array"),
    ("'text'", "string"),
    ("({ m: new Map() })", "Map"),
    ("({ s: Symbol('x') })", "symbol"),
])
def test_the_output_must_be_a_json_object(sandbox, body, needle):
    source = f"export default () => {body}" if not body.startswith("{ ") else f"export default () => {body}"
    error = fails(sandbox, source, "code_invalid_output")
    assert needle in error.message


def test_console_output_is_captured_and_bounded(sandbox):
    result = run(sandbox, "export default (p) => { console.log('items', p.items); console.warn({ a: 1 });"
                          " for (let i = 0; i < 100; i++) console.info('line', i); return {} }")
    assert result.logs[:2] == (("info", "items [1,2,3]"), ("warning", '{"a":1}'))
    assert len(result.logs) == LIMITS.max_log_lines
    assert result.dropped_logs == 102 - LIMITS.max_log_lines


def test_console_output_travels_with_a_failure(sandbox):
    error = fails(sandbox, "export default () => { console.error('about to fail'); throw new Error('nope') }",
                  "code_error")
    assert error.logs == (("error", "about to fail"),)
    assert error.message == "Error: nope" and "code:1" in error.info["stack"]


def test_input_and_output_sizes_are_bounded(sandbox):
    fails(sandbox, "export default (p) => p", "code_payload_too_large", payload={"blob": "x" * 200_000})
    fails(sandbox, "export default () => ({ blob: 'x'.repeat(200000) })", "code_payload_too_large")


def test_code_that_exports_no_function_fails(sandbox):
    fails(sandbox, "const x = 1", "code_error")
    fails(sandbox, "export default 42", "code_error")


def test_the_worker_keeps_running_other_steps_while_code_loops(sandbox):
    # GIVEN a code step stuck in a loop for its whole time limit, on another thread
    outcome: dict[str, object] = {}

    def stuck() -> None:
        try:
            run(sandbox, "export default () => { for (;;) {} }", timeout=2.0)
        except CodeFailed as exc:
            outcome["code"] = exc.code
        outcome["done_at"] = time.monotonic()

    thread = threading.Thread(target=stuck)
    thread.start()
    time.sleep(0.2)
    # WHEN other steps run meanwhile (code on the other sandbox process, and expressions)
    finished = []
    for n in range(5):
        assert run(sandbox, f"export default () => ({{ n: {n} }})").output == {"n": n}
        assert jsonata_expressions.evaluate("$sum(items)", {"items": [n, 1]}) == n + 1
        finished.append(time.monotonic())
    thread.join()
    # THEN they all finished before the stuck one was stopped, and it failed cleanly
    assert outcome["code"] == "code_timeout"
    assert max(finished) < outcome["done_at"]


def test_on_lambda_the_pool_fits_the_function_memory():
    from chalicelib.adapters.code_sandbox import SandboxSettings

    fitted = SandboxSettings.for_this_function({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"})
    assert (fitted.processes, fitted.process_mb) == (1, 192)
    large = SandboxSettings.for_this_function({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "4096"})
    assert (large.processes, large.process_mb) == (1, 256)
    explicit = SandboxSettings.for_this_function({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
                                                  "CODE_SANDBOX_PROCESSES": "2"})
    assert (explicit.processes, explicit.process_mb) == (2, 128)
    assert SandboxSettings.for_this_function({}).processes == 2


def test_the_spare_pool_is_bounded_by_the_process_cap(monkeypatch):
    from pydantic import ValidationError

    from chalicelib.adapters.code_sandbox import MAX_SPARES, SandboxSettings

    assert SandboxSettings().spares == 24
    monkeypatch.setenv("CODE_SANDBOX_SPARES", "8")
    assert SandboxSettings().spares == 8
    for too_many in (str(MAX_SPARES + 1), "0"):
        monkeypatch.setenv("CODE_SANDBOX_SPARES", too_many)
        with pytest.raises(ValidationError):
            SandboxSettings()
    # a spare takes about 0.75 MiB of the process's cap: at most a quarter of the cap goes to spares
    monkeypatch.setenv("CODE_SANDBOX_SPARES", "32")
    monkeypatch.setenv("CODE_SANDBOX_PROCESS_MB", "100")
    with pytest.raises(ValidationError):
        SandboxSettings()
