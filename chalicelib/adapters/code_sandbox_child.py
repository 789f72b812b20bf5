"""The code sandbox process: runs one tenant execution at a time, each in a fresh V8 isolate.

Started by :mod:`chalicelib.adapters.code_sandbox` as
``python -m chalicelib.adapters.code_sandbox_child`` with an empty
environment (no credentials, no database URL), it speaks length-prefixed JSON
frames on stdin/stdout:

- it writes ``{"ready": true}`` once its first isolate is prepared;
- it reads one request at a time, runs it in an isolate no execution has
  used, writes the response and throws the isolate away.

So no state survives from one execution to the next: globals, prototypes and
pending promises die with their isolate. A preparer thread keeps a bounded
pool of spare isolates ready (harness installed, its paths compiled, no
tenant code) and frees used ones; it works while the process is idle
(between a response and the next request), so an execution does not share
the CPU with the making of its successor unless no spare is left, and it tops
the pool up only after a burst of executions (see :class:`_Isolates`).

An execution posts two scripts straight to its isolate's thread, the tenant's
code and a settle probe queued behind it, and waits for both answers at once
(see :class:`_Isolate`): the probe runs only after every promise continuation
the code left queued, so a continuation that never ends is caught by the same
deadline as a loop in the code itself.

Limits: V8's hard heap limit and a wall-time deadline per execution; a
watchdog thread ends the process (exit status ``MEMORY_EXIT``) if its resident
size passes the cap (array buffers live outside the V8 heap). Anything V8
cannot stop (a loop in a promise continuation, a fatal allocation) ends or
stalls this process, never the worker: the parent kills and replaces it.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import pathlib
import queue
import re
import resource
import struct
import sys
import threading
import time
from typing import Any

MEMORY_EXIT = 86
PREPARE_FAILED_EXIT = 87
DEFAULT_SPARES = 24  # spare isolates kept ready (the parent passes CODE_SANDBOX_SPARES)
_JS = pathlib.Path(__file__).with_name("sandbox_js")
FRAME_HEADER = struct.Struct(">I")

# Installed in every fresh isolate before the tenant's code: a bounded console
# that records instead of printing, no timers (mini-racer's setTimeout would
# keep work alive past the result), no WebAssembly or shared memory, and the
# output check. It captures the builtins it uses first, so tenant code that
# replaces JSON.stringify only spoils its own result (the parent re-validates).
HARNESS = (_JS / "harness.js").read_text(encoding="utf-8")

# One execution: the tenant's script handed to the harness's ``run`` (compiled
# and warmed with the harness, so an execution compiles only the tenant's
# code). It answers the report string, or PENDING when the code returned a
# promise (the settle probe then answers the report once it settles).
RUNNER = (_JS / "runner.js").read_text(encoding="utf-8")

# Queued behind the execution: answers only once every continuation the code
# left queued has run (V8 drains them between scripts), with the settled
# report of a promise result, or PENDING.
SETTLE_PROBE = "globalThis.__stepline.settled()"
PENDING = ""
POLL_SECONDS = 0.002  # how often a promise still pending after the probe is asked again
PREPARE_SECONDS = 10.0  # the most preparing one isolate may take (harness, warm-up)

# Runs a harmless function through the same path as tenant code, before any
# tenant code, so V8 has compiled the harness's functions.
WARM_UP = RUNNER % {"script": "((p, c) => ({ ...p, n: [1, 2].map((x) => x * 2), s: `${c.k}` }))",
                    "payload": json.dumps(json.dumps({"a": [1, {"b": True}], "d": None})),
                    "context": json.dumps(json.dumps({"k": "v"}))}

# What makes a spare isolate, as one script (one hand-off to the isolate's thread): the
# harness, then the warm-up, answering PREPARED only if the warm-up's report is a success and
# left no settled report behind (the warm-up is synchronous: it queues no continuation).
PREPARED = "prepared"
PREPARE = (
    HARNESS + "\n;(() => { const report = JSON.parse(" + WARM_UP.replace("%", "%%") + ");"
    f" return report.ok === true && report.logs.length === 0 && {SETTLE_PROBE} === {json.dumps(PENDING)}"
    f" ? {json.dumps(PREPARED)} : 'failed' }})()"
)

# Lines of the evaluated script before the tenant's first line (RUNNER's, then to_script's three).
_FIRST_LINE = RUNNER.split("%(script)s")[0].count("\n") + 3
_POSITION = re.compile(r"<anonymous>:(\d+)(?::(\d+))?")


def _tenant_positions(text: str, lines: int) -> str:
    """``<anonymous>:9:28`` → ``code:1:28`` for lines of the tenant's code (so errors point into it)."""
    def swap(match: re.Match[str]) -> str:
        line = int(match.group(1)) - _FIRST_LINE
        if not 1 <= line <= lines:
            return match.group(0)
        return f"code:{line}" + (f":{match.group(2)}" if match.group(2) else "")

    return _POSITION.sub(swap, text)


def _read_frame(stream: Any) -> Any:
    header = stream.read(FRAME_HEADER.size)
    if len(header) < FRAME_HEADER.size:
        return None
    (size,) = FRAME_HEADER.unpack(header)
    return json.loads(stream.read(size))


def _write_frame(stream: Any, message: Any) -> None:
    data = json.dumps(message, separators=(",", ":")).encode()
    stream.write(FRAME_HEADER.pack(len(data)) + data)
    stream.flush()


class _Isolate:
    """One V8 isolate (a mini-racer context), driven synchronously from the calling thread.

    mini-racer's ``MiniRacer.eval`` passes every call through an asyncio loop
    thread and back (four thread hand-offs, each a scheduler wake-up on a
    loaded machine). Here a script is posted straight to the isolate's own
    thread, and its answer read from the queue the isolate's callback fills:
    two hand-offs, and scripts posted back to back are answered in order for
    one wait. This uses the context internals of the pinned mini-racer
    (``requirements.txt``); ``tests/unit/adapters/test_code_sandbox_child.py``
    fails if they change.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, heap_bytes: int) -> None:
        from py_mini_racer._mini_racer import _make_context

        self._maker = _make_context(loop)
        self._ctx = self._maker.__enter__()
        self._answers: queue.Queue[Any] = self._ctx._non_cancelable_mr_task_results_queue
        self._posted: list[tuple[int, Any]] = []  # (task id, the code's handle, kept alive while V8 may read it)
        self._ctx.set_hard_memory_limit(heap_bytes)
        self._ctx.set_soft_memory_limit(heap_bytes * 3 // 4)

    def post(self, code: str) -> None:
        """Queue ``code`` on the isolate's thread; its answer comes from :meth:`answer`, in posting order."""
        handle = self._ctx._python_to_value_handle(code)
        task = self._ctx._dll.mr_eval(self._ctx._ctx, handle.raw, 0)  # 0: answered through the queue
        self._posted.append((task, handle))

    def answer(self, deadline: float) -> Any:
        """The value of the oldest unanswered script (its JS error raised); ``TimeoutError`` past ``deadline``."""
        try:
            handle = self._answers.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError from None
        return self._ctx._value_handle_to_python(handle)

    def eval(self, code: str, seconds: float) -> Any:
        self.post(code)
        return self.answer(time.monotonic() + seconds)

    def stop(self) -> None:
        """Terminate whatever script of this isolate is running (not a promise continuation: V8 cannot)."""
        for task, _handle in self._posted:
            self._ctx._dll.mr_cancel_task(self._ctx._ctx, task)

    def memory_exhausted(self) -> bool:
        return bool(self._ctx.was_hard_memory_limit_reached())

    def close(self) -> None:
        self._posted.clear()
        self._maker.__exit__(None, None, None)


class _Isolates:
    """Spare isolates, prepared ahead of use off the execution's path; each serves one execution.

    ``take`` hands out an isolate no execution has used; ``done`` returns it
    for disposal once the execution is answered. A preparer thread keeps up
    to ``spares`` isolates ready and frees used ones (about 2.5 ms of CPU to
    make one, 0.3 ms to free one). It never works while an execution runs
    unless no spare is left, and it waits for the process to be quiet so that
    it does not take the CPU the worker needs to record the step it just got:

    - a used isolate is freed, and a spare made while no more than ``LOW``
      are left, once the process has been idle for ``QUIET_SECONDS``;
    - the pool is topped up past ``LOW`` only once the process has been idle
      for ``IDLE_SECONDS``, longer than the gap between the steps of a chain:
      a burst of executions (a chain of code steps) runs on spares made
      before it, and its isolates are replaced after it;
    - used isolates are freed at once, even while an execution runs, when
      ``MAX_USED`` of them wait (executions back to back leave no quiet
      moment, and a used isolate may hold up to its heap limit).

    Memory: a spare holds about 0.75 MiB and one thread, and counts towards
    the process's resident-size cap; ``spares`` is bounded by the parent's
    settings (``CODE_SANDBOX_SPARES``).
    """

    LOW = 2
    MAX_USED = 2
    QUIET_SECONDS = 0.005
    IDLE_SECONDS = 0.05

    def __init__(self, limits: dict[str, Any]) -> None:
        self.limits = limits
        self.spares = max(1, int(limits.get("spares") or DEFAULT_SPARES))
        # mini-racer binds each context to an event loop for its asynchronous callbacks;
        # nothing here uses them (every script is answered through the queue), so it never runs.
        self._loop = asyncio.new_event_loop()
        self._prepare_script = PREPARE % {"max_lines": int(limits["max_log_lines"]),
                                          "max_chars": int(limits["max_log_chars"])}
        self._state = threading.Condition()
        self._ready: list[_Isolate] = []
        self._used: list[_Isolate] = []
        self._busy = False
        self._closed = False
        self._answered_at = 0.0
        self._preparer = threading.Thread(target=self._prepare, name="v8-preparer", daemon=True)
        self._preparer.start()

    def take(self) -> _Isolate:
        with self._state:
            self._busy = True
            while not self._ready:
                self._state.notify_all()  # no spare left: the preparer works even now
                self._state.wait()
            # The preparer is not woken: it has nothing to do while an execution runs (waking it
            # now would only take the GIL from this execution's path).
            return self._ready.pop()

    def done(self, used: _Isolate | None) -> None:
        """The execution is answered: dispose of ``used`` and top up the spares while idle."""
        with self._state:
            if used is not None:
                self._used.append(used)
            self._busy = False
            self._answered_at = time.monotonic()
            self._state.notify_all()

    def wait_ready(self) -> None:
        with self._state:
            while not self._ready:
                self._state.wait()

    def close(self) -> None:
        """Stop the preparer and free every isolate not in use (the process exits otherwise; tests)."""
        with self._state:
            self._closed = True
            self._state.notify_all()
        self._preparer.join()
        with self._state:
            isolates, self._ready, self._used = self._ready + self._used, [], []
        for isolate in isolates:
            isolate.close()

    def _prepare(self) -> None:
        try:
            while True:
                with self._state:
                    while (wait := self._until_work()) > 0:
                        self._state.wait(None if wait == math.inf else wait)
                    if self._closed:
                        return
                    starving = not self._ready and len(self._used) < self.MAX_USED
                    used = self._used.pop() if self._used and not starving else None
                if used is not None:
                    used.close()
                    continue
                fresh = self.fresh()
                with self._state:
                    self._ready.append(fresh)
                    self._state.notify_all()
        except BaseException:  # an isolate that cannot be prepared: the parent replaces this process
            os._exit(PREPARE_FAILED_EXIT)

    def _until_work(self) -> float:
        """How long the preparer should wait before working (``0``: work now, ``inf``: until notified)."""
        if self._closed or not self._ready or len(self._used) >= self.MAX_USED:
            return 0.0  # starving (an execution waits, or will), or used isolates to free now
        if self._busy:
            return math.inf
        if self._used or len(self._ready) <= self.LOW:
            quiet = self.QUIET_SECONDS
        elif len(self._ready) < self.spares:
            quiet = self.IDLE_SECONDS
        else:
            return math.inf
        return max(0.0, self._answered_at + quiet - time.monotonic())

    def fresh(self) -> _Isolate:
        """A new isolate with the harness installed and its paths compiled: one script, one hand-off."""
        isolate = _Isolate(self._loop, int(self.limits["heap_bytes"]))
        if isolate.eval(self._prepare_script, PREPARE_SECONDS) != PREPARED:
            raise RuntimeError("the sandbox harness did not prepare")
        return isolate


def _run(isolate: _Isolate, request: dict[str, Any]) -> dict[str, Any]:
    from py_mini_racer import JSEvalException, JSOOMException

    timeout = float(request["timeout"])
    deadline = time.monotonic() + timeout
    lines = int(request.get("source_lines") or 0)
    code = RUNNER % {
        "script": request["script"],
        "payload": json.dumps(request["payload_json"]),
        "context": json.dumps(request["context_json"]),
    }
    isolate.post(code)
    isolate.post(SETTLE_PROBE)
    try:
        try:
            result = isolate.answer(deadline)
        except JSEvalException as exc:  # the script did not compile, or V8 stopped it
            result = exc
        # The probe answers after every continuation the code left queued has run: an
        # execution is over only when it has answered, within the same deadline.
        settled = _settled(isolate, deadline)
        while result == PENDING and settled == PENDING:  # a promise not settled yet
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
            isolate.post(SETTLE_PROBE)
            settled = _settled(isolate, deadline)
    except TimeoutError:
        isolate.stop()
        return {"ok": False, "kind": "timeout"}
    if isinstance(settled, JSEvalException) and not isinstance(result, JSEvalException):
        result = settled  # a continuation the code left behind broke the isolate after its result
    if isinstance(result, JSEvalException) or isolate.memory_exhausted():
        if isinstance(result, JSOOMException) or isolate.memory_exhausted():
            return {"ok": False, "kind": "memory"}
        text = _tenant_positions(str(result), lines)
        name = "SyntaxError" if "SyntaxError" in text else type(result).__name__
        first, _, rest = text.partition("\n")
        return {"ok": False, "kind": "error", "name": name, "message": first[:2000], "stack": rest[:4000]}
    if result == PENDING:
        result = settled
    if not isinstance(result, str) or not result:
        return {"ok": False, "kind": "error", "name": "Error", "message": "the sandbox produced no report"}
    report = json.loads(result)
    if not report.get("ok"):
        report["stack"] = _tenant_positions(str(report.get("stack") or ""), lines)
        return {"ok": False, "kind": "output" if report.get("name") == "OutputError" else "error", **report}
    return report


def _settled(isolate: _Isolate, deadline: float) -> Any:
    from py_mini_racer import JSEvalException

    try:
        return isolate.answer(deadline)
    except JSEvalException as exc:
        return exc


def _watch_memory(cap: int) -> None:
    page = os.sysconf("SC_PAGE_SIZE")
    while True:
        with open("/proc/self/statm", "rb") as statm:
            resident = int(statm.read().split()[1]) * page
        if resident > cap:
            os._exit(MEMORY_EXIT)
        time.sleep(0.005)


def main() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Short GIL turns: a thread woken by V8 or the pipe does not wait out another's 5 ms slice.
    sys.setswitchinterval(0.0005)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Nothing the tenant's code causes may write to the protocol stream.
    sys.stdout = sys.stderr
    settings = _read_frame(stdin)
    if not isinstance(settings, dict):
        return
    if os.path.exists("/proc/self/statm"):
        threading.Thread(target=_watch_memory, args=(int(settings["max_process_bytes"]),), daemon=True).start()
    isolates = _Isolates(settings)
    isolates.wait_ready()  # the first isolate exists before "ready"
    _write_frame(stdout, {"ready": True})
    while True:
        request = _read_frame(stdin)
        if request is None:
            return
        isolate = isolates.take()
        response = _run(isolate, request)
        _write_frame(stdout, response)
        if response.get("kind") in ("timeout", "memory"):
            return  # a terminated or exhausted isolate may never free: the parent starts a new process
        isolates.done(isolate)


if __name__ == "__main__":
    main()
