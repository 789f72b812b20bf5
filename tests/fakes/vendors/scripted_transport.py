"""An in-memory ``HttpTransport`` for unit tests: answers from a script, records what was sent."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import Any

from chalicelib.connectors.http_transport import HttpTransport, OutboundRequest, RawResponse, Timeouts
from chalicelib.errors import SteplineError

Step = RawResponse | SteplineError | Callable[[OutboundRequest], RawResponse]


def raw(status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> RawResponse:
    """A response; dict/list bodies are sent as JSON."""
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    if isinstance(body, (dict, list)):
        hdrs.setdefault("content-type", "application/json")
        data = json.dumps(body).encode()
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = body or b""
    return RawResponse(status=status, headers=hdrs, body=data)


class ScriptedTransport(HttpTransport):
    """Plays ``steps`` in order (the last one repeats); never touches the network."""

    def __init__(self, *steps: Step) -> None:
        self.steps: deque[Step] = deque(steps)
        self.sent: list[OutboundRequest] = []
        self.timeouts: list[Timeouts] = []

    def send(self, request: OutboundRequest, *, timeouts: Timeouts, max_response_bytes: int) -> RawResponse:
        self.sent.append(request)
        self.timeouts.append(timeouts)
        step = self.steps.popleft() if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, SteplineError):
            raise step
        if callable(step):
            return step(request)
        return step
