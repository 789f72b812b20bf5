"""The code sandbox process: runs one tenant execution at a time, each in a fresh V8 isolate.

Started by :mod:`chalicelib.adapters.code_sandbox` as
``python -m chalicelib.adapters.code_sandbox_child`` with an empty
environment (no credentials, no database URL), it speaks length-prefixed JSON
frames on stdin/stdout:

- it writes ``{"ready": true}`` once a fresh isolate is prepared;
- it reads one request, runs it in that isolate, writes the response, throws
  the isolate away, prepares the next one and writes ``ready`` again.

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
    """Fresh mini-racer contexts on one shared event loop thread."""

    def __init__(self) -> None:
        from py_mini_racer._mini_racer import _make_context  # the only way to share one loop thread

        self._make_context = _make_context
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="v8-loop", daemon=True).start()

    def fresh(self, limits: dict[str, Any]) -> tuple[Any, Any]:
        from py_mini_racer import MiniRacer

        maker = self._make_context(self.loop)
        racer = MiniRacer(maker.__enter__())
        racer.set_hard_memory_limit(int(limits["heap_bytes"]))
        racer.set_soft_memory_limit(int(limits["heap_bytes"] * 3 // 4))
        racer.eval(HARNESS % {"max_lines": int(limits["max_log_lines"]), "max_chars": int(limits["max_log_chars"])})
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
        if isinstance(result, JSPromise):
            # A promise's continuations run outside eval's termination timer: a loop in one
            # stalls this process, and the parent kills it when the wall time is up.
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
    isolates = _Isolates()
    racer, maker = isolates.fresh(settings)
    _write_frame(stdout, {"ready": True})
    while True:
        request = _read_frame(stdin)
        if request is None:
            return
        response = _run(racer, request)
        _write_frame(stdout, response)
        racer.close()
        maker.__exit__(None, None, None)
        racer, maker = isolates.fresh(settings)
        _write_frame(stdout, {"ready": True})


if __name__ == "__main__":
    main()
