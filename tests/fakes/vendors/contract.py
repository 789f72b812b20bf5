"""Helpers for contract tests: an invoker over a real pooled httpx client to loopback fakes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from chalicelib.connectors.http_transport import HttpxTransport
from chalicelib.connectors.invoker import ActionInvoker


class RecordedSleeps(list):
    """A ``sleep`` that records the waits instead of sleeping (fakes do not care about time)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@contextmanager
def loopback_invoker(*, sleep=None, max_response_bytes: int | None = None) -> Iterator[ActionInvoker]:
    """An ``ActionInvoker`` sharing one pooled client, as the engine does, closed on exit."""
    with httpx.Client(follow_redirects=False, trust_env=False) as client:
        kwargs = {"max_response_bytes": max_response_bytes} if max_response_bytes else {}
        yield ActionInvoker(
            HttpxTransport(client), sleep=sleep if sleep is not None else RecordedSleeps(), **kwargs
        )
