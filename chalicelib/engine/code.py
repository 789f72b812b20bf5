"""The code step's domain: its limits, its port, its errors, and the shape of tenant code.

Tenant code is JavaScript with one default export, a function of the payload
and a read-only context, returning the object that replaces the payload::

    export default (payload, ctx) => ({ ...payload, source: "stepline" })

It may be ``async``. The sandbox (``chalicelib.adapters.code_sandbox``) runs
it in a fresh V8 context per execution; this module only describes what is
asked (:class:`CodeRequest`), what comes back (:class:`CodeResult`), and the
errors, all non-retryable: the same code over the same payload would fail
the same way again.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.engine.errors import NonRetryableStepError

MAX_SOURCE_CHARS = 100_000
_EXPORT_DEFAULT = re.compile(r"^([ \t]*)export[ \t]+default[ \t]+", re.MULTILINE)


@dataclass(frozen=True)
class CodeLimits:
    """Per-execution limits of the code step; validated on creation."""

    timeout_seconds: float = 1.0  # default wall time of one execution
    max_timeout_seconds: float = 10.0  # the most a node may ask for
    heap_bytes: int = 64 * 1024 * 1024  # V8 heap limit of the execution's isolate
    max_process_bytes: int = 256 * 1024 * 1024  # resident size of a sandbox process (array buffers included)
    max_input_bytes: int = 1_048_576
    max_output_bytes: int = 1_048_576
    max_log_lines: int = 100
    max_log_chars: int = 16_384

    def __post_init__(self) -> None:
        if not 0 < self.timeout_seconds <= self.max_timeout_seconds <= 300:
            raise ValueError("code timeouts must satisfy 0 < timeout <= max_timeout <= 300")
        if self.heap_bytes < 8 * 1024 * 1024 or self.max_process_bytes < 2 * self.heap_bytes:
            raise ValueError("code memory limits too small")
        if min(self.max_input_bytes, self.max_output_bytes, self.max_log_lines, self.max_log_chars) < 1:
            raise ValueError("code size limits must be positive")


PLATFORM_CODE_LIMITS = CodeLimits()


@dataclass(frozen=True)
class CodeRequest:
    """One execution: the source, the payload (an object) and the context the code sees."""

    source: str
    payload: dict[str, Any]
    context: dict[str, Any]
    timeout_seconds: float  # capped by the runner's limits (``CodeLimits.max_timeout_seconds``)


@dataclass(frozen=True)
class CodeResult:
    """The object the code returned, its console lines (``(level, text)``), and how many were dropped."""

    output: dict[str, Any]
    logs: tuple[tuple[str, str], ...] = ()
    dropped_logs: int = 0


class CodeFailed(NonRetryableStepError):
    """The tenant code failed; the console lines it wrote so far travel with the error."""

    code, default_message = "code_failed", "The code step failed."

    def __init__(self, message: str | None = None, *, logs: tuple[tuple[str, str], ...] = (),
                 dropped_logs: int = 0, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.logs = logs
        self.dropped_logs = dropped_logs


class CodeError(CodeFailed):
    """The code threw, did not compile, or exports no function."""

    code, default_message = "code_error", "The code threw an error."


class CodeTimeout(CodeFailed):
    """The code ran past its wall-time limit."""

    code, default_message = "code_timeout", "The code ran past its time limit."


class CodeMemoryExceeded(CodeFailed):
    """The code allocated past its memory limit."""

    code, default_message = "code_memory_exceeded", "The code used more memory than allowed."


class CodeInvalidOutput(CodeFailed):
    """The code returned something that is not a JSON object."""

    code, default_message = "code_invalid_output", "The code did not return a JSON object."


class CodePayloadTooLarge(CodeFailed):
    """The payload handed in, or the object returned, is over the size limit."""

    code, default_message = "code_payload_too_large", "The code's input or output is too large."


class CodeSandboxFailed(CodeFailed):
    """The sandbox process stopped while running the code (it is replaced; nothing else is affected)."""

    code, default_message = "code_sandbox_failed", "The code stopped the sandbox it ran in."


class CodeRunner(abc.ABC):
    """Port: runs tenant code in isolation. Raises a :class:`CodeFailed` subclass on any failure."""

    @abc.abstractmethod
    def run(self, request: CodeRequest) -> CodeResult:
        """Execute ``request`` once, in a context no other execution has used or will use."""


def source_issues(source: Any) -> list[dict[str, str]]:
    """Problems with the code's shape, found without running it (pointers relative to the config)."""
    if not isinstance(source, str):
        return []
    exports = _EXPORT_DEFAULT.findall(source)
    if len(exports) != 1:
        found = "no" if not exports else f"{len(exports)}"
        return [{"path": "/code", "issue": f"needs exactly one line starting with 'export default' ({found} found)"}]
    return []


def to_script(source: str) -> str:
    """The code as a classic script expression whose value is the default export.

    V8 runs it as a script, not a module, so ``import`` statements are syntax
    errors (no module loading) and ``export default X`` becomes an assignment.
    """
    body = _EXPORT_DEFAULT.sub(lambda m: m.group(1) + "__default = ", source, count=1)
    return f'(function () {{\n"use strict";\nlet __default;\n{body}\n;return __default;\n}})()'

