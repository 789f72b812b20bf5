"""Runs tenant JavaScript in sandbox processes: the :class:`~chalicelib.engine.code.CodeRunner` adapter.

A small pool of long-lived child processes (``code_sandbox_child``), each
holding one prepared V8 isolate that serves exactly one execution. The
parent owns the wall clock: it waits for an answer until the execution's
time limit plus a short grace, and a child that is late, dead or out of
memory is killed and replaced, its execution failing with a clear,
non-retryable error. So a ``while(true){}`` or a memory bomb costs one child
process, never the worker that runs the steps.

Children start with an empty environment: the worker's credentials, database
URL and AWS keys never reach the process that runs tenant code.
"""

from __future__ import annotations

import atexit
import ctypes
import dataclasses
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chalicelib.adapters.code_sandbox_child import DEFAULT_SPARES, FRAME_HEADER, MEMORY_EXIT
from chalicelib.engine.code import (
    PLATFORM_CODE_LIMITS,
    CodeError,
    CodeInvalidOutput,
    CodeLimits,
    CodeMemoryExceeded,
    CodePayloadTooLarge,
    CodeRequest,
    CodeResult,
    CodeRunner,
    CodeSandboxFailed,
    CodeTimeout,
    to_script,
)
from chalicelib.errors import ConfigurationError

PR_SET_DUMPABLE = 4
MAX_SPARES = 64  # spare isolates of one sandbox process (about 0.75 MiB and one thread each)
GRACE_SECONDS = 0.5  # how long past the time limit the parent waits for the child's own answer
START_SECONDS = 30.0


class _ChildGone(Exception):
    """The child closed its end, or did not answer in time."""


class _Child:
    """One sandbox process and its pipes."""

    def __init__(self, limits: CodeLimits, spares: int) -> None:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        path = os.pathsep.join(p for p in [root, *sys.path] if p)
        self.process = subprocess.Popen(
            [sys.executable, "-s", "-m", "chalicelib.adapters.code_sandbox_child"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=root,
            env={"PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"},
            start_new_session=True,
        )
        self.ready = False
        self._send({
            "heap_bytes": limits.heap_bytes, "max_process_bytes": limits.max_process_bytes,
            "max_log_lines": limits.max_log_lines, "max_log_chars": limits.max_log_chars, "spares": spares,
        })

    def wait_ready(self, seconds: float) -> None:
        if not self.ready:
            frame = self._receive(time.monotonic() + seconds)
            if not frame.get("ready"):
                raise _ChildGone("unexpected frame")
            self.ready = True

    def call(self, request: dict[str, Any], deadline: float) -> dict[str, Any]:
        self._send(request)
        return self._receive(deadline)

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def exit_status(self, wait: float = 1.0) -> int | None:
        try:
            return self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return None

    def _send(self, message: Any) -> None:
        data = json.dumps(message, separators=(",", ":")).encode()
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(FRAME_HEADER.pack(len(data)) + data)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _ChildGone(str(exc)) from None

    def _receive(self, deadline: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        header = self._read_exactly(fd, FRAME_HEADER.size, deadline)
        (size,) = FRAME_HEADER.unpack(header)
        return json.loads(self._read_exactly(fd, size, deadline))

    @staticmethod
    def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
        chunks, remaining = [], size
        poller = select.poll()  # not select(): a busy worker may hold descriptors past 1024
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while remaining:
            wait = deadline - time.monotonic()
            if wait <= 0 or not poller.poll(max(1, int(wait * 1000))):
                raise _ChildGone("timeout")
            chunk = os.read(fd, remaining)
            if not chunk:
                raise _ChildGone("closed")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


class SubprocessCodeRunner(CodeRunner):
    """A pool of sandbox processes; each execution borrows one and may destroy it."""

    def __init__(self, size: int = 2, limits: CodeLimits = PLATFORM_CODE_LIMITS, spares: int = DEFAULT_SPARES) -> None:
        if size < 1 or not 1 <= spares <= MAX_SPARES:
            raise ConfigurationError(f"The code sandbox pool needs at least one process, and 1 to {MAX_SPARES} spares.")
        self.limits = limits
        self.spares = spares
        self.size = size
        self._closed = False
        self._lock = threading.Lock()
        self._start_pool()
        self.replaced = 0  # children killed and replaced (observable in tests)

    def _start_pool(self) -> None:
        self._pid = os.getpid()
        self._idle: queue.Queue[_Child | None] = queue.Queue()
        for _ in range(self.size):
            self._idle.put(None)  # started on first use
        self._all: set[_Child] = set()

    def run(self, request: CodeRequest) -> CodeResult:
        if self._pid != os.getpid():
            # A forked worker: the sandbox processes and their pipes are the parent's. Leave them to
            # it (never kill or talk to them) and start this process's own on first use.
            with self._lock:
                if self._pid != os.getpid():
                    self._start_pool()
        limits = self.limits
        payload_json = json.dumps(request.payload, separators=(",", ":"), ensure_ascii=False)
        if len(payload_json.encode()) > limits.max_input_bytes:
            raise CodePayloadTooLarge(f"The payload is over the code step's {limits.max_input_bytes}-byte input limit.",
                                      info={"max_input_bytes": limits.max_input_bytes})
        timeout = min(max(request.timeout_seconds, 0.001), limits.max_timeout_seconds)
        message = {
            "script": to_script(request.source), "payload_json": payload_json,
            "context_json": json.dumps(request.context, separators=(",", ":")), "timeout": timeout,
            "source_lines": request.source.count("\n") + 1,
        }
        child = self._borrow()
        try:
            response = child.call(message, time.monotonic() + timeout + GRACE_SECONDS)
        except _ChildGone as gone:
            failure = self._failure(child, str(gone), timeout)
            self._replace(child)
            raise failure from None
        except BaseException:
            self._replace(child)
            raise
        if response.get("kind") in ("timeout", "memory"):
            # V8 stopped the code, but a terminated or exhausted isolate can take long to
            # free: start a clean process rather than make the next execution wait for it.
            self._replace(child)
        else:
            self._idle.put(child)
        return _result(response, limits, timeout)

    def close(self) -> None:
        """Stop this process's sandbox processes (tests, interpreter exit); a forked copy stops none of its parent's."""
        self._closed = True
        with self._lock:
            children, self._all = (list(self._all) if self._pid == os.getpid() else []), set()
        for child in children:
            child.kill()

    # -- pool ----------------------------------------------------------------

    def _borrow(self) -> _Child:
        if self._closed:
            raise ConfigurationError("The code sandbox is closed.")
        child = self._idle.get()
        try:
            if child is None or child.process.poll() is not None:
                if child is not None:
                    self._forget(child)
                child = self._start()
            return child
        except BaseException:
            self._idle.put(None)
            raise

    def _start(self) -> _Child:
        _not_dumpable()
        child = _Child(self.limits, self.spares)
        with self._lock:
            self._all.add(child)
        try:
            child.wait_ready(START_SECONDS)
        except _ChildGone:
            self._forget(child)
            raise ConfigurationError("The code sandbox process did not start.") from None
        return child

    def _replace(self, child: _Child) -> None:
        """Kill ``child`` and refill its slot in the background (the next borrower waits for it)."""
        self._forget(child)
        self.replaced += 1
        threading.Thread(target=self._refill, name="code-sandbox-refill", daemon=True).start()

    def _refill(self) -> None:
        try:
            fresh: _Child | None = None if self._closed else self._start()
        except Exception:
            fresh = None  # started again on the next borrow
        self._idle.put(fresh)

    def _forget(self, child: _Child) -> None:
        child.kill()
        with self._lock:
            self._all.discard(child)

    def _failure(self, child: _Child, why: str, timeout: float) -> Exception:
        status = child.process.poll()
        if status is None and why == "timeout":
            return CodeTimeout(f"The code ran past its {timeout:g} s time limit.", info={"timeout_seconds": timeout})
        if status is None:
            status = child.exit_status()
        if status == MEMORY_EXIT:
            return CodeMemoryExceeded(
                f"The code used more than the sandbox's {self.limits.max_process_bytes // 1048576} MB of memory.",
                info={"max_process_mb": self.limits.max_process_bytes // 1048576},
            )
        return CodeSandboxFailed(
            "The JavaScript engine stopped while running the code (most often an allocation past its limits).",
            info={"exit_status": status},
        )


def _result(response: dict[str, Any], limits: CodeLimits, timeout: float) -> CodeResult:
    logs = tuple((str(level), str(text)) for level, text in response.get("logs") or ())
    dropped = int(response.get("dropped") or 0)
    if response.get("ok"):
        text = response.get("output")
        if not isinstance(text, str):
            raise CodeInvalidOutput("The code did not return a JSON object.", logs=logs, dropped_logs=dropped)
        if len(text.encode()) > limits.max_output_bytes:
            raise CodePayloadTooLarge(
                f"The code returned more than the {limits.max_output_bytes}-byte output limit.",
                logs=logs, dropped_logs=dropped, info={"max_output_bytes": limits.max_output_bytes},
            )
        try:
            output = json.loads(text)
        except ValueError:
            output = None
        if not isinstance(output, dict):
            raise CodeInvalidOutput("The code did not return a JSON object.", logs=logs, dropped_logs=dropped)
        return CodeResult(output=output, logs=logs, dropped_logs=dropped)
    kind = response.get("kind")
    if kind == "timeout":
        raise CodeTimeout(f"The code ran past its {timeout:g} s time limit.", logs=logs, dropped_logs=dropped,
                          info={"timeout_seconds": timeout})
    if kind == "memory":
        raise CodeMemoryExceeded(f"The code used more than its {limits.heap_bytes // 1048576} MB heap.",
                                 logs=logs, dropped_logs=dropped, info={"heap_mb": limits.heap_bytes // 1048576})
    name, message = str(response.get("name") or "Error"), str(response.get("message") or "")
    if kind == "output":
        raise CodeInvalidOutput(f"The code's result is not JSON: {message}", logs=logs, dropped_logs=dropped)
    info = {"name": name}
    stack = response.get("stack")
    if stack:
        info["stack"] = str(stack)[:4000]
    text = message if message.startswith(name) or f" {name}:" in message else f"{name}: {message}"
    raise CodeError(text[:2000], logs=logs, dropped_logs=dropped, info=info)


def _not_dumpable() -> None:
    """Make this worker non-dumpable before any sandbox exists.

    A sandbox process runs as the worker's OS user; were the JavaScript engine
    escaped, it could otherwise read the worker's ``/proc/<pid>/environ`` and
    memory (credentials). A non-dumpable process is closed to same-user
    ``ptrace`` and ``/proc`` reads (it also writes no core dumps).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):  # not fatal: the empty environment and the process boundary remain
        pass


class SandboxSettings(BaseSettings):
    """``CODE_SANDBOX_*``: the pool's processes, their spare isolates and memory limits.

    The function's memory must hold them all.
    """

    model_config = SettingsConfigDict(env_prefix="CODE_SANDBOX_", case_sensitive=False, extra="ignore")

    processes: int = Field(2, ge=1, le=16)
    spares: int = Field(DEFAULT_SPARES, ge=1, le=MAX_SPARES)
    heap_mb: int = Field(PLATFORM_CODE_LIMITS.heap_bytes // 1048576, ge=8, le=1024)
    process_mb: int = Field(PLATFORM_CODE_LIMITS.max_process_bytes // 1048576, ge=64, le=4096)

    @model_validator(mode="after")
    def _spares_fit(self) -> SandboxSettings:
        # A spare holds about 0.75 MiB of the process's resident-size cap: most of the cap stays the code's.
        if self.spares > self.process_mb // 4:
            raise ValueError("CODE_SANDBOX_SPARES may be at most a quarter of CODE_SANDBOX_PROCESS_MB "
                             f"({self.process_mb // 4})")
        return self

    def limits(self) -> CodeLimits:
        return dataclasses.replace(PLATFORM_CODE_LIMITS, heap_bytes=self.heap_mb * 1048576,
                                   max_process_bytes=self.process_mb * 1048576)

    @classmethod
    def for_this_function(cls, environ: Mapping[str, str] = os.environ) -> SandboxSettings:
        """The settings, fitted to a Lambda function's memory unless set explicitly.

        A Lambda worker handles one batch at a time, so one sandbox process is
        enough, and its cap must leave the worker room within the function's
        memory (512 MiB → 192 MiB).
        """
        settings = cls()
        memory = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        if not memory.isdigit():
            return settings
        changes: dict[str, int] = {}
        if "CODE_SANDBOX_PROCESSES" not in environ:
            changes["processes"] = 1
        processes = changes.get("processes", settings.processes)
        if "CODE_SANDBOX_PROCESS_MB" not in environ:
            fitted = (int(memory) - 320) // processes
            changes["process_mb"] = max(2 * settings.heap_mb, min(settings.process_mb, fitted))
        return settings.model_copy(update=changes)


_DEFAULT: SubprocessCodeRunner | None = None
_DEFAULT_LOCK = threading.Lock()


def default_runner() -> SubprocessCodeRunner:
    """The process-wide pool (sandbox processes start on first use, stop at exit)."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                settings = SandboxSettings.for_this_function()
                _DEFAULT = SubprocessCodeRunner(size=settings.processes, limits=settings.limits(),
                                                spares=settings.spares)
                atexit.register(_DEFAULT.close)
    return _DEFAULT
