"""The code sandbox process: runs one tenant execution at a time, each in a fresh V8 isolate.

Started by :mod:`chalicelib.adapters.code_sandbox` as
``python -m chalicelib.adapters.code_sandbox_child`` with an empty
environment (no credentials, no database URL), it speaks length-prefixed JSON
frames on stdin/stdout:

- it writes ``{"ready": true}`` once its first isolate is prepared;
- it reads one request at a time, runs it in an isolate no execution has
  used, writes the response and throws the isolate away; a preparer thread
  keeps the next isolates ready and frees used ones off the request path.

So no state survives from one execution to the next: globals, prototypes and
pending promises die with their isolate. Limits: V8's hard heap limit and a
wall-time termination per execution; a watchdog thread ends the process
(exit status ``MEMORY_EXIT``) if its resident size passes the cap (array
buffers live outside the V8 heap). Anything V8 cannot stop (a loop in a
promise continuation, a fatal allocation) ends or stalls this process, never
the worker: the parent kills and replaces it.
"""

from __future__ import annotations

import asyncio
import json
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
_JS = pathlib.Path(__file__).with_name("sandbox_js")
FRAME_HEADER = struct.Struct(">I")

# Installed in every fresh isolate before the tenant's code: a bounded console
# that records instead of printing, no timers (mini-racer's setTimeout would
# keep work alive past the result), no WebAssembly or shared memory, and the
# output check. It captures the builtins it uses first, so tenant code that
# replaces JSON.stringify only spoils its own result (the parent re-validates).
HARNESS = (_JS / "harness.js").read_text(encoding="utf-8")

# One execution: build the default export, call it, check the result. A promise
# result settles into a report string as well.
RUNNER = (_JS / "runner.js").read_text(encoding="utf-8")


# Runs a harmless function through the same path as tenant code, before any tenant code.
WARM_UP = RUNNER % {"script": "((p, c) => ({ ...p, n: [1, 2].map((x) => x * 2), s: `${c.k}` }))",
                    "payload": json.dumps(json.dumps({"a": [1, {"b": True}], "d": None})),
                    "context": json.dumps(json.dumps({"k": "v"}))}

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


class _Isolates:
    """Fresh mini-racer contexts on one shared event loop thread, prepared ahead of use.

    A preparer thread keeps ``SPARE`` isolates ready and disposes of used ones, so
    an execution never waits for an isolate to be made or freed.
    """

    SPARE = 2

    def __init__(self, limits: dict[str, Any]) -> None:
        from py_mini_racer._mini_racer import _make_context  # the only way to share one loop thread

        self._make_context = _make_context
        self.limits = limits
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="v8-loop", daemon=True).start()
        self.ready: queue.Queue[tuple[Any, Any]] = queue.Queue(maxsize=self.SPARE)
        self.used: queue.Queue[tuple[Any, Any]] = queue.Queue()
        threading.Thread(target=self._prepare, name="v8-preparer", daemon=True).start()

    def take(self) -> tuple[Any, Any]:
        return self.ready.get()

    def discard(self, pair: tuple[Any, Any]) -> None:
        self.used.put(pair)

    def _prepare(self) -> None:
        while True:
            while not self.used.empty():
                racer, maker = self.used.get()
                racer.close()
                maker.__exit__(None, None, None)
            pair = self.fresh(self.limits)
            while True:
                try:
                    self.ready.put(pair, timeout=0.05)
                    break
                except queue.Full:
                    while not self.used.empty():  # keep freeing used isolates while the spares wait
                        racer, maker = self.used.get()
                        racer.close()
                        maker.__exit__(None, None, None)

    def fresh(self, limits: dict[str, Any]) -> tuple[Any, Any]:
        from py_mini_racer import MiniRacer

        maker = self._make_context(self.loop)
        racer = MiniRacer(maker.__enter__())
        racer.set_hard_memory_limit(int(limits["heap_bytes"]))
        racer.set_soft_memory_limit(int(limits["heap_bytes"] * 3 // 4))
        racer.eval(HARNESS % {"max_lines": int(limits["max_log_lines"]), "max_chars": int(limits["max_log_chars"])})
        # Compile the harness's paths now (V8 compiles a function on its first call), so the
        # execution pays only for the tenant's code. Nothing of the tenant exists yet.
        racer.eval(WARM_UP)
        return racer, maker


def _run(racer: Any, request: dict[str, Any]) -> dict[str, Any]:
    from py_mini_racer import JSOOMException, JSPromise, JSTimeoutException

    started = time.monotonic()
    timeout = float(request["timeout"])
    lines = int(request.get("source_lines") or 0)
    code = RUNNER % {
        "script": request["script"],
        "payload": json.dumps(request["payload_json"]),
        "context": json.dumps(request["context_json"]),
    }
    try:
        result = racer.eval(code, timeout_sec=timeout)
        # Promise continuations (the code's own, or ones it left queued) run after eval
        # returns, outside its termination timer. A second, empty script queues behind
        # them: if it cannot run within the time left, the code is still busy and the
        # execution has timed out (the parent then replaces this process).
        racer.eval("0", timeout_sec=max(0.001, timeout - (time.monotonic() - started)))
        if isinstance(result, JSPromise):
            result = result.get(timeout=max(0.001, timeout - (time.monotonic() - started)))
    except JSTimeoutException:
        return {"ok": False, "kind": "timeout"}
    except (JSOOMException, MemoryError):
        return {"ok": False, "kind": "memory"}
    except TimeoutError:
        return {"ok": False, "kind": "timeout"}
    except Exception as exc:  # mini-racer reports parse errors and the like as exceptions
        if racer.was_hard_memory_limit_reached():
            return {"ok": False, "kind": "memory"}
        text = _tenant_positions(str(exc), lines)
        name = "SyntaxError" if "SyntaxError" in text else type(exc).__name__
        first, _, rest = text.partition("\n")
        return {"ok": False, "kind": "error", "name": name, "message": first[:2000], "stack": rest[:4000]}
    if not isinstance(result, str):
        return {"ok": False, "kind": "error", "name": "Error", "message": "the sandbox produced no report"}
    report = json.loads(result)
    if not report.get("ok"):
        report["stack"] = _tenant_positions(str(report.get("stack") or ""), lines)
        return {"ok": False, "kind": "output" if report.get("name") == "OutputError" else "error", **report}
    return report


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
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Nothing the tenant's code causes may write to the protocol stream.
    sys.stdout = sys.stderr
    settings = _read_frame(stdin)
    if not isinstance(settings, dict):
        return
    if os.path.exists("/proc/self/statm"):
        threading.Thread(target=_watch_memory, args=(int(settings["max_process_bytes"]),), daemon=True).start()
    isolates = _Isolates(settings)
    isolates.ready.put(isolates.ready.get())  # the first isolate exists before "ready"
    _write_frame(stdout, {"ready": True})
    while True:
        request = _read_frame(stdin)
        if request is None:
            return
        pair = isolates.take()
        response = _run(pair[0], request)
        _write_frame(stdout, response)
        if response.get("kind") in ("timeout", "memory"):
            return  # a terminated or exhausted isolate may never free: the parent starts a new process
        isolates.discard(pair)


if __name__ == "__main__":
    main()
