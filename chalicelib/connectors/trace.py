"""What an action call leaves behind: the masked request/response and every attempt.

Returned by ``POST /actions/{id}/test`` and stored with step attempts, so it is
plain data (``to_dict()``), already masked by the invoker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from chalicelib.masking import SecretMasker

TRACE_BODY_LIMIT = 16 * 1024


@dataclass(frozen=True)
class TracedRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: Any


@dataclass(frozen=True)
class TracedResponse:
    status: int
    headers: Mapping[str, str]
    body: Any


@dataclass(frozen=True)
class AttemptRecord:
    """One send: its outcome and the wait that preceded it."""

    number: int
    status: int | None
    error_code: str | None
    duration_ms: int
    waited_ms: int = 0
    after_reauthorization: bool = False


@dataclass(frozen=True)
class InvocationTrace:
    """The last request and response (masked) and every attempt made."""

    request: TracedRequest | None
    response: TracedResponse | None
    attempts: tuple[AttemptRecord, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InvocationResult:
    status: int
    output: Any
    duration_ms: int
    trace: InvocationTrace

    @property
    def attempts(self) -> int:
        return len(self.trace.attempts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "output": self.output,
            "duration_ms": self.duration_ms,
            "trace": self.trace.to_dict(),
        }


def trace_body(masker: SecretMasker, body: Any) -> Any:
    """The masked body, cut at ``TRACE_BODY_LIMIT`` characters."""
    masked = masker.body(body)
    text = (
        masked if isinstance(masked, str) else json.dumps(masked, separators=(",", ":"), ensure_ascii=False)
    )
    if text is not None and len(text) > TRACE_BODY_LIMIT:
        return text[:TRACE_BODY_LIMIT] + "…(truncated)"
    return masked
